"""Batch REST client on httpx (api-version 2025-06-01): URLs, headers, paging, errors, ETags, retries.

Every call goes `method → _send (URL, headers, timeouts) → retry policy → auth flow → transport`; error
responses become `providers.client.errors` exceptions in `_raise_for_outcome` only. Facts cite batch-api.md.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from email.utils import formatdate
from typing import Any, NoReturn, Self
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from providers.client.errors import (
    BatchClientError,
    DeadlineExceeded,
    NotFound,
    TransportError,
    error_from_response,
    redact_text,
    redact_url,
)
from providers.client.retry import Outcome, RetryCounter, RetryPolicy, was_never_sent
from providers.client.settings import ConnectionSettings

__all__ = ["API_VERSION", "JSON_CONTENT_TYPE", "BatchClient", "close_shared_clients", "quote_etag",
           "serialize_body", "shared_client"]

API_VERSION = "2025-06-01"
# Every request with a body says this (section 1.1).
JSON_CONTENT_TYPE = "application/json; odata=minimalmetadata"
CONNECT_TIMEOUT = 5.0
_WAIT_FIRST_DELAY = 0.1
_WAIT_MAX_DELAY = 2.0

Json = dict[str, Any]
# Request bodies: any mapping, so TypedDict specs pass unchanged.
Body = Mapping[str, Any]
Query = Mapping[str, str | int | bool | None]


def serialize_body(body: Any) -> bytes:
    """The exact bytes sent for a JSON body (compact), so callers can measure the 1 MB limit (section 2.5)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def quote_etag(etag: str) -> str:
    """Wrap a bare ETag in double quotes unless it is quoted, `*` or weak, like the SDK (section 1.2)."""
    if etag == "*" or etag.startswith(('"', "W/")):
        return etag
    return f'"{etag}"'


def _segment(value: str) -> str:
    return quote(value, safe="")


def _query_string(params: Iterable[tuple[str, str]]) -> str:
    # Spaces as %20 and `$` kept literal, as in section 8.2's example: `+` for space is read differently
    # by different servers, %20 by all of them.
    return "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)


def _as_text(value: str | int | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _http_date() -> str:
    return formatdate(usegmt=True)


def _transport_for(settings: ConnectionSettings) -> httpx.HTTPTransport | None:
    """For a plain-http endpoint (the local service) a transport without TLS setup: loading the CA bundle costs
    ~0.1 s per process and is never used, since no request leaves that origin (redirects are not followed).
    https endpoints get httpx's default transport, with certificate verification."""
    if settings.endpoint.lower().startswith("http://"):
        return httpx.HTTPTransport(verify=False)
    return None


def warm_up() -> None:
    """Pay, ahead of time, what a process's first transport costs once (~40 ms of lazy imports and TLS library
    set-up): called by a pre-started provider host (providers/warm_host.py) before its first request."""
    httpx.HTTPTransport(verify=False).close()


def _describe_transport_error(error: httpx.TransportError) -> str:
    text = redact_text(str(error)).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class BatchClient:
    """A synchronous Batch data-plane client for one account; safe to share between threads.

    `auth` overrides the flow the settings would make (e.g. EntraAuth with a specific credential).
    """

    def __init__(self, settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 policy: RetryPolicy | None = None, auth: httpx.Auth | None = None) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._policy = policy or RetryPolicy(total_deadline=settings.total_deadline, sleep=sleep, clock=clock)
        self._http = httpx.Client(auth=auth or settings.make_auth(), transport=transport or _transport_for(settings),
                                  follow_redirects=False, headers={"Accept": "application/json"})

    @property
    def retries(self) -> RetryCounter:
        """Retries so far, by reason (for fault suites and diagnostics)."""
        return self._policy.counter

    def __repr__(self) -> str:
        return f"BatchClient(endpoint={self.settings.endpoint!r}, auth_mode={self.settings.auth_mode!r})"

    def __getstate__(self) -> NoReturn:
        raise TypeError("BatchClient holds credentials and connections and must not be pickled")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # ---- the one request path -------------------------------------------------------------------------

    def _url(self, path: str, params: Query | None = None) -> str:
        # None and "" are left out: signers disagree on empty values (section 8.2), so never send one.
        pairs = [(k, _as_text(v)) for k, v in (params or {}).items()
                 if v is not None and v != "" and k != "api-version"]
        return f"{self.settings.endpoint}{path}?{_query_string([('api-version', API_VERSION), *pairs])}"

    def _next_page_url(self, link: str) -> str:
        # Only the link's path and query are kept: a token or key is never sent to a host other than the
        # endpoint, and api-version stays ours as the SDK does (section 1.5). Empty values drop, as in _url.
        parts = urlsplit(link)
        pairs = [(k, v) for k, v in parse_qsl(parts.query) if k != "api-version"]
        return f"{self.settings.endpoint}{parts.path}?{_query_string([('api-version', API_VERSION), *pairs])}"

    def _send(self, method: str, url: str, action: str, *, body: Any = None,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send one logical request (retried per the policy); return a 2xx response or raise."""
        content = serialize_body(body) if body is not None else None
        # One client-request-id for all attempts of a call, so the server's logs tie the retries together.
        fixed = {"client-request-id": str(uuid.uuid4()), "return-client-request-id": "true",
                 **(headers or {})}
        if content is not None:
            fixed["Content-Type"] = JSON_CONTENT_TYPE

        def attempt(seconds_left: float) -> httpx.Response:
            read = max(min(self.settings.timeout, seconds_left), 0.001)
            timeout = httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, read))
            request = self._http.build_request(method, url, content=content, timeout=timeout,
                                               headers={**fixed, "ocp-date": _http_date()})
            return self._http.send(request)

        outcome = self._policy.run(method, attempt)
        if outcome.response is not None and outcome.response.is_success:
            return outcome.response
        self._raise_for_outcome(method, url, action, outcome, fixed["client-request-id"])

    def _raise_for_outcome(self, method: str, url: str, action: str, outcome: Outcome,
                           request_id: str) -> NoReturn:
        """The one place transport failures and error responses become our exceptions."""
        result = outcome.result
        error: BatchClientError
        if isinstance(result, httpx.Response):
            error = error_from_response(result, action)
        else:
            error = TransportError(method, redact_url(url), _describe_transport_error(result),
                                   maybe_applied=not was_never_sent(result), action=action,
                                   attempts=outcome.attempts, request_id=request_id)
        if outcome.gave_up == "deadline":
            raise DeadlineExceeded(action, outcome.elapsed, f"{outcome.attempts} attempt(s), last: {error}",
                                   last_error=error) from error
        raise error from (result if isinstance(result, httpx.TransportError) else None)

    def _json(self, method: str, path: str, action: str, *, params: Query | None = None, body: Any = None,
              headers: Mapping[str, str] | None = None) -> Json:
        response = self._send(method, self._url(path, params), action, body=body, headers=headers)
        return response.json() if response.content else {}

    def _etag(self, method: str, path: str, action: str, *, body: Any = None, if_match: str | None = None,
              params: Query | None = None) -> str | None:
        headers = {"If-Match": quote_etag(if_match)} if if_match else None
        response = self._send(method, self._url(path, params), action, body=body, headers=headers)
        etag: str | None = response.headers.get("ETag")
        # Returned bare, the way bodies carry `eTag`, so callers can compare them; If-Match re-quotes it.
        return etag.strip('"') if etag else None

    def _get_or_none(self, path: str, action: str, params: Query | None = None) -> Json | None:
        # A read that meets 404 means "gone", never an error (STYLE.md, azurerm habit).
        try:
            return self._json("GET", path, action, params=params)
        except NotFound:
            return None

    def _delete(self, path: str, action: str, params: Query | None = None) -> bool:
        """True if this call deleted it, False if it was already gone (404 counts as success)."""
        try:
            self._send("DELETE", self._url(path, params), action)
        except NotFound:
            return False
        return True

    def _pages(self, path: str, action: str, params: Query | None = None) -> Iterator[Json]:
        url = self._url(path, params)
        while True:
            page = self._send("GET", url, action).json()
            yield from page.get("value", [])
            link = page.get("odata.nextLink")
            if not link:
                return
            url = self._next_page_url(link)

    def _sleep_within(self, delay: float, deadline: float) -> float:
        self._sleep(max(0.0, min(delay, deadline - self._clock())))
        return min(delay * 2, _WAIT_MAX_DELAY)

    # ---- pools (only what jobs reference, section 2.4) ---------------------------------------------------

    def create_pool(self, body: Body) -> str | None:
        """POST /pools; returns the new pool's ETag."""
        return self._etag("POST", "/pools", f"creating pool '{body.get('id')}'", body=body)

    def get_pool(self, pool_id: str) -> Json | None:
        """GET /pools/{id}; None when the pool does not exist."""
        return self._get_or_none(f"/pools/{_segment(pool_id)}", f"reading pool '{pool_id}'")

    def delete_pool(self, pool_id: str) -> bool:
        """DELETE /pools/{id}; False when it was already gone."""
        return self._delete(f"/pools/{_segment(pool_id)}", f"deleting pool '{pool_id}'")

    # ---- jobs (section 2.1) -----------------------------------------------------------------------------

    def create_job(self, body: Body) -> str | None:
        """POST /jobs; returns the new job's ETag. A lost answer raises TransportError(maybe_applied=True)."""
        return self._etag("POST", "/jobs", f"creating job '{body.get('id')}'", body=body)

    def get_job(self, job_id: str, select: str | None = None, expand: str | None = None) -> Json | None:
        """GET /jobs/{id}; None when the job does not exist."""
        return self._get_or_none(f"/jobs/{_segment(job_id)}", f"reading job '{job_id}'",
                                 {"$select": select, "$expand": expand})

    def list_jobs(self, filter: str | None = None, select: str | None = None,
                  max_results: int | None = None) -> Iterator[Json]:
        """GET /jobs, following odata.nextLink (`max_results` is the page size, 1–1000)."""
        return self._pages("/jobs", "listing jobs", {"$filter": filter, "$select": select,
                                                     "maxresults": max_results})

    def patch_job(self, job_id: str, body: Body, if_match: str | None = None) -> str | None:
        """PATCH /jobs/{id} with only the fields to change; returns the new ETag."""
        return self._etag("PATCH", f"/jobs/{_segment(job_id)}", f"updating job '{job_id}'", body=body,
                          if_match=if_match)

    def put_job(self, job_id: str, body: Body, if_match: str | None = None) -> str | None:
        """PUT /jobs/{id}: replaces every writable field (omitted ones reset, section 4.1); returns ETag."""
        return self._etag("PUT", f"/jobs/{_segment(job_id)}", f"replacing job '{job_id}'", body=body,
                          if_match=if_match)

    def disable_job(self, job_id: str, disable_tasks: str = "requeue", if_match: str | None = None) -> None:
        """POST /jobs/{id}/disable with disableTasks requeue | terminate | wait."""
        self._etag("POST", f"/jobs/{_segment(job_id)}/disable", f"disabling job '{job_id}'",
                   body={"disableTasks": disable_tasks}, if_match=if_match)

    def enable_job(self, job_id: str, if_match: str | None = None) -> None:
        """POST /jobs/{id}/enable."""
        self._etag("POST", f"/jobs/{_segment(job_id)}/enable", f"enabling job '{job_id}'", if_match=if_match)

    def terminate_job(self, job_id: str, reason: str | None = None, force: bool = False,
                      if_match: str | None = None) -> None:
        """POST /jobs/{id}/terminate, with an optional terminateReason."""
        body = {"terminateReason": reason} if reason else None
        self._etag("POST", f"/jobs/{_segment(job_id)}/terminate", f"terminating job '{job_id}'", body=body,
                   if_match=if_match, params={"force": True if force else None})

    def delete_job(self, job_id: str, force: bool = False) -> bool:
        """DELETE /jobs/{id} (asynchronous, section 2.5); False when it was already gone."""
        return self._delete(f"/jobs/{_segment(job_id)}", f"deleting job '{job_id}'",
                            {"force": True if force else None})

    def wait_job_deleted(self, job_id: str, timeout: float = 300.0) -> None:
        """Poll GET until the job is gone (404), backing off 0.1 s → 2 s; DeadlineExceeded on timeout."""
        deadline = self._clock() + timeout
        delay = _WAIT_FIRST_DELAY
        while True:
            job = self.get_job(job_id)
            if job is None:
                return
            if self._clock() >= deadline:
                raise DeadlineExceeded(f"waiting for job '{job_id}' to be deleted", timeout,
                                       f"it is still {job.get('state')!r}")
            delay = self._sleep_within(delay, deadline)

    def wait_job_state(self, job_id: str, states: Iterable[str], timeout: float = 300.0) -> Json:
        """Poll GET until the job's state is one of `states`; NotFound if it disappears."""
        wanted = {s.lower() for s in states}
        action = f"waiting for job '{job_id}' to be {' or '.join(sorted(wanted))}"
        deadline = self._clock() + timeout
        delay = _WAIT_FIRST_DELAY
        while True:
            job = self._json("GET", f"/jobs/{_segment(job_id)}", action)
            if str(job.get("state", "")).lower() in wanted:
                return job
            if self._clock() >= deadline:
                raise DeadlineExceeded(action, timeout, f"it is still {job.get('state')!r}")
            delay = self._sleep_within(delay, deadline)

    def get_task_counts(self, job_id: str) -> Json:
        """GET /jobs/{id}/taskcounts: {taskCounts{…}, taskSlotCounts{…}}."""
        return self._json("GET", f"/jobs/{_segment(job_id)}/taskcounts", f"counting tasks of job '{job_id}'")

    # ---- tasks (section 2.3) ----------------------------------------------------------------------------

    def _task_path(self, job_id: str, task_id: str) -> str:
        return f"/jobs/{_segment(job_id)}/tasks/{_segment(task_id)}"

    def create_task(self, job_id: str, body: Body) -> str | None:
        """POST /jobs/{id}/tasks; returns the new task's ETag."""
        return self._etag("POST", f"/jobs/{_segment(job_id)}/tasks",
                          f"creating task '{body.get('id')}' in job '{job_id}'", body=body)

    def add_task_collection(self, job_id: str, tasks: Sequence[Body]) -> list[Json]:
        """POST /jobs/{id}/addtaskcollection (≤100 tasks, <1 MB); one result dict per task, in any order."""
        body = self._json("POST", f"/jobs/{_segment(job_id)}/addtaskcollection",
                          f"adding {len(tasks)} task(s) to job '{job_id}'", body={"value": list(tasks)})
        return list(body.get("value", []))

    def get_task(self, job_id: str, task_id: str) -> Json | None:
        """GET /jobs/{id}/tasks/{taskId}; None when the task (or its job) does not exist."""
        return self._get_or_none(self._task_path(job_id, task_id),
                                 f"reading task '{task_id}' of job '{job_id}'")

    def list_tasks(self, job_id: str, filter: str | None = None, select: str | None = None,
                   max_results: int | None = None) -> Iterator[Json]:
        """GET /jobs/{id}/tasks, following odata.nextLink (`max_results` is the page size)."""
        return self._pages(f"/jobs/{_segment(job_id)}/tasks", f"listing tasks of job '{job_id}'",
                           {"$filter": filter, "$select": select, "maxresults": max_results})

    def put_task(self, job_id: str, task_id: str, constraints: Body,
                 if_match: str | None = None) -> str | None:
        """PUT /jobs/{id}/tasks/{taskId} with {"constraints": …}, the only writable field; returns ETag."""
        return self._etag("PUT", self._task_path(job_id, task_id),
                          f"updating task '{task_id}' of job '{job_id}'", body={"constraints": constraints},
                          if_match=if_match)

    def delete_task(self, job_id: str, task_id: str) -> bool:
        """DELETE /jobs/{id}/tasks/{taskId}; False when it was already gone."""
        return self._delete(self._task_path(job_id, task_id), f"deleting task '{task_id}' of job '{job_id}'")

    def terminate_task(self, job_id: str, task_id: str, if_match: str | None = None) -> None:
        """POST …/tasks/{taskId}/terminate."""
        self._etag("POST", f"{self._task_path(job_id, task_id)}/terminate",
                   f"terminating task '{task_id}' of job '{job_id}'", if_match=if_match)

    def reactivate_task(self, job_id: str, task_id: str, if_match: str | None = None) -> None:
        """POST …/tasks/{taskId}/reactivate (only for failed completed tasks, section 2.5)."""
        self._etag("POST", f"{self._task_path(job_id, task_id)}/reactivate",
                   f"reactivating task '{task_id}' of job '{job_id}'", if_match=if_match)

    def list_subtasks(self, job_id: str, task_id: str) -> list[Json]:
        """GET …/tasks/{taskId}/subtasksinfo (empty unless multi-instance)."""
        body = self._json("GET", f"{self._task_path(job_id, task_id)}/subtasksinfo",
                          f"listing subtasks of task '{task_id}' of job '{job_id}'")
        return list(body.get("value", []))

    def list_task_files(self, job_id: str, task_id: str, recursive: bool = False,
                        max_results: int | None = None) -> Iterator[Json]:
        """GET …/tasks/{taskId}/files, following odata.nextLink."""
        return self._pages(f"{self._task_path(job_id, task_id)}/files",
                           f"listing files of task '{task_id}' of job '{job_id}'",
                           {"recursive": True if recursive else None, "maxresults": max_results})

    def get_task_file(self, job_id: str, task_id: str, path: str,
                      byte_range: tuple[int, int] | None = None) -> bytes:
        """GET …/files/{path} (relative to the task directory); inclusive `byte_range` goes in ocp-range."""
        headers = {"ocp-range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else None
        url = self._url(f"{self._task_path(job_id, task_id)}/files/{quote(path, safe='/')}")
        response = self._send("GET", url, f"reading file '{path}' of task '{task_id}' of job '{job_id}'",
                              headers=headers)
        return response.content

    # ---- job schedules (section 2.2) --------------------------------------------------------------------

    def create_job_schedule(self, body: Body) -> str | None:
        """POST /jobschedules; returns the new schedule's ETag."""
        return self._etag("POST", "/jobschedules", f"creating job schedule '{body.get('id')}'", body=body)

    def get_job_schedule(self, schedule_id: str) -> Json | None:
        """GET /jobschedules/{id}; None when the schedule does not exist."""
        return self._get_or_none(f"/jobschedules/{_segment(schedule_id)}",
                                 f"reading job schedule '{schedule_id}'")

    def patch_job_schedule(self, schedule_id: str, body: Body, if_match: str | None = None) -> str | None:
        """PATCH /jobschedules/{id}; returns the new ETag."""
        return self._etag("PATCH", f"/jobschedules/{_segment(schedule_id)}",
                          f"updating job schedule '{schedule_id}'", body=body, if_match=if_match)

    def delete_job_schedule(self, schedule_id: str, force: bool = False) -> bool:
        """DELETE /jobschedules/{id}; False when it was already gone."""
        return self._delete(f"/jobschedules/{_segment(schedule_id)}",
                            f"deleting job schedule '{schedule_id}'", {"force": True if force else None})

    def list_jobs_from_schedule(self, schedule_id: str, filter: str | None = None, select: str | None = None,
                                max_results: int | None = None) -> Iterator[Json]:
        """GET /jobschedules/{id}/jobs, following odata.nextLink."""
        return self._pages(f"/jobschedules/{_segment(schedule_id)}/jobs",
                           f"listing jobs of job schedule '{schedule_id}'",
                           {"$filter": filter, "$select": select, "maxresults": max_results})


_SHARED: dict[ConnectionSettings, BatchClient] = {}
_SHARED_LOCK = threading.Lock()


def shared_client(settings: ConnectionSettings) -> BatchClient:
    """One client per distinct settings in this process, so a provider host reuses connections and tokens."""
    with _SHARED_LOCK:
        client = _SHARED.get(settings)
        if client is None:
            client = _SHARED[settings] = BatchClient(settings)
        return client


def close_shared_clients() -> None:
    """Close and forget every shared client (tests, process shutdown)."""
    with _SHARED_LOCK:
        clients = list(_SHARED.values())
        _SHARED.clear()
    for client in clients:
        client.close()
