"""Durable state: stop the service, start it on the same data directory, and read back byte-identical bodies."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.batch_service.conftest import create_job, create_task, run_service, signed_client
from tests.support.service import RunningService


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _populate(api: httpx.Client) -> None:
    create_job(api, "plain", priority=7, metadata=[{"name": "team", "value": "render"}])
    create_job(api, "with-manager", jobManagerTask={"id": "manager", "commandLine": "/bin/true"})
    create_job(api, "disabled")
    api.post("/jobs/disabled/disable", json={"disableTasks": "wait"})
    create_job(api, "finished")
    create_task(api, "plain", "t1", constraints={"maxTaskRetryCount": 2})
    api.post("/jobs/plain/addtaskcollection",
             json={"value": [{"id": f"batch{index}", "commandLine": "/bin/true"} for index in range(20)]})
    api.post("/jobs/plain/tasks/batch3/terminate")
    api.post("/jobs/finished/terminate")
    api.patch("/jobs/plain", json={"maxParallelTasks": 2})
    api.post("/pools", json={"id": "extra", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 2,
                             "virtualMachineConfiguration": {
                                 "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
                                 "nodeAgentSKUId": "batch.node.ubuntu 22.04"}})


def _snapshot(api: httpx.Client) -> dict[str, bytes]:
    paths = ["/jobs", "/pools", "/jobs/plain", "/jobs/plain/tasks", "/jobs/plain/tasks/batch3",
             "/jobs/with-manager/tasks", "/jobs/disabled", "/jobs/finished", "/pools/extra", "/jobs/plain/taskcounts"]
    snapshot = {}
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, response.text
        snapshot[path] = response.content
        snapshot[path + " ETag"] = response.headers.get("ETag", "").encode()
    return snapshot


def test_restart_reads_back_byte_identical_state(tmp_path: Path) -> None:
    port = str(_free_port())
    with run_service(tmp_path / "svc", "--port", port) as first, signed_client(first) as api:
        _populate(api)
        before = _snapshot(api)
    with run_service(tmp_path / "svc", "--port", port) as second:
        assert second.endpoint == first.endpoint
        with signed_client(second) as api:
            after = _snapshot(api)
            create_task(api, "plain", "after-restart")
            assert api.get("/jobs/plain/tasks/after-restart").json()["eTag"] > \
                api.get("/jobs/plain/tasks/batch3").json()["eTag"]
    assert after == before


def test_a_job_being_deleted_finishes_deleting_after_a_restart(tmp_path: Path) -> None:
    with run_service(tmp_path / "svc", "--delete-delay", "0.5") as first, signed_client(first) as api:
        create_job(api, "doomed")
        assert api.delete("/jobs/doomed").status_code == 202
    with run_service(tmp_path / "svc", "--delete-delay", "0.5") as second, signed_client(second) as api:
        _wait_until_gone(api, "/jobs/doomed", second)


def _wait_until_gone(api: httpx.Client, path: str, service: RunningService) -> None:
    deadline = time.monotonic() + 5
    while api.get(path).status_code != 404:
        assert time.monotonic() < deadline, f"{path} still exists on {service.endpoint}"
        time.sleep(0.05)
