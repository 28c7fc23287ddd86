"""A trivial dynamic resource (a local file) that proves the engine, the shim and the venv work together."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


class LocalFileProvider(ResourceProvider):
    """Writes `content` to `path`; changes of `path` replace, changes of `content` update in place."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Write the file."""
        Path(props["path"]).write_text(props["content"])
        return CreateResult(props["path"], _outputs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare path and content only (never `__provider`)."""
        replaces = ["path"] if olds.get("path") != news.get("path") else []
        changed = bool(replaces) or olds.get("content") != news.get("content")
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Rewrite the file."""
        Path(news["path"]).write_text(news["content"])
        return UpdateResult(_outputs(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The file as it is on disk; gone when missing."""
        path = Path(id_)
        if not path.exists():
            return ReadResult(None, {})
        live = {"path": id_, "content": path.read_text()}
        return ReadResult(id_, _outputs(live), inputs=live)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Remove the file (already gone is fine)."""
        Path(id_).unlink(missing_ok=True)


def _outputs(props: dict[str, Any]) -> dict[str, Any]:
    content = props["content"]
    return {"path": props["path"], "content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}


class LocalFile(Resource, module="selftest", name="LocalFile"):
    """A file on this machine managed by the engine through a dynamic provider."""

    sha256: pulumi.Output[str]

    def __init__(self, name: str, path: str, content: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(LocalFileProvider(), name, {"path": path, "content": content, "sha256": None}, opts)
