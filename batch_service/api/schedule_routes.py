"""The HTTP handlers of /jobschedules (section 2.2) over the JobScheduleService of the backend."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from batch_service.api.http_common import (
    base_url,
    conditions,
    empty_response,
    entity_response,
    list_response,
    query_flag,
    read_json,
    resource_headers,
)
from batch_service.backend.account import Backend
from batch_service.backend.schedules import JobScheduleService, schedule_with_same_id_exists

SCHEDULES = web.AppKey("schedules", JobScheduleService)


def _service(request: web.Request) -> JobScheduleService:
    return request.app[SCHEDULES]


def _absolute(model: Mapping[str, Any], base: str) -> dict[str, Any]:
    result = copy.deepcopy(dict(model))
    recent = result.get("executionInfo", {}).get("recentJob")
    if recent is not None:
        recent["url"] = base + recent["url"]
    return result


async def create_schedule(request: web.Request) -> web.StreamResponse:
    """POST /jobschedules -> 201."""
    model = _service(request).create(await read_json(request))
    return empty_response(201, resource_headers(model, base_url(request)))


async def list_schedules(request: web.Request) -> web.StreamResponse:
    """GET /jobschedules -> 200 paged."""
    base = base_url(request)
    items = ((seq, _absolute(model, base)) for seq, model in _service(request).items())
    return list_response(request, items, "jobschedules")


async def get_schedule(request: web.Request) -> web.StreamResponse:
    """GET /jobschedules/{id} -> 200."""
    schedule = _service(request).for_read(request.match_info["schedule_id"], conditions(request))
    return entity_response(request, _absolute(schedule.model, base_url(request)), "jobschedules")


async def schedule_exists_head(request: web.Request) -> web.StreamResponse:
    """HEAD /jobschedules/{id} -> 200, or 404."""
    schedule = _service(request).for_read(request.match_info["schedule_id"], conditions(request))
    return empty_response(200, resource_headers(schedule.model, base_url(request), data_service_id=False))


async def update_schedule(request: web.Request) -> web.StreamResponse:
    """PATCH (absent elements unchanged) or PUT (all replaced) /jobschedules/{id} -> 200."""
    model = _service(request).update(request.match_info["schedule_id"], await read_json(request),
                                     conditions(request), replace=request.method == "PUT")
    return empty_response(200, resource_headers(model, base_url(request)))


async def delete_schedule(request: web.Request) -> web.StreamResponse:
    """DELETE /jobschedules/{id} -> 202."""
    query_flag(request, "force")
    _service(request).delete(request.match_info["schedule_id"], conditions(request))
    return empty_response(202)


async def disable_schedule(request: web.Request) -> web.StreamResponse:
    """POST /jobschedules/{id}/disable -> 204; .../enable is the same path with `enable`."""
    enabled = request.path.rstrip("/").endswith("/enable")
    _service(request).set_enabled(request.match_info["schedule_id"], enabled, conditions(request))
    return empty_response(204)


async def terminate_schedule(request: web.Request) -> web.StreamResponse:
    """POST /jobschedules/{id}/terminate -> 202."""
    query_flag(request, "force")
    _service(request).terminate(request.match_info["schedule_id"], conditions(request))
    return empty_response(202)


async def list_schedule_jobs(request: web.Request) -> web.StreamResponse:
    """GET /jobschedules/{id}/jobs -> 200 paged."""
    return list_response(request, _service(request).job_items(request.match_info["schedule_id"]), "jobs")


def check_job_id_free(request: web.Request, job_id: object) -> None:
    """POST /jobs: a job may not take a schedule's id (409 JobScheduleWithSameIdExists, section 2.5)."""
    if isinstance(job_id, str) and SCHEDULES in request.app and request.app[SCHEDULES].has(job_id):
        raise schedule_with_same_id_exists()


_ONE = "/jobschedules/{schedule_id}"
ROUTES = [
    ("POST", "/jobschedules", create_schedule),
    ("GET", "/jobschedules", list_schedules),
    ("GET", _ONE, get_schedule),
    ("HEAD", _ONE, schedule_exists_head),
    ("PATCH", _ONE, update_schedule),
    ("PUT", _ONE, update_schedule),
    ("DELETE", _ONE, delete_schedule),
    ("POST", _ONE + "/disable", disable_schedule),
    ("POST", _ONE + "/enable", disable_schedule),
    ("POST", _ONE + "/terminate", terminate_schedule),
    ("GET", _ONE + "/jobs", list_schedule_jobs),
]


def register(app: web.Application, jobs: Backend, data_dir: Path) -> None:
    """Add the schedule routes and a JobScheduleService whose timer runs while the app does."""
    service = JobScheduleService(jobs, data_dir)
    app[SCHEDULES] = service
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    app.on_startup.append(service.start)
    app.on_cleanup.append(service.stop)
