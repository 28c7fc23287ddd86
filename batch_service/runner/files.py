"""Task file transfer for the process runner: resourceFiles downloaded before the command, outputFiles checked
after it (section 3.7, 3.8). Only httpUrl sources work: this local service has no blob endpoint, so container
sources and output destinations fail the task with a clear pre-processing or upload error."""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

FailureKind = Literal["none", "exit", "preprocessing", "fileupload", "timeout", "cancelled"]
DEFAULT_FILE_MODE = 0o770  # section 3.7: resourceFiles fileMode defaults to 0770
NO_BLOB_ENDPOINT = "no blob endpoint configured: this local service has no blob storage"


def failure_info(code: str, message: str, category: str = "usererror", **details: str) -> dict[str, Any]:
    """A failureInfo object in the read-model shape {category, code, message, details[{name, value}]}."""
    info: dict[str, Any] = {"category": category, "code": code, "message": message}
    if details:
        info["details"] = [{"name": name, "value": value} for name, value in details.items()]
    return info


class LaunchError(Exception):
    """The task could not start or could not finish its file work; carries the failureInfo to report."""

    def __init__(self, kind: FailureKind, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.failure_info = failure_info(code, message, **details)


def redacted_url(url: str) -> str:
    """The URL without its query string, which may hold a SAS token (a secret)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def contained_path(base: Path, relative: str) -> Path:
    """`base/relative`, refusing absolute paths and `..` so a file cannot escape the task (section 3.7)."""
    pure = PurePosixPath(relative)
    if not relative or pure.is_absolute() or ".." in pure.parts:
        raise LaunchError("preprocessing", "InvalidResourceFilePath",
                          f"The resource file path '{relative}' must be relative and stay inside the task "
                          "working directory", FilePath=relative)
    return base.joinpath(*pure.parts)


async def download_resource_file(client: httpx.AsyncClient, spec: dict[str, Any], base: Path) -> None:
    """Fetch one resourceFile into `base/filePath`; only httpUrl sources exist without a blob endpoint."""
    url = spec.get("httpUrl")
    if not url:
        source = "storageContainerUrl" if spec.get("storageContainerUrl") else "autoStorageContainerName"
        raise LaunchError("preprocessing", "BlobEndpointNotConfigured",
                          f"The resource file source {source} needs blob storage: {NO_BLOB_ENDPOINT}")
    target = contained_path(base, str(spec.get("filePath") or ""))
    mode = _file_mode(spec.get("fileMode"))
    shown = redacted_url(str(url))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with client.stream("GET", str(url)) as response:
            if response.status_code >= 400:
                raise LaunchError("preprocessing", "ResourceFileDownloadFailed",
                                  f"Downloading {shown} returned HTTP {response.status_code}",
                                  Url=shown, StatusCode=str(response.status_code))
            with _open_target(target) as sink:
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
    except httpx.HTTPError as error:
        raise LaunchError("preprocessing", "ResourceFileDownloadFailed",
                          f"Downloading {shown} failed: {type(error).__name__}", Url=shown) from error
    os.chmod(target, mode)


def _open_target(path: Path) -> BinaryIO:
    return open(path, "wb")


def _file_mode(value: object) -> int:
    if value in (None, ""):
        return DEFAULT_FILE_MODE
    try:
        return int(str(value), 8)
    except ValueError as error:
        raise LaunchError("preprocessing", "InvalidResourceFileMode",
                          f"The fileMode '{value}' is not an octal number") from error


def check_output_files(output_files: list[dict[str, Any]], task_dir: Path, exit_code: int) -> LaunchError | None:
    """The upload error for outputFiles whose uploadCondition applies (there is no blob endpoint to write to)."""
    due = [spec for spec in output_files if _upload_due(spec, exit_code)]
    if not due:
        return None
    patterns = ", ".join(str(spec.get("filePattern", "")) for spec in due)
    message = f"Uploading output files ({patterns}) failed: {NO_BLOB_ENDPOINT}"
    # The node writes fileuploaderr.txt for uploads (section 3.8); ours says why nothing was uploaded.
    (task_dir / "fileuploaderr.txt").write_text(message + "\n")
    return LaunchError("fileupload", "FileUploadFailed", message)


def _upload_due(spec: dict[str, Any], exit_code: int) -> bool:
    condition = str((spec.get("uploadOptions") or {}).get("uploadCondition", "taskcompletion")).lower()
    if condition == "tasksuccess":
        return exit_code == 0
    if condition == "taskfailure":
        return exit_code != 0
    return True


