"""The retry policy: named predicates, Retry-After, capped backoff, attempts, deadline (no real sleeping)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
import pytest

from providers.client.retry import (
    RetryPolicy,
    backoff_delay,
    is_idempotent,
    is_retryable_status,
    retry_after_seconds,
    retry_reason,
    status_means_not_applied,
    was_never_sent,
)
from tests.support.fake_time import FakeTime

REQUEST = httpx.Request("GET", "http://127.0.0.1:1/jobs")



def policy(fake: FakeTime, max_attempts: int = 6, total_deadline: float = 120.0) -> RetryPolicy:
    """The default policy with fake time and no jitter (rng pinned to the top of the range)."""
    return RetryPolicy(max_attempts=max_attempts, total_deadline=total_deadline, sleep=fake.sleep,
                       clock=fake.clock, rng=lambda: 1.0)


def scripted(results: Sequence[httpx.Response | Exception]) -> Callable[[float], httpx.Response]:
    """An attempt function that returns or raises the scripted results in order."""
    remaining = list(results)

    def attempt(seconds_left: float) -> httpx.Response:
        item = remaining.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return attempt


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQUEST)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 413, 501])
def test_client_errors_and_501_are_not_retryable(status: int) -> None:
    assert not is_retryable_status(status)


def test_idempotent_methods_are_get_head_put_delete_not_post_patch() -> None:
    assert [m for m in ("GET", "HEAD", "PUT", "DELETE", "POST", "PATCH") if is_idempotent(m)] == [
        "GET", "HEAD", "PUT", "DELETE"]


def test_only_429_and_503_guarantee_the_request_was_not_applied() -> None:
    assert [s for s in (408, 429, 500, 502, 503, 504) if status_means_not_applied(s)] == [429, 503]


@pytest.mark.parametrize(("method", "status", "reason"), [
    ("GET", 500, "http_500"), ("DELETE", 504, "http_504"), ("PUT", 408, "http_408"),
    ("POST", 429, "http_429"), ("PATCH", 503, "http_503"),
    ("POST", 500, None), ("POST", 502, None), ("PATCH", 504, None), ("GET", 404, None), ("POST", 409, None),
])
def test_retry_reason_for_responses(method: str, status: int, reason: str | None) -> None:
    assert retry_reason(method, response(status)) == reason


def test_connection_errors_are_retried_for_every_method() -> None:
    for method in ("GET", "POST", "PATCH"):
        assert retry_reason(method, httpx.ConnectError("refused")) == "connect_error"
        assert retry_reason(method, httpx.ConnectTimeout("slow")) == "connect_error"


def test_read_errors_after_sending_are_retried_only_for_idempotent_methods() -> None:
    assert retry_reason("GET", httpx.ReadTimeout("late")) == "read_error"
    assert retry_reason("DELETE", httpx.RemoteProtocolError("closed")) == "read_error"
    assert retry_reason("POST", httpx.ReadError("reset")) is None
    assert retry_reason("PATCH", httpx.ReadTimeout("late")) is None


def test_never_sent_distinguishes_connect_from_read_failures() -> None:
    assert was_never_sent(httpx.ConnectError("x")) and was_never_sent(httpx.UnsupportedProtocol("x"))
    assert not was_never_sent(httpx.ReadError("x")) and not was_never_sent(httpx.WriteTimeout("x"))


def test_retry_after_in_seconds_milliseconds_and_http_date() -> None:
    now = datetime(2025, 7, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "7"}), now) == 7.0
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"}), now) == 1.5
    assert retry_after_seconds(httpx.Headers({"x-ms-retry-after-ms": "250"}), now) == 0.25
    assert retry_after_seconds(httpx.Headers({"Retry-After": "Tue, 01 Jul 2025 12:00:12 GMT"}), now) == 12.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "Tue, 01 Jul 2025 11:00:00 GMT"}), now) == 0.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"}), now) is None
    assert retry_after_seconds(httpx.Headers({}), now) is None


def test_backoff_doubles_from_half_a_second_and_caps_at_twenty() -> None:
    top = [backoff_delay(n, 0.5, 20.0, rng=lambda: 1.0) for n in range(1, 9)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    assert backoff_delay(3, 0.5, 20.0, rng=lambda: 0.0) == 1.0


def test_policy_retries_503_then_returns_the_success() -> None:
    fake = FakeTime()
    p = policy(fake)
    outcome = p.run("GET", scripted([response(503), response(503), response(200)]))
    assert outcome.response is not None and outcome.response.status_code == 200
    assert (outcome.attempts, outcome.gave_up) == (3, None)
    assert fake.sleeps == [0.5, 1.0]
    assert p.counter.snapshot() == {"http_503": 2}


def test_retry_after_wins_over_backoff() -> None:
    fake = FakeTime()
    outcome = policy(fake).run("POST", scripted([response(429, {"Retry-After": "3"}), response(201)]))
    assert outcome.response is not None and outcome.response.status_code == 201
    assert fake.sleeps == [3.0]


def test_post_500_is_returned_without_retry() -> None:
    fake = FakeTime()
    outcome = policy(fake).run("POST", scripted([response(500), response(201)]))
    assert outcome.response is not None and outcome.response.status_code == 500
    assert (outcome.attempts, fake.sleeps) == (1, [])


def test_post_read_error_is_returned_as_the_result_not_retried() -> None:
    fake = FakeTime()
    outcome = policy(fake).run("POST", scripted([httpx.ReadTimeout("late"), response(201)]))
    assert isinstance(outcome.result, httpx.ReadTimeout) and outcome.attempts == 1


def test_connect_errors_and_read_errors_are_counted_apart() -> None:
    fake = FakeTime()
    p = policy(fake)
    outcome = p.run("GET", scripted([httpx.ConnectError("refused"), httpx.ReadError("reset"), response(200)]))
    assert outcome.response is not None and outcome.response.status_code == 200
    assert p.counter.snapshot() == {"connect_error": 1, "read_error": 1}


def test_policy_gives_up_after_max_attempts_with_the_last_response() -> None:
    fake = FakeTime()
    outcome = policy(fake, max_attempts=3).run("GET", scripted([response(502)] * 3))
    assert outcome.response is not None and outcome.response.status_code == 502
    assert (outcome.attempts, outcome.gave_up, len(fake.sleeps)) == (3, "attempts", 2)


def test_policy_never_sleeps_past_the_total_deadline() -> None:
    fake = FakeTime()
    outcome = policy(fake, total_deadline=10.0).run(
        "GET", scripted([response(503, {"Retry-After": "4"})] * 2 + [response(503, {"Retry-After": "30"})]))
    assert (outcome.attempts, outcome.gave_up) == (3, "deadline")
    assert fake.sleeps == [4.0, 4.0]


def test_attempt_function_sees_the_time_left() -> None:
    fake = FakeTime()
    seen: list[float] = []

    def attempt(seconds_left: float) -> httpx.Response:
        seen.append(seconds_left)
        return response(503 if len(seen) < 3 else 200)

    policy(fake, total_deadline=60.0).run("GET", attempt)
    assert seen == [60.0, 59.5, 58.5]


def test_programming_errors_propagate_untouched() -> None:
    fake = FakeTime()
    with pytest.raises(KeyError):
        policy(fake).run("GET", scripted([KeyError("bug")]))
    assert fake.sleeps == []
