"""Task files on the local node (sections 2.3, 10.2): listing, reading with ocp-range, deleting.

Paths come from the URL, relative to the task directory. A path that is absolute, holds `..`, or resolves
(through a symlink) outside the task directory is refused with 400, so nothing outside it is ever served.
"""
from __future__ import annotations

import mimetypes
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from batch_service.backend import errors
from batch_service.backend.ids import etag, iso, rfc1123, ticks_from_unix

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def resolve(task_dir: Path, file_path: str) -> Path:
    """The file `file_path` names inside `task_dir`; 400 InvalidUri for anything that could escape it."""
    normalised = file_path.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    if not normalised or normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised) or ".." in parts:
        raise errors.invalid_uri("The file path must be relative to the task directory and must not contain '..'.")
    target = task_dir.joinpath(*parts)
    root = os.path.realpath(task_dir)
    real = os.path.realpath(target)
    if real != root and not real.startswith(root + os.sep):
        raise errors.invalid_uri("The file path leads outside the task directory.")
    return target


@dataclass(frozen=True)
class FileInfo:
    """What the files API says about one file or directory."""

    name: str
    is_directory: bool
    size: int
    modified_ticks: int
    created_ticks: int
    mode: int

    @property
    def content_type(self) -> str:
        """A MIME type guessed from the name (octet-stream when unknown)."""
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def list_entry(self, url: str) -> dict[str, Any]:
        """The BatchNodeFile of a file list (section 2.3); Linux has fileMode and no creationTime."""
        entry: dict[str, Any] = {"name": self.name, "url": url, "isDirectory": self.is_directory}
        if not self.is_directory:
            entry["properties"] = {"lastModified": iso(self.modified_ticks), "contentLength": str(self.size),
                                   "contentType": self.content_type, "fileMode": f"{self.mode:07o}"}
        return entry

    def headers(self, url: str) -> dict[str, str]:
        """The file-property headers of GET/HEAD (section 2.3)."""
        return {"ETag": f'"{etag(self.modified_ticks)}"', "Last-Modified": rfc1123(self.modified_ticks),
                "ocp-creation-time": rfc1123(self.created_ticks),
                "ocp-batch-file-isdirectory": "true" if self.is_directory else "false",
                "ocp-batch-file-url": url, "ocp-batch-file-mode": f"{self.mode:07o}"}

    def condition_model(self) -> dict[str, str]:
        """eTag/lastModified in the shape Conditions.check reads."""
        return {"eTag": etag(self.modified_ticks), "lastModified": iso(self.modified_ticks)}


def info(task_dir: Path, path: Path) -> FileInfo:
    """FileInfo of an existing path; 404 FileNotFound when it does not exist."""
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise errors.file_not_found() from None
    name = path.relative_to(task_dir).as_posix()
    return FileInfo(name, stat.S_ISDIR(status.st_mode), status.st_size, ticks_from_unix(status.st_mtime),
                    ticks_from_unix(status.st_ctime), status.st_mode)


def list_files(task_dir: Path, recursive: bool) -> list[FileInfo]:
    """Files and directories under the task directory, sorted by name; empty when it does not exist yet."""
    if not task_dir.is_dir():
        return []
    found = task_dir.rglob("*") if recursive else task_dir.iterdir()
    entries = []
    for path in found:
        try:
            entries.append(info(task_dir, path))
        except errors.BatchServiceError:
            continue  # removed while listing
    return sorted(entries, key=lambda entry: entry.name)


def byte_range(header: str | None, size: int) -> tuple[int, int]:
    """(start, end exclusive) of an `ocp-range: bytes=start-end` header (end inclusive on the wire)."""
    if header is None:
        return 0, size
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise errors.invalid_header_value("ocp-range", "Expected bytes=start-end.")
    start = int(match.group(1))
    end = int(match.group(2)) + 1 if match.group(2) else size
    if end <= start:
        raise errors.invalid_header_value("ocp-range", "The range end is before its start.")
    if start >= size > 0:
        raise errors.invalid_range(size)
    return start, min(end, size)


def read(path: Path, start: int, end: int) -> bytes:
    """The bytes [start, end) of a file."""
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(max(0, end - start))


def delete(path: Path, recursive: bool) -> None:
    """Remove a file, or a directory (its contents only with recursive)."""
    if path.is_dir() and not path.is_symlink():
        if recursive:
            shutil.rmtree(path)
            return
        try:
            path.rmdir()
        except OSError:
            raise errors.invalid_for_current_state("The directory is not empty; use recursive=true.") from None
        return
    try:
        path.unlink()
    except FileNotFoundError:
        raise errors.file_not_found() from None
