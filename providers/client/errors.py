"""Errors raised by the Batch REST client; every one of them derives from `BatchClientError`.

    BatchClientError                 root: catch this to catch anything the client raises
    ├── ConfigurationError           connection settings are missing or invalid
    ├── BatchError                   the service answered with an error status (batch-api.md section 7)
    │   ├── NotFound                 404 (JobNotFound, TaskNotFound, …)
    │   ├── Conflict                 409 that is not a duplicate id (JobNotActive, TaskCompleted, …)
    │   │   └── Exists               409 whose code says the very thing already exists (JobExists, …)
    │   ├── PreconditionFailed       412 ConditionNotMet (If-Match did not match)
    │   ├── AuthenticationFailed     401 / 403
    │   └── Throttled                429 / 503 still returned when the retries ran out
    ├── TransportError               no complete response; `maybe_applied` says if the server may have acted
    └── DeadlineExceeded             the total deadline (or a wait's timeout) ran out before success

Messages never carry a key, a token or a query string other than `api-version`: URLs are redacted here.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

__all__ = [
    "AuthenticationFailed",
    "BatchClientError",
    "BatchError",
    "ConfigurationError",
    "Conflict",
    "DeadlineExceeded",
    "Exists",
    "NotFound",
    "PreconditionFailed",
    "Throttled",
    "TransportError",
    "error_from_response",
    "redact_text",
    "redact_url",
]

# Codes such as JobWithSameIdExists name a *different* kind of resource holding the id (section 2.5),
# so a create that meets one of them did not succeed earlier: they stay plain conflicts.
_OTHER_KIND_EXISTS = re.compile(r"WithSameIdExists$")
_URL_WITH_QUERY = re.compile(r"(https?://[^\s?#'\"<>]+)\?[^\s#'\"<>]*")
_MAX_NON_JSON_MESSAGE = 200


class BatchClientError(Exception):
    """Root of every error the Batch client raises."""


class ConfigurationError(BatchClientError):
    """Raised when connection settings cannot be resolved (missing endpoint, key, bad auth mode)."""


def redact_url(url: str | httpx.URL) -> str:
    """Path of `url` with every query parameter dropped except api-version (SAS tokens live in queries)."""
    parts = urlsplit(str(url))
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "api-version"]
    path = parts.path or "/"
    return f"{path}?{urlencode(kept)}" if kept else path


def redact_text(text: str) -> str:
    """Replace the query string of any URL inside free text (e.g. a server message) with `?…`."""
    return _URL_WITH_QUERY.sub(lambda m: f"{m.group(1)}?…", text)


class BatchError(BatchClientError):
    """Raised when the service answers with an error status; carries its BatchError body (section 7.1)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        values: Mapping[str, str] | None = None,
        method: str = "",
        path: str = "",
        action: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.values = dict(values or {})
        self.method = method
        self.path = path
        self.action = action
        super().__init__(self._describe())

    @property
    def maybe_applied(self) -> bool:
        """True for 5xx answers other than 503: the server may have acted before failing (section 9)."""
        return self.status >= 500 and self.status != 503

    def _describe(self) -> str:
        prefix = f"{self.action}: " if self.action else ""
        where = f"{self.method} {self.path}: " if self.method else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{where}{self.status} {self.code}: {self.message}{rid}"


class NotFound(BatchError):
    """Raised on 404: the job, task, schedule, pool or file does not exist (or is already gone)."""


class Conflict(BatchError):
    """Raised on 409 when the resource's state forbids the operation (JobNotActive, TaskCompleted, …)."""


class Exists(Conflict):
    """Raised on 409 JobExists / TaskExists / …Exists: a create met an existing resource with that id."""


class PreconditionFailed(BatchError):
    """Raised on 412 ConditionNotMet: the resource changed since the ETag given in If-Match."""


class AuthenticationFailed(BatchError):
    """Raised on 401/403: bad signature, bad or expired token, or missing permissions."""


class Throttled(BatchError):
    """Raised on 429 TooManyRequests / 503 ServerBusy when the retry policy gave up."""


class TransportError(BatchClientError):
    """Raised when no complete response arrived (connect, read or write failure, timeout)."""

    def __init__(self, method: str, path: str, reason: str, *, maybe_applied: bool,
                 action: str | None = None, attempts: int = 1, request_id: str | None = None) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.reason = reason
        self.maybe_applied = maybe_applied
        self.action = action
        self.attempts = attempts
        prefix = f"{action}: " if action else ""
        applied = ("the request was sent, so the server may have acted on it" if maybe_applied
                   else "the request was not sent")
        rid = f" (client-request-id {request_id})" if request_id else ""
        super().__init__(f"{prefix}{method} {path}: {reason} after {attempts} attempt(s); {applied}{rid}")


class DeadlineExceeded(BatchClientError):
    """Raised when the total deadline of a call, or the timeout of a wait, ran out before success."""

    def __init__(self, what: str, seconds: float, detail: str = "", last_error: BaseException | None = None
                 ) -> None:
        self.what = what
        self.seconds = seconds
        self.last_error = last_error
        tail = f"; {detail}" if detail else ""
        super().__init__(f"{what}: gave up after {seconds:.1f} s{tail}")


def _parse_body(response: httpx.Response) -> tuple[str | None, str | None, dict[str, str]]:
    """Code, display message and values of a BatchError body; (None, None, {}) when it is not one."""
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        return None, None, {}
    if not isinstance(body, dict):
        return None, None, {}
    code = body.get("code") if isinstance(body.get("code"), str) else None
    raw_message = body.get("message")
    message = raw_message.get("value") if isinstance(raw_message, dict) else raw_message
    values: dict[str, str] = {}
    for item in body.get("values") or []:
        if isinstance(item, dict) and "key" in item:
            values[str(item["key"])] = str(item.get("value", ""))
    return code, message if isinstance(message, str) else None, values


def _first_line(message: str) -> str:
    # message.value embeds "\nRequestId:…\nTime:…" (section 7.1); the request id is shown separately.
    return message.strip().splitlines()[0] if message.strip() else ""


def _error_class(status: int, code: str) -> type[BatchError]:
    if status == 404:
        return NotFound
    if status == 409:
        exists = code.endswith("Exists") and not _OTHER_KIND_EXISTS.search(code)
        return Exists if exists else Conflict
    if status == 412:
        return PreconditionFailed
    if status in (401, 403):
        return AuthenticationFailed
    if status in (429, 503):
        return Throttled
    return BatchError


def error_from_response(response: httpx.Response, action: str | None = None) -> BatchError:
    """The one place an error response becomes a `BatchError` of the right subtype."""
    code, message, values = _parse_body(response)
    if code is None:
        code = response.reason_phrase.replace(" ", "") or f"Http{response.status_code}"
    if message is None:
        text = response.text if response.content else ""
        message = text[:_MAX_NON_JSON_MESSAGE] or response.reason_phrase
    request = response.request
    cls = _error_class(response.status_code, code)
    return cls(
        status=response.status_code,
        code=code,
        message=redact_text(_first_line(message)),
        request_id=response.headers.get("request-id"),
        values={k: redact_text(v) for k, v in values.items()},
        method=request.method,
        path=redact_url(request.url),
        action=action,
    )
