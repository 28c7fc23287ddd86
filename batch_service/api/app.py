"""The aiohttp application and the `serve` loop.

Every request passes, in this order: request context (request id, fault injection, response id headers) ->
error translation (the one place exceptions become BatchError bodies) -> Shared Key auth -> api-version ->
the route's handler. aiohttp resolves the route before the middlewares run, but an unknown path only raises
inside the handler step, so unauthenticated callers learn nothing about routes.
"""
from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from batch_service.api import schedule_routes
from batch_service.api.auth import SharedKeyVerifier, SignedRequest
from batch_service.api.http_common import (
    API_VERSION,
    BACKEND,
    FAULTS,
    MAX_BODY_BYTES,
    SETTINGS,
    base_url,
    json_response,
    query,
)
from batch_service.api.routes import ROUTES
from batch_service.backend import errors
from batch_service.backend.account import Backend
from batch_service.backend.errors import BatchServiceError
from batch_service.backend.ids import iso, now_ticks, request_id
from batch_service.faults import FaultInjector
from batch_service.settings import Settings

log = logging.getLogger("batch_service")

VERIFIER = web.AppKey("verifier", SharedKeyVerifier)
_LOCAL_PREFIX = "/_local/"
_LOOPBACK = ("127.0.0.1", "::1")
_CLIENT_MAX_SIZE = 16 * MAX_BODY_BYTES  # read big bodies ourselves so they get the Batch 413 body


def error_response(request: web.Request, error: BatchServiceError) -> web.Response:
    """The HTTP response for a BatchServiceError: the section 7.1 body (none for 304)."""
    if error.status == 304:
        return web.Response(status=304, headers=error.headers)
    body = errors.error_body(error, request.get("request_id", ""), iso(now_ticks()), base_url(request))
    return json_response(body, status=error.status, headers=error.headers)


def _close_connection(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


@web.middleware
async def request_context(request: web.Request, handler: Any) -> web.StreamResponse:
    """Give the request its id, apply an injected fault, and stamp the id headers on the response."""
    request["request_id"] = request_id()
    fault = None if request.path.startswith(_LOCAL_PREFIX) else request.app[FAULTS].decide(request.method)
    if fault == "drop":
        _close_connection(request)
        return web.Response(status=503)
    if fault in ("503", "429"):
        retry_after = request.app[FAULTS].config.retry_after
        error = errors.server_busy(retry_after) if fault == "503" else errors.too_many_requests(retry_after)
        response: web.StreamResponse = error_response(request, error)
    else:
        response = await handler(request)
    if fault == "lost":
        _close_connection(request)  # the change is committed; the client never hears about it
    response.headers["request-id"] = request["request_id"]
    client_id = request.headers.get("client-request-id")
    if client_id and request.headers.get("return-client-request-id", "").lower() == "true":
        response.headers["client-request-id"] = client_id
    return response


@web.middleware
async def error_translation(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn every exception into a BatchError response; log the unexpected ones."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPNotFound:
        error = errors.resource_not_found()
    except web.HTTPMethodNotAllowed:
        error = errors.unsupported_verb(request.method)
    except web.HTTPRequestEntityTooLarge:
        error = errors.request_body_too_large(MAX_BODY_BYTES)
    except Exception as exc:  # the single place where errors become responses
        converted = errors.coerce(exc)
        if converted is None:
            log.exception("unexpected error in %s %s", request.method, request.path)
            converted = errors.internal_error()
        error = converted
    return error_response(request, error)


@web.middleware
async def authentication(request: web.Request, handler: Any) -> web.StreamResponse:
    """Shared Key (section 8.2) on every API request; /_local answers loopback callers only."""
    if request.path.startswith(_LOCAL_PREFIX):
        if request.remote not in _LOOPBACK:
            raise errors.forbidden_remote()
    else:
        body = await request.read()
        request.app[VERIFIER].verify(SignedRequest(request.method, request.rel_url.raw_path,
                                                   request.rel_url.raw_query_string, request.headers, len(body)))
    response: web.StreamResponse = await handler(request)
    return response


@web.middleware
async def api_version(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every API request names api-version 2025-06-01 (section 1.1)."""
    if not request.path.startswith(_LOCAL_PREFIX):
        version = query(request, "api-version")
        if version is None:
            raise errors.missing_query_parameter("api-version")
        if version != API_VERSION:
            raise errors.unsupported_api_version(version)
    response: web.StreamResponse = await handler(request)
    return response


def build_app(settings: Settings, backend: Backend, faults: FaultInjector) -> web.Application:
    """The application with its middlewares, route table and shared objects."""
    app = web.Application(middlewares=[request_context, error_translation, authentication, api_version],
                          client_max_size=_CLIENT_MAX_SIZE)
    app[SETTINGS] = settings
    app[BACKEND] = backend
    app[FAULTS] = faults
    app[VERIFIER] = SharedKeyVerifier(settings.account_name, settings.account_key,
                                      allow_bearer=settings.allow_bearer)
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    # Job schedules keep their own store (batch_service.backend.schedules) and routes.
    schedule_routes.register(app, backend, settings.data_dir)
    return app
