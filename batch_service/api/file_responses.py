"""The responses of the file operations that tasks and compute nodes share: read a file (honouring ocp-range),
its properties (HEAD), delete it. The routes only find the folder and the file's URL."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from batch_service.api.http_common import empty_response
from batch_service.backend import errors, files


def file_content(path: Path, found: files.FileInfo, url: str, ocp_range: str | None) -> web.Response:
    """200 with the file's bytes (the requested range of them) as octet-stream."""
    if found.is_directory:
        raise errors.invalid_for_current_state("The path names a directory, not a file.")
    start, end = files.byte_range(ocp_range, found.size)
    response = web.Response(status=200, body=files.read(path, start, end), headers=found.headers(url))
    response.content_type = "application/octet-stream"
    return response


def file_properties(found: files.FileInfo, url: str) -> web.Response:
    """200 with the file's headers only."""
    headers = {**found.headers(url), "Content-Length": str(0 if found.is_directory else found.size),
               "Content-Type": "application/octet-stream"}
    return web.Response(status=200, headers=headers)


def file_deleted(root: Path, file_path: str, recursive: bool) -> web.Response:
    """200 once the file (or, with `recursive`, the folder) under `root` is gone."""
    path = files.resolve(root, file_path)
    files.info(root, path)
    files.delete(path, recursive)
    return empty_response(200)
