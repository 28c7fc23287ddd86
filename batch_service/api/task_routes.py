"""Task and task-file handlers (section 2.3); thin like the job handlers in routes.py."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
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
    entity_response,
    json_response,
    list_response,
    next_link,
    query,
    query_flag,
    read_json,
    resource_headers,
)
from batch_service.backend import errors, files
from batch_service.backend.ids import iso, now_ticks


async def create_task(request: web.Request) -> web.StreamResponse:
    """POST /jobs/{jobId}/tasks -> 201, empty body."""
    body = await read_json(request)
    model = backend(request).create_task(request.match_info["job_id"], body)
    return empty_response(201, resource_headers(model, base_url(request)))


async def add_task_collection(request: web.Request) -> web.StreamResponse:
    """POST /jobs/{jobId}/addtaskcollection -> 200 with one result per task (section 2.5)."""
    body = await read_json(request)
    results = backend(request).add_task_collection(request.match_info["job_id"], body)
    base, when = base_url(request), iso(now_ticks())
    value = []
    for result in results:
        if result.model is not None:
            value.append({"status": "success", "taskId": result.task_id, "eTag": result.model["eTag"],
                          "lastModified": result.model["lastModified"],
                          "location": base + result.model["url"]})
        elif result.error is not None:
            status = "servererror" if result.error.status >= 500 else "clienterror"
            value.append({"status": status, "taskId": result.task_id,
                          "error": errors.item_error(result.error, request["request_id"], when)})
    return json_response({"value": value})


async def list_tasks(request: web.Request) -> web.StreamResponse:
    """GET /jobs/{jobId}/tasks -> 200 paged, with $filter on state and friends."""
    service, job_id = backend(request), request.match_info["job_id"]
    return list_response(request, lambda after: service.task_items(job_id, after), "tasks",
                         lambda model: service.task_stats(job_id, model["id"]))


async def get_task(request: web.Request) -> web.StreamResponse:
    """GET /jobs/{jobId}/tasks/{taskId} -> 200."""
    service, job_id = backend(request), request.match_info["job_id"]
    model = service.task_for_read(job_id, request.match_info["task_id"], conditions(request))
    return entity_response(request, model, "tasks", lambda model: service.task_stats(job_id, model["id"]))


async def replace_task(request: web.Request) -> web.StreamResponse:
    """PUT /jobs/{jobId}/tasks/{taskId} (constraints) -> 200, empty body."""
    body = await read_json(request)
    model = backend(request).replace_task(request.match_info["job_id"], request.match_info["task_id"], body,
                                          conditions(request))
    return empty_response(200, resource_headers(model, base_url(request)))


async def delete_task(request: web.Request) -> web.StreamResponse:
    """DELETE /jobs/{jobId}/tasks/{taskId} -> 200."""
    backend(request).delete_task(request.match_info["job_id"], request.match_info["task_id"], conditions(request))
    return empty_response(200)


async def terminate_task(request: web.Request) -> web.StreamResponse:
    """POST .../terminate -> 204."""
    model = backend(request).terminate_task(request.match_info["job_id"], request.match_info["task_id"],
                                            conditions(request))
    return empty_response(204, resource_headers(model, base_url(request)))


async def reactivate_task(request: web.Request) -> web.StreamResponse:
    """POST .../reactivate -> 204."""
    model = backend(request).reactivate_task(request.match_info["job_id"], request.match_info["task_id"],
                                             conditions(request))
    return empty_response(204, resource_headers(model, base_url(request)))


async def list_subtasks(request: web.Request) -> web.StreamResponse:
    """GET .../subtasksinfo -> 200 {value: [...]} (empty unless multi-instance)."""
    subtasks = backend(request).subtasks(request.match_info["job_id"], request.match_info["task_id"])
    names = odata.parse_select(query(request, "$select"))
    return json_response({"value": [odata.select(subtask, names) for subtask in subtasks]})


# --- files ----------------------------------------------------------------------------------------------------

def _file_url(request: web.Request, task_model: Mapping[str, Any], name: str) -> str:
    return f"{base_url(request)}{task_model['url']}/files/{quote(name, safe='')}"


async def list_task_files(request: web.Request) -> web.StreamResponse:
    """GET .../files -> 200 paged; `recursive` and `$filter=startswith(name,'...')` (section 1.5)."""
    task, task_dir = backend(request).task_files(request.match_info["job_id"], request.match_info["task_id"])
    spec = ListQuery.parse(request)
    found = files.list_files(task_dir, query_flag(request, "recursive"))
    entries = [(index, found_file.list_entry(_file_url(request, task, found_file.name)))
               for index, found_file in enumerate(found, start=1)]
    chosen, token = odata.page(entries, spec.predicate, spec.max_results, spec.after)
    body: dict[str, object] = {"odata.metadata": f"{base_url(request)}/$metadata#files", "value": chosen}
    if token is not None:
        body["odata.nextLink"] = next_link(request, token, ("maxresults", "$filter", "recursive"))
    return json_response(body)


def _file_target(request: web.Request) -> tuple[Path, files.FileInfo, str]:
    task, task_dir = backend(request).task_files(request.match_info["job_id"], request.match_info["task_id"])
    path = files.resolve(task_dir, request.match_info["file_path"])
    found = files.info(task_dir, path)
    url = _file_url(request, task, found.name)
    conditions(request).check(found.condition_model(), read=True)
    return path, found, url


async def get_task_file(request: web.Request) -> web.StreamResponse:
    """GET .../files/{filePath} -> 200 octet-stream, honouring ocp-range."""
    path, found, url = _file_target(request)
    return file_content(path, found, url, request.headers.get("ocp-range"))


async def get_task_file_properties(request: web.Request) -> web.StreamResponse:
    """HEAD .../files/{filePath} -> 200 with the file headers only."""
    _, found, url = _file_target(request)
    return file_properties(found, url)


async def delete_task_file(request: web.Request) -> web.StreamResponse:
    """DELETE .../files/{filePath} -> 200; a directory needs recursive=true unless empty."""
    _, task_dir = backend(request).task_files(request.match_info["job_id"], request.match_info["task_id"])
    return file_deleted(task_dir, request.match_info["file_path"], query_flag(request, "recursive"))

