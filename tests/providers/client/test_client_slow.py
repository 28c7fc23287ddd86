"""BatchClient against a slow service: per-request timeout, retries, total deadline, error text."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from providers.client import BatchClient
from providers.client.errors import BatchError, DeadlineExceeded, TransportError
from providers.client.retry import RetryPolicy
from providers.client.settings import ConnectionSettings

ACCOUNT = "slowaccount"
KEY = "c2xvdy1zZXJ2aWNlLWtleS1uZXZlci1pbi1lcnJvcnM="  # base64 of a made-up key; must never show in errors
SLOW = 2.0  # seconds a "slow" answer takes; far above the client's per-request timeout below
TIMEOUT = 0.3


@dataclass
class Script:
    """What the slow server does: per request, a delay and a status; records what it received."""

    delays: list[float] = field(default_factory=list)
    default_delay: float = 0.0
    status: int = 200
    seen: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_delay(self, headers: dict[str, str]) -> float:
        """Record one request and say how long to sleep before answering it."""
        with self.lock:
            self.seen.append(headers)
            return self.delays.pop(0) if self.delays else self.default_delay


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def _answer(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        time.sleep(self.script.next_delay(headers))
        status = self.script.status
        body = {"id": "job-1", "state": "active"} if status < 400 else {
            "code": "InvalidRequest", "message": {"lang": "en-US", "value": "refused\nRequestId:srv-req-7"}}
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("request-id", "srv-req-7")
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up on this attempt and closed the connection: that is the point

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is expected here."""


@pytest.fixture()
def slow() -> Iterator[tuple[str, Script]]:
    """A loopback HTTP server that sleeps before answering, per its Script."""
    script = Script()
    handler = type("Handler", (_Handler,), {"script": script})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()
    thread.join(5)


def client_for(endpoint: str, *, total_deadline: float = 30.0, policy: RetryPolicy | None = None) -> BatchClient:
    """A Shared Key client with a short per-request timeout."""
    settings = ConnectionSettings(endpoint=endpoint, auth_mode="sharedKey", account_name=ACCOUNT,
                                  account_key=KEY, timeout=TIMEOUT, total_deadline=total_deadline)
    return BatchClient(settings, policy=policy)


def assert_no_key(error: BaseException) -> None:
    """The account key never reaches an error's text or repr."""
    for text in (str(error), repr(error), str(getattr(error, "last_error", ""))):
        assert KEY not in text and KEY[:16] not in text


def test_a_slow_answer_times_out_and_the_retry_gets_the_job(slow: tuple[str, Script]) -> None:
    endpoint, script = slow
    script.delays = [SLOW]
    with client_for(endpoint) as client:
        job = client.get_job("job-1")
        assert job == {"id": "job-1", "state": "active"}
        # The first attempt was cut at the per-request timeout, not waited out: had the client waited, that
        # attempt would have answered and no retry would have been made.
        assert client.retries.snapshot() == {"read_error": 1}
    assert len(script.seen) == 2
    # One client-request-id for every attempt of a call, so the service's logs tie the retries together.
    assert script.seen[0]["client-request-id"] == script.seen[1]["client-request-id"]
    assert all(h["authorization"].startswith(f"SharedKey {ACCOUNT}:") for h in script.seen)


def test_a_create_that_times_out_is_not_resent_and_says_it_may_have_been_applied(
        slow: tuple[str, Script]) -> None:
    endpoint, script = slow
    script.default_delay = SLOW
    with client_for(endpoint) as client, pytest.raises(TransportError) as failed:
        client.create_job({"id": "job-1", "poolInfo": {"poolId": "local"}})
    error = failed.value
    assert error.maybe_applied is True and error.attempts == 1 and error.method == "POST"
    assert "ReadTimeout" in str(error) and "may have acted" in str(error)
    assert "creating job 'job-1'" in str(error)
    assert len(script.seen) == 1  # a POST whose answer was lost is never re-sent blindly
    assert_no_key(error)


def test_retries_that_run_out_of_attempts_end_in_a_transport_error(slow: tuple[str, Script]) -> None:
    endpoint, script = slow
    script.default_delay = SLOW
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, total_deadline=30.0)
    with client_for(endpoint, policy=policy) as client, pytest.raises(TransportError) as failed:
        client.get_job("job-1")
    assert failed.value.attempts == 3 and failed.value.maybe_applied is True
    assert "reading job 'job-1': GET /jobs/job-1?api-version=2025-06-01: ReadTimeout" in str(failed.value)
    assert client.retries.snapshot() == {"read_error": 2}
    assert len(script.seen) == 3
    assert_no_key(failed.value)


def test_the_total_deadline_stops_retrying_with_deadline_exceeded(slow: tuple[str, Script]) -> None:
    endpoint, script = slow
    script.default_delay = SLOW
    deadline = 1.5
    with client_for(endpoint, total_deadline=deadline) as client, pytest.raises(DeadlineExceeded) as failed:
        client.get_job("job-1")
    error = failed.value
    # (How long it took is the retry policy's business, measured on a fake clock in test_retry.py.)
    assert 2 <= len(script.seen) <= 4  # it did retry, and the deadline, not max_attempts (6), stopped it
    assert isinstance(error.last_error, TransportError)
    assert "reading job 'job-1': gave up after" in str(error) and "ReadTimeout" in str(error)
    assert_no_key(error)


def test_an_error_answer_names_the_service_request_id_and_never_the_key(slow: tuple[str, Script]) -> None:
    endpoint, script = slow
    script.default_delay = 0.1
    script.status = 400
    with client_for(endpoint) as client, pytest.raises(BatchError) as failed:
        client.get_job("job-1")
    assert failed.value.status == 400 and failed.value.code == "InvalidRequest"
    assert "(request id srv-req-7)" in str(failed.value)
    assert_no_key(failed.value)


def test_a_timed_out_call_names_its_client_request_id(slow: tuple[str, Script]) -> None:
    endpoint, script = slow
    script.default_delay = SLOW
    with client_for(endpoint, total_deadline=1.0) as client, pytest.raises(DeadlineExceeded) as failed:
        client.get_job("job-1")
    assert script.seen[0]["client-request-id"] in str(failed.value)
