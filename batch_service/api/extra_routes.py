"""Handlers for the account reads (applications, supported images, node counts, pool usage metrics) and the
node operations beyond the verbs of node_routes.py (start, reimage, deallocate, users, remote login settings,
log upload, extensions); thin like routes.py."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import isodate
from aiohttp import web

from batch_service.api.http_common import (
    backend,
    empty_response,
    json_response,
    list_response,
    query,
    read_json,
)
from batch_service.backend import errors, nodes
from batch_service.backend.ids import ticks_from_unix
from batch_service.backend.node_extras import LogFile
from batch_service.validation import node_bodies

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["pool_id"], request.match_info["node_id"]


# --- account reads --------------------------------------------------------------------------------------------

async def list_applications(request: web.Request) -> web.StreamResponse:
    """GET /applications -> 200 paged (the catalogue in account_reports.py)."""
    return list_response(request, backend(request).reports.application_items(), "applications")


async def get_application(request: web.Request) -> web.StreamResponse:
    """GET /applications/{applicationId} -> 200; 404 ApplicationNotFound."""
    return json_response(backend(request).reports.application(request.match_info["application_id"]))


async def list_supported_images(request: web.Request) -> web.StreamResponse:
    """GET /supportedimages -> 200 paged, with $filter (e.g. verificationType eq 'verified')."""
    return list_response(request, backend(request).reports.image_items(), "supportedimages")


async def list_node_counts(request: web.Request) -> web.StreamResponse:
    """GET /nodecounts -> 200 paged, one entry per pool, with $filter on poolId."""
    return list_response(request, backend(request).reports.node_count_items(), "nodecounts")


def _time_parameter(request: web.Request, name: str) -> int | None:
    value = query(request, name)
    if value is None:
        return None
    try:
        return ticks_from_unix(isodate.parse_datetime(value).timestamp())
    except (ValueError, isodate.ISO8601Error):
        raise errors.invalid_query_value(name, "Expected an ISO 8601 date-time.") from None


async def list_pool_usage_metrics(request: web.Request) -> web.StreamResponse:
    """GET /poolusagemetrics -> 200 paged: core hours per pool and 30-minute interval; startTime, endtime and
    $filter on poolId."""
    start, end = _time_parameter(request, "startTime"), _time_parameter(request, "endTime")
    return list_response(request, backend(request).reports.usage_metric_items(start, end), "poolusagemetrics")


# --- node verbs -----------------------------------------------------------------------------------------------

async def _node_verb(request: web.Request, verb: str, option_name: str, table: str) -> web.StreamResponse:
    body = await read_json(request, required=False)
    if body:
        node_bodies.validate(table, body)
    option = nodes.option_of(body, option_name, nodes.DEALLOCATION_OPTIONS)
    backend(request).node_verb(verb, *_ids(request), option)
    return empty_response(202)


async def reimage_node(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/reimage -> 202; `reimaging`, then `idle`; 409 unless idle or running."""
    return await _node_verb(request, "reimage", "nodeReimageOption", "BatchNodeReimageOptions")


async def deallocate_node(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/deallocate -> 202; `deallocating`, then `deallocated`; 409 unless idle or
    running."""
    return await _node_verb(request, "deallocate", "nodeDeallocateOption", "BatchNodeDeallocateOptions")


async def start_node(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/start -> 202; `starting`, then `idle`; 409 unless deallocated."""
    backend(request).node_verb("start", *_ids(request))
    return empty_response(202)


# --- users, remote login, extensions --------------------------------------------------------------------------

async def create_node_user(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/users -> 201; 409 NodeUserExists."""
    backend(request).node_extras.create_user(*_ids(request), await read_json(request))
    return empty_response(201)


async def replace_node_user(request: web.Request) -> web.StreamResponse:
    """PUT .../nodes/{nodeId}/users/{userName} -> 200; 404 NodeUserNotFound."""
    backend(request).node_extras.replace_user(*_ids(request), request.match_info["user_name"],
                                              await read_json(request))
    return empty_response(200)


async def delete_node_user(request: web.Request) -> web.StreamResponse:
    """DELETE .../nodes/{nodeId}/users/{userName} -> 200; 404 NodeUserNotFound."""
    backend(request).node_extras.delete_user(*_ids(request), request.match_info["user_name"])
    return empty_response(200)


async def remote_login_settings(request: web.Request) -> web.StreamResponse:
    """GET .../nodes/{nodeId}/remoteloginsettings -> 200."""
    return json_response(backend(request).node_extras.remote_login_settings(*_ids(request)))


async def list_node_extensions(request: web.Request) -> web.StreamResponse:
    """GET .../nodes/{nodeId}/extensions -> 200 paged, with $select."""
    found = backend(request).node_extras.extensions(*_ids(request))
    return list_response(request, list(enumerate(found)), "extensions")


async def get_node_extension(request: web.Request) -> web.StreamResponse:
    """GET .../nodes/{nodeId}/extensions/{extensionName} -> 200; 404 when the pool has no such extension."""
    return json_response(backend(request).node_extras.extension(*_ids(request),
                                                                request.match_info["extension_name"]))


# --- log upload -----------------------------------------------------------------------------------------------

def _blob_url(container_url: str, name: str) -> str:
    parts = urlsplit(container_url)
    return urlunsplit((parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}/{quote(name)}", parts.query, ""))


async def _upload(container_url: str, directory: str, found: list[LogFile]) -> None:
    headers = {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06"}
    async with aiohttp.ClientSession(timeout=_UPLOAD_TIMEOUT) as session:
        for log_file in found:
            data = log_file.path.read_bytes()
            async with session.put(_blob_url(container_url, directory + log_file.name), data=data,
                                   headers=headers) as answer:
                if answer.status >= 300:
                    raise errors.invalid_property("containerUrl",
                                                  f"The container answered {answer.status} to the upload.")


async def upload_batch_service_logs(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/uploadbatchservicelogs -> 200 {virtualDirectoryName, numberOfFilesUploaded}:
    each log file is PUT as a block blob under the container URL (its query, e.g. a SAS, kept)."""
    body = await read_json(request)
    directory, found = backend(request).node_extras.log_files(*_ids(request), body)
    try:
        await _upload(str(body["containerUrl"]), directory, found)
    except aiohttp.ClientError:
        raise errors.invalid_property("containerUrl", "The container could not be reached.") from None
    return json_response({"virtualDirectoryName": directory, "numberOfFilesUploaded": len(found)})


_NODE = "/pools/{pool_id}/nodes/{node_id}"

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/applications", list_applications),
    ("GET", "/applications/{application_id}", get_application),
    ("GET", "/supportedimages", list_supported_images),
    ("GET", "/nodecounts", list_node_counts),
    ("GET", "/poolusagemetrics", list_pool_usage_metrics),
    ("POST", _NODE + "/reimage", reimage_node),
    ("POST", _NODE + "/deallocate", deallocate_node),
    ("POST", _NODE + "/start", start_node),
    ("POST", _NODE + "/users", create_node_user),
    ("PUT", _NODE + "/users/{user_name}", replace_node_user),
    ("DELETE", _NODE + "/users/{user_name}", delete_node_user),
    ("GET", _NODE + "/remoteloginsettings", remote_login_settings),
    ("POST", _NODE + "/uploadbatchservicelogs", upload_batch_service_logs),
    ("GET", _NODE + "/extensions", list_node_extensions),
    ("GET", _NODE + "/extensions/{extension_name}", get_node_extension),
]
