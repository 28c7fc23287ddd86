"""A small signed HTTP client for the scheduler tests: add jobs and tasks, wait for states, read task files.

Waiting polls GET with a deadline and returns as soon as the state is reached; no test sleeps blindly.
"""
from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from batch_service.backend.ids import ticks_from_iso
from tests.support.service import RunningService, start_service
from tests.support.sharedkey import SharedKeyAuth

API_VERSION = "2025-06-01"
POLL_SECONDS = 0.05
Model = dict[str, Any]


class BatchApi:
    """Signed requests to one running local service."""

    def __init__(self, service: RunningService) -> None:
        self.service = service
        self.http = httpx.Client(base_url=service.endpoint, timeout=15,
                                 auth=SharedKeyAuth(service.account_name, service.account_key),
                                 params={"api-version": API_VERSION})

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None,
             **params: str) -> httpx.Response:
        headers = {"Content-Type": "application/json; odata=minimalmetadata"} if body is not None else {}
        response = self.http.request(method, path, json=body, headers=headers, params=params or None)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def add_job(self, body: Model) -> None:
        self.call("POST", "/jobs", {"poolInfo": {"poolId": "local"}, **body}, expect=201)

    def add_pool(self, body: Model) -> None:
        base = {"vmSize": "standard_d2s_v3", "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
            "nodeAgentSKUId": "batch.node.ubuntu 22.04"}}
        self.call("POST", "/pools", {**base, **body}, expect=201)

    def add_task(self, job_id: str, body: Model) -> None:
        self.call("POST", f"/jobs/{job_id}/tasks", body, expect=201)

    def add_tasks(self, job_id: str, bodies: list[Model]) -> None:
        for start in range(0, len(bodies), 100):
            response = self.call("POST", f"/jobs/{job_id}/addtaskcollection", {"value": bodies[start:start + 100]},
                                 expect=200)
            assert all(item["status"] == "success" for item in response.json()["value"]), response.text

    def job(self, job_id: str) -> Model:
        return self.call("GET", f"/jobs/{job_id}", expect=200).json()  # type: ignore[no-any-return]

    def task(self, job_id: str, task_id: str) -> Model:
        return self.call("GET", f"/jobs/{job_id}/tasks/{task_id}", expect=200).json()  # type: ignore[no-any-return]

    def tasks(self, job_id: str) -> list[Model]:
        return self.call("GET", f"/jobs/{job_id}/tasks", expect=200).json()["value"]  # type: ignore[no-any-return]

    def file(self, job_id: str, task_id: str, path: str) -> str:
        return self.call("GET", f"/jobs/{job_id}/tasks/{task_id}/files/{path}", expect=200).text

    def wait_task(self, job_id: str, task_id: str, state: str = "completed", timeout: float = 20) -> Model:
        return wait_for(lambda: self.task(job_id, task_id), lambda task: task["state"] == state, timeout,
                        f"task {job_id}/{task_id} to be {state}")

    def wait_tasks(self, job_id: str, state: str = "completed", timeout: float = 30) -> list[Model]:
        return wait_for(lambda: self.tasks(job_id), lambda tasks: all(t["state"] == state for t in tasks),
                        timeout, f"every task of {job_id} to be {state}")

    def wait_job(self, job_id: str, state: str, timeout: float = 20) -> Model:
        return wait_for(lambda: self.job(job_id), lambda job: job["state"] == state, timeout,
                        f"job {job_id} to be {state}")


@contextmanager
def running_api(data_dir: Path, *flags: str) -> Iterator[BatchApi]:
    """Start the service with `flags` and yield a client for it; stop both afterwards."""
    with start_service(data_dir, *flags) as service:
        client = BatchApi(service)
        try:
            yield client
        finally:
            client.close()
    # start_service leaves the service's stdout pipe open once the process is gone; close it here.
    if service.process.stdout is not None:
        service.process.stdout.close()


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str) -> Any:
    """Read until `done` holds; fail with the last value read when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last read: {value}")
        time.sleep(POLL_SECONDS)


def seconds(timestamp: str) -> float:
    """A service timestamp as seconds (for comparing start and end times)."""
    return ticks_from_iso(timestamp) / 10_000_000


def interval(task: Model) -> tuple[float, float]:
    """(startTime, endTime) of a completed task in seconds."""
    info = task["executionInfo"]
    return seconds(info["startTime"]), seconds(info["endTime"])


def max_overlap(tasks: list[Model]) -> int:
    """The largest number of the tasks that ran at the same moment."""
    events = sorted([(start, 1) for start, _ in map(interval, tasks)] + [(end, -1) for _, end in map(interval, tasks)],
                    key=lambda event: (event[0], event[1]))
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_files(directory: Path) -> Iterator[str]:
    """Serve `directory` over HTTP on loopback (a stand-in for any reachable httpUrl)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
