"""The route table and the pool and job handlers (section 2). Handlers only translate between the wire and
backend calls: read the body and headers, call one backend method, write the status and headers."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from batch_service.api import extra_routes, node_routes, schedule_routes, task_routes
from batch_service.api.http_common import (
    FAULTS,
    backend,
    base_url,
    conditions,
    empty_response,
    entity_response,
    json_response,
    list_response,
    query_flag,
    read_json,
    resource_headers,
)
from batch_service.backend import errors
from batch_service.faults import FaultConfig, FaultConfigError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- pools (section 2.4) --------------------------------------------------------------------------------------

async def create_pool(request: web.Request) -> web.StreamResponse:
    """POST /pools -> 201."""
    model = backend(request).create_pool(await read_json(request))
    return empty_response(201, resource_headers(model, base_url(request)))


async def list_pools(request: web.Request) -> web.StreamResponse:
    """GET /pools -> 200 paged."""
    service = backend(request)
    return list_response(request, service.pool_items(), "pools", lambda model: service.pool_stats(model["id"]))


async def get_pool(request: web.Request) -> web.StreamResponse:
    """GET /pools/{poolId} -> 200."""
    service = backend(request)
    model = service.pool_for_read(request.match_info["pool_id"], conditions(request))
    return entity_response(request, model, "pools", lambda model: service.pool_stats(model["id"]))


async def pool_exists(request: web.Request) -> web.StreamResponse:
    """HEAD /pools/{poolId} -> 200, or 404 PoolNotFound."""
    model = backend(request).pool_for_read(request.match_info["pool_id"], conditions(request))
    return empty_response(200, resource_headers(model, base_url(request), data_service_id=False))


async def delete_pool(request: web.Request) -> web.StreamResponse:
    """DELETE /pools/{poolId} -> 202; the pool is `deleting`, then gone."""
    backend(request).delete_pool(request.match_info["pool_id"], conditions(request))
    return empty_response(202)


# --- jobs (section 2.1) ---------------------------------------------------------------------------------------

async def create_job(request: web.Request) -> web.StreamResponse:
    """POST /jobs -> 201, empty body."""
    body = await read_json(request)
    schedule_routes.check_job_id_free(request, body.get("id") if isinstance(body, dict) else None)
    model = backend(request).create_job(body)
    return empty_response(201, resource_headers(model, base_url(request)))


async def list_jobs(request: web.Request) -> web.StreamResponse:
    """GET /jobs -> 200 paged, with $filter/$select/maxresults."""
    service = backend(request)
    return list_response(request, service.job_items(), "jobs", lambda model: service.job_stats(model["id"]))


async def get_job(request: web.Request) -> web.StreamResponse:
    """GET /jobs/{jobId} -> 200."""
    service = backend(request)
    model = service.job_for_read(request.match_info["job_id"], conditions(request))
    return entity_response(request, model, "jobs", lambda model: service.job_stats(model["id"]))


async def update_job(request: web.Request) -> web.StreamResponse:
    """PATCH /jobs/{jobId} -> 200, empty body."""
    body = await read_json(request)
    model = backend(request).update_job(request.match_info["job_id"], body, conditions(request))
    return empty_response(200, resource_headers(model, base_url(request)))


async def replace_job(request: web.Request) -> web.StreamResponse:
    """PUT /jobs/{jobId} -> 200, empty body."""
    body = await read_json(request)
    model = backend(request).replace_job(request.match_info["job_id"], body, conditions(request))
    return empty_response(200, resource_headers(model, base_url(request)))


async def disable_job(request: web.Request) -> web.StreamResponse:
    """POST /jobs/{jobId}/disable -> 202."""
    service = backend(request)
    disable_tasks = service.disable_tasks_option(await read_json(request))
    model = service.disable_job(request.match_info["job_id"], disable_tasks, conditions(request))
    return empty_response(202, resource_headers(model, base_url(request)))


async def enable_job(request: web.Request) -> web.StreamResponse:
    """POST /jobs/{jobId}/enable -> 202."""
    model = backend(request).enable_job(request.match_info["job_id"], conditions(request))
    return empty_response(202, resource_headers(model, base_url(request)))


async def terminate_job(request: web.Request) -> web.StreamResponse:
    """POST /jobs/{jobId}/terminate -> 202; the body and its terminateReason are optional."""
    service = backend(request)
    query_flag(request, "force")
    reason = service.terminate_reason_option(await read_json(request, required=False))
    model = service.terminate_job(request.match_info["job_id"], reason, conditions(request))
    return empty_response(202, resource_headers(model, base_url(request)))


async def delete_job(request: web.Request) -> web.StreamResponse:
    """DELETE /jobs/{jobId} -> 202; the job is `deleting`, then 404."""
    query_flag(request, "force")
    backend(request).delete_job(request.match_info["job_id"], conditions(request))
    return empty_response(202)


async def get_task_counts(request: web.Request) -> web.StreamResponse:
    """GET /jobs/{jobId}/taskcounts -> 200."""
    return json_response(backend(request).task_counts(request.match_info["job_id"]))


# --- control endpoints for tests (no auth, loopback only) -----------------------------------------------------

async def local_stats(request: web.Request) -> web.StreamResponse:
    """GET /_local/stats -> {"requests": n, "faults": {...}}."""
    return json_response(request.app[FAULTS].stats())


async def local_faults(request: web.Request) -> web.StreamResponse:
    """PUT /_local/faults with the --faults JSON -> 200 and the configuration in use."""
    try:
        config = FaultConfig.parse(await read_json(request))
    except FaultConfigError as exc:
        raise errors.invalid_request_body(str(exc)) from None
    request.app[FAULTS].configure(config)
    return json_response({"seed": config.seed, "rate": config.rate, "kinds": list(config.kinds),
                          "retryAfter": config.retry_after})


_JOB = "/jobs/{job_id}"
_TASK = "/jobs/{job_id}/tasks/{task_id}"

async def list_preparation_release_status(request: web.Request) -> web.StreamResponse:
    """GET /jobs/{jobId}/jobpreparationandreleasetaskstatus -> 200 paged, one entry per prepared node."""
    items = backend(request).preparation_release_items(request.match_info["job_id"])
    return list_response(request, items, "jobpreparationandreleasetaskstatus")


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/pools", create_pool),
    ("GET", "/pools", list_pools),
    ("GET", "/pools/{pool_id}", get_pool),
    ("HEAD", "/pools/{pool_id}", pool_exists),
    ("DELETE", "/pools/{pool_id}", delete_pool),
    ("POST", "/jobs", create_job),
    ("GET", "/jobs", list_jobs),
    ("GET", _JOB, get_job),
    ("PATCH", _JOB, update_job),
    ("PUT", _JOB, replace_job),
    ("DELETE", _JOB, delete_job),
    ("POST", _JOB + "/disable", disable_job),
    ("POST", _JOB + "/enable", enable_job),
    ("POST", _JOB + "/terminate", terminate_job),
    ("GET", _JOB + "/taskcounts", get_task_counts),
    ("GET", _JOB + "/jobpreparationandreleasetaskstatus", list_preparation_release_status),
    ("POST", _JOB + "/tasks", task_routes.create_task),
    ("GET", _JOB + "/tasks", task_routes.list_tasks),
    ("POST", _JOB + "/addtaskcollection", task_routes.add_task_collection),
    ("GET", _TASK, task_routes.get_task),
    ("PUT", _TASK, task_routes.replace_task),
    ("DELETE", _TASK, task_routes.delete_task),
    ("POST", _TASK + "/terminate", task_routes.terminate_task),
    ("POST", _TASK + "/reactivate", task_routes.reactivate_task),
    ("GET", _TASK + "/subtasksinfo", task_routes.list_subtasks),
    ("GET", _TASK + "/files", task_routes.list_task_files),
    ("GET", _TASK + "/files/{file_path:.+}", task_routes.get_task_file),
    ("HEAD", _TASK + "/files/{file_path:.+}", task_routes.get_task_file_properties),
    ("DELETE", _TASK + "/files/{file_path:.+}", task_routes.delete_task_file),
    *node_routes.ROUTES,
    *extra_routes.ROUTES,
    ("GET", "/_local/stats", local_stats),
    ("PUT", "/_local/faults", local_faults),
]
