"""One retry policy for Batch calls (batch-api.md section 9), built on tenacity, with small named predicates.

Retried: 408/429/500/502/503/504 for idempotent methods; 429/503 for POST/PATCH as well, because Batch
answers them before acting; connection failures (nothing sent) for every method; failures after the request
was sent only for idempotent methods, since a POST that lost its answer may have created the thing.
`Retry-After` wins over the capped exponential backoff with jitter; max attempts and a total deadline bound
it all.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeAlias

import httpx
import tenacity

__all__ = [
    "IDEMPOTENT_METHODS",
    "NOT_APPLIED_STATUSES",
    "RETRYABLE_STATUSES",
    "Outcome",
    "RetryCounter",
    "RetryPolicy",
    "backoff_delay",
    "is_connect_error",
    "is_idempotent",
    "is_retryable_status",
    "retry_after_seconds",
    "retry_reason",
    "status_means_not_applied",
    "was_never_sent",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# 429 TooManyRequests and 503 ServerBusy are refusals before any work (section 9), safe to repeat for POST.
NOT_APPLIED_STATUSES = frozenset({429, 503})
# Failures while connecting: nothing reached the server, and trying again may well work.
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures that also happen before anything is sent, but will not go away by trying again.
_LOCAL_ERRORS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)

Result: TypeAlias = httpx.Response | httpx.TransportError


def is_idempotent(method: str) -> bool:
    """True for methods that may be repeated without changing the outcome (GET, HEAD, PUT, DELETE)."""
    return method.upper() in IDEMPOTENT_METHODS


def is_retryable_status(status: int) -> bool:
    """True for the statuses the service uses for transient trouble (408, 429, 500, 502, 503, 504)."""
    return status in RETRYABLE_STATUSES


def status_means_not_applied(status: int) -> bool:
    """True when the status guarantees the service did not act on the request (429, 503)."""
    return status in NOT_APPLIED_STATUSES


def is_connect_error(error: BaseException) -> bool:
    """True for a failure to connect (refused, connect timeout, no pooled connection): worth retrying."""
    return isinstance(error, _CONNECT_ERRORS)


def was_never_sent(error: BaseException) -> bool:
    """True when the request cannot have reached the server, so it cannot have been applied."""
    return isinstance(error, _CONNECT_ERRORS + _LOCAL_ERRORS)


def retry_reason(method: str, result: Result) -> str | None:
    """Why `result` of `method` deserves another attempt (a counter key), or None when it does not."""
    if isinstance(result, httpx.Response):
        status = result.status_code
        if not is_retryable_status(status):
            return None
        if is_idempotent(method) or status_means_not_applied(status):
            return f"http_{status}"
        return None
    if is_connect_error(result):
        return "connect_error"
    if not was_never_sent(result) and is_idempotent(method):
        return "read_error"
    return None


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Delay the server asked for: retry-after-ms / x-ms-retry-after-ms, or Retry-After (seconds or date)."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000.0)
            except ValueError:
                pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(retry_number: int, base: float, cap: float, rng: Callable[[], float] = random.random
                  ) -> float:
    """Capped exponential backoff with jitter: somewhere in [d/2, d] where d = min(cap, base * 2^(n-1))."""
    ceiling = min(cap, base * 2.0 ** max(0, retry_number - 1))
    return ceiling * (0.5 + 0.5 * rng())


class RetryCounter:
    """Thread-safe count of retries by reason (`http_503`, `connect_error`, `read_error`, …)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, reason: str) -> None:
        """Count one retry for `reason`."""
        with self._lock:
            self._counts[reason] = self._counts.get(reason, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts so far."""
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        """All retries so far."""
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._counts.clear()

    def __repr__(self) -> str:
        return f"RetryCounter({self.snapshot()})"


@dataclass(frozen=True)
class Outcome:
    """The last result of a retried call and why the policy stopped (None when the result is final)."""

    result: Result
    attempts: int
    elapsed: float
    gave_up: str | None

    @property
    def response(self) -> httpx.Response | None:
        """The last response, if the last attempt got one."""
        return self.result if isinstance(self.result, httpx.Response) else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RetryPolicy:
    """Runs one attempt function until it succeeds, is not retryable, or attempts / the deadline run out."""

    def __init__(
        self,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        total_deadline: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
        rng: Callable[[], float] = random.random,
        counter: RetryCounter | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.total_deadline = total_deadline
        self.sleep = sleep
        self.clock = clock
        self.now = now
        self.rng = rng
        self.counter = counter if counter is not None else RetryCounter()

    def __repr__(self) -> str:
        return (f"RetryPolicy(max_attempts={self.max_attempts}, base_delay={self.base_delay}, "
                f"max_delay={self.max_delay}, total_deadline={self.total_deadline})")

    def delay_for(self, result: Result, retry_number: int) -> float:
        """Seconds to wait before the next attempt: the server's Retry-After if any, else backoff."""
        if isinstance(result, httpx.Response):
            asked = retry_after_seconds(result.headers, self.now())
            if asked is not None:
                return asked
        return backoff_delay(retry_number, self.base_delay, self.max_delay, self.rng)

    def run(self, method: str, attempt: Callable[[float], httpx.Response]) -> Outcome:
        """Call `attempt(seconds_left)` under this policy; httpx transport errors come back as results."""
        start = self.clock()

        def left() -> float:
            return self.total_deadline - (self.clock() - start)

        def one_attempt() -> Result:
            try:
                return attempt(max(left(), 0.0))
            except httpx.TransportError as error:
                return error

        def should_retry(state: tenacity.RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None or outcome.failed:
                return False
            return retry_reason(method, outcome.result()) is not None

        def wait(state: tenacity.RetryCallState) -> float:
            assert state.outcome is not None
            return self.delay_for(state.outcome.result(), state.attempt_number)

        def out_of_attempts(state: tenacity.RetryCallState) -> bool:
            return state.attempt_number >= self.max_attempts

        def stop(state: tenacity.RetryCallState) -> bool:
            # Checked after the wait is chosen: never sleep past the deadline only to give up after.
            return out_of_attempts(state) or state.upcoming_sleep >= left()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            assert state.outcome is not None
            result = state.outcome.result()
            self.counter.add(retry_reason(method, result) or "unknown")
            if isinstance(result, httpx.Response):
                result.close()

        def give_up(state: tenacity.RetryCallState) -> Outcome:
            assert state.outcome is not None
            why = "attempts" if out_of_attempts(state) else "deadline"
            return Outcome(state.outcome.result(), state.attempt_number, self.clock() - start, why)

        retrying = tenacity.Retrying(sleep=self.sleep, stop=stop, wait=wait, retry=should_retry,
                                     before_sleep=before_sleep, retry_error_callback=give_up)
        final = retrying(one_attempt)
        if isinstance(final, Outcome):
            return final
        attempts = retrying.statistics.get("attempt_number", 1)
        return Outcome(final, attempts, self.clock() - start, None)
