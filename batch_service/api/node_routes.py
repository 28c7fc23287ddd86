"""Handlers for the pool verbs (PATCH, updateproperties, resize, stopresize, removenodes, autoscale), compute
nodes and node files (section 2.4); thin like routes.py: wire to backend call and back."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from batch_service.api import odata
from batch_service.api.file_responses import file_content, file_deleted, file_properties
from batch_service.api.http_common import (
    ListQuery,
    backend,
    base_url,
    conditions,
    empty_response,
    json_response,
    list_response,
    next_link,
    query,
    query_flag,
    read_json,
    render,
    resource_headers,
)
from batch_service.backend import files, nodes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _pool_id(request: web.Request) -> str:
    return request.match_info["pool_id"]


# --- pool verbs -----------------------------------------------------------------------------------------------

async def update_pool(request: web.Request) -> web.StreamResponse:
    """PATCH /pools/{poolId} -> 200, empty body."""
    body = await read_json(request)
    model = backend(request).update_pool(_pool_id(request), body, conditions(request))
    return empty_response(200, resource_headers(model, base_url(request)))


async def replace_pool_properties(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/updateproperties -> 204."""
    body = await read_json(request)
    model = backend(request).replace_pool_properties(_pool_id(request), body, conditions(request))
    return empty_response(204, resource_headers(model, base_url(request)))


async def resize_pool(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/resize -> 202; allocationState is `resizing`."""
    body = await read_json(request)
    model = backend(request).resize_pool(_pool_id(request), body, conditions(request))
    return empty_response(202, resource_headers(model, base_url(request)))


async def stop_resize(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/stopresize -> 202; `stopping`, then `steady`."""
    model = backend(request).stop_resize(_pool_id(request), conditions(request))
    return empty_response(202, resource_headers(model, base_url(request)))


async def remove_nodes(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/removenodes -> 202."""
    body = await read_json(request)
    model = backend(request).remove_nodes(_pool_id(request), body, conditions(request))
    return empty_response(202, resource_headers(model, base_url(request)))


async def enable_autoscale(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/enableautoscale -> 200."""
    body = await read_json(request, required=False)
    model = backend(request).enable_autoscale(_pool_id(request), body, conditions(request))
    return empty_response(200, resource_headers(model, base_url(request)))


async def disable_autoscale(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/disableautoscale -> 200."""
    model = backend(request).disable_autoscale(_pool_id(request), conditions(request))
    return empty_response(200, resource_headers(model, base_url(request)))


async def evaluate_autoscale(request: web.Request) -> web.StreamResponse:
    """POST /pools/{poolId}/evaluateautoscale -> 200 with the AutoScaleRun."""
    body = await read_json(request)
    run = backend(request).evaluate_autoscale(_pool_id(request), body)
    return json_response({"odata.metadata": f"{base_url(request)}/$metadata#Microsoft.Azure.Batch.Protocol."
                                            f"Entities.AutoScaleRun", **run})


# --- nodes ----------------------------------------------------------------------------------------------------

async def list_nodes(request: web.Request) -> web.StreamResponse:
    """GET /pools/{poolId}/nodes -> 200 paged, with $filter and $select."""
    return list_response(request, backend(request).node_items(_pool_id(request)), "nodes")


async def get_node(request: web.Request) -> web.StreamResponse:
    """GET /pools/{poolId}/nodes/{nodeId} -> 200 (honouring $select)."""
    model = backend(request).node_for_read(_pool_id(request), request.match_info["node_id"])
    base = base_url(request)
    names = odata.parse_select(query(request, "$select"))
    return json_response({"odata.metadata": f"{base}/$metadata#nodes/@Element",
                          **odata.select(render(model, base), names)})


async def disable_scheduling(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/disablescheduling -> 200; the body and its option are optional."""
    body = await read_json(request, required=False)
    option = nodes.option_of(body, "nodeDisableSchedulingOption", nodes.DISABLE_SCHEDULING_OPTIONS)
    backend(request).disable_scheduling(_pool_id(request), request.match_info["node_id"], option)
    return empty_response(200)


async def enable_scheduling(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/enablescheduling -> 200."""
    backend(request).enable_scheduling(_pool_id(request), request.match_info["node_id"])
    return empty_response(200)


async def reboot_node(request: web.Request) -> web.StreamResponse:
    """POST .../nodes/{nodeId}/reboot -> 202; `rebooting`, then `idle`."""
    body = await read_json(request, required=False)
    option = nodes.option_of(body, "nodeRebootOption", nodes.REBOOT_OPTIONS)
    backend(request).reboot_node(_pool_id(request), request.match_info["node_id"], option)
    return empty_response(202)


# --- node files -----------------------------------------------------------------------------------------------

def _node_files(request: web.Request) -> tuple[str, Path]:
    path, root = backend(request).node_files(_pool_id(request), request.match_info["node_id"])
    return f"{base_url(request)}{path}/files/", root


async def list_node_files(request: web.Request) -> web.StreamResponse:
    """GET .../nodes/{nodeId}/files -> 200 paged; `recursive` and `$filter=startswith(name,'...')`."""
    prefix, root = _node_files(request)
    spec = ListQuery.parse(request)
    found = files.list_files(root, query_flag(request, "recursive"))
    entries = [(index, entry.list_entry(prefix + quote(entry.name, safe="")))
               for index, entry in enumerate(found, start=1)]
    chosen, token = odata.page(entries, spec.predicate, spec.max_results, spec.after)
    body: dict[str, object] = {"odata.metadata": f"{base_url(request)}/$metadata#files", "value": chosen}
    if token is not None:
        body["odata.nextLink"] = next_link(request, token, ("maxresults", "$filter", "recursive"))
    return json_response(body)


def _file_target(request: web.Request) -> tuple[Path, files.FileInfo, str]:
    prefix, root = _node_files(request)
    path = files.resolve(root, request.match_info["file_path"])
    found = files.info(root, path)
    conditions(request).check(found.condition_model(), read=True)
    return path, found, prefix + quote(found.name, safe="")


async def get_node_file(request: web.Request) -> web.StreamResponse:
    """GET .../nodes/{nodeId}/files/{filePath} -> 200 octet-stream, honouring ocp-range."""
    path, found, url = _file_target(request)
    return file_content(path, found, url, request.headers.get("ocp-range"))


async def get_node_file_properties(request: web.Request) -> web.StreamResponse:
    """HEAD .../nodes/{nodeId}/files/{filePath} -> 200 with the file headers only."""
    _, found, url = _file_target(request)
    return file_properties(found, url)


async def delete_node_file(request: web.Request) -> web.StreamResponse:
    """DELETE .../nodes/{nodeId}/files/{filePath} -> 200; a directory needs recursive=true unless empty."""
    _, root = _node_files(request)
    return file_deleted(root, request.match_info["file_path"], query_flag(request, "recursive"))


_POOL = "/pools/{pool_id}"
_NODE = _POOL + "/nodes/{node_id}"

ROUTES: list[tuple[str, str, Handler]] = [
    ("PATCH", _POOL, update_pool),
    ("POST", _POOL + "/updateproperties", replace_pool_properties),
    ("POST", _POOL + "/resize", resize_pool),
    ("POST", _POOL + "/stopresize", stop_resize),
    ("POST", _POOL + "/removenodes", remove_nodes),
    ("POST", _POOL + "/enableautoscale", enable_autoscale),
    ("POST", _POOL + "/disableautoscale", disable_autoscale),
    ("POST", _POOL + "/evaluateautoscale", evaluate_autoscale),
    ("GET", _POOL + "/nodes", list_nodes),
    ("GET", _NODE, get_node),
    ("POST", _NODE + "/disablescheduling", disable_scheduling),
    ("POST", _NODE + "/enablescheduling", enable_scheduling),
    ("POST", _NODE + "/reboot", reboot_node),
    ("GET", _NODE + "/files", list_node_files),
    ("GET", _NODE + "/files/{file_path:.+}", get_node_file),
    ("HEAD", _NODE + "/files/{file_path:.+}", get_node_file_properties),
    ("DELETE", _NODE + "/files/{file_path:.+}", delete_node_file),
]
