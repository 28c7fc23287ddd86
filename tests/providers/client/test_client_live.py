"""BatchClient against the real local Batch service over HTTP on 127.0.0.1 (a real process per module).

These prove the client and the service agree on the wire: Shared Key signatures, api-version, paging, ETags,
error bodies, asynchronous deletes and file downloads. Each test uses its own job ids.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from providers.client import BatchClient
from providers.client.errors import AuthenticationFailed, Exists, NotFound, PreconditionFailed, TransportError
from providers.client.settings import ConnectionSettings
from tests.support.service import RunningService, start_service

OTHER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    flags = ("--delete-delay", "0.3", "--runner", "process")
    with start_service(tmp_path_factory.mktemp("svc"), *flags) as running:
        yield running
    if running.process.stdout is not None:
        # start_service leaves the pipe open after the process ends; close it so no ResourceWarning fires.
        running.process.stdout.close()


def settings_for(service: RunningService, key: str | None = None) -> ConnectionSettings:
    return ConnectionSettings(service.endpoint, "sharedKey", service.account_name, key or service.account_key,
                              total_deadline=30.0)


@pytest.fixture
def client(service: RunningService) -> Iterator[BatchClient]:
    with BatchClient(settings_for(service)) as batch:
        yield batch


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def requests_seen(service: RunningService) -> int:
    stats = httpx.get(f"{service.endpoint}/_local/stats").json()
    return int(stats["requests"])


def read_task(client: BatchClient, job_id: str, task_id: str) -> dict[str, Any]:
    task = client.get_task(job_id, task_id)
    assert task is not None, f"task {task_id} of job {job_id} is missing"
    return task


def wait_task_completed(client: BatchClient, job_id: str, task_id: str,
                        timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = read_task(client, job_id, task_id)
        if task["state"] == "completed" or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def test_job_create_read_patch_with_etag_delete_and_wait(client: BatchClient) -> None:
    job_id = unique("life")
    etag = client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    job = client.get_job(job_id)
    assert job is not None and (job["id"], job["state"]) == (job_id, "active")
    assert etag == job["eTag"]
    new_etag = client.patch_job(job_id, {"priority": 5}, if_match=etag)
    assert new_etag and new_etag != etag
    patched = client.get_job(job_id)
    assert patched is not None and patched["priority"] == 5
    with pytest.raises(PreconditionFailed) as stale:
        client.patch_job(job_id, {"priority": 6}, if_match=etag)
    assert (stale.value.status, stale.value.code) == (412, "ConditionNotMet")
    assert client.delete_job(job_id) is True
    client.wait_job_deleted(job_id, timeout=30)
    assert client.get_job(job_id) is None
    assert client.delete_job(job_id) is False


def test_duplicate_job_is_exists_with_the_service_code(client: BatchClient) -> None:
    job_id = unique("dup")
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    with pytest.raises(Exists) as caught:
        client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    assert (caught.value.status, caught.value.code) == (409, "JobExists")
    assert caught.value.request_id and str(caught.value).startswith(f"creating job '{job_id}': POST /jobs")


def test_list_jobs_follows_pages_and_filters(client: BatchClient, service: RunningService) -> None:
    ids = {unique("page") for _ in range(3)}
    for job_id in ids:
        client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    before = requests_seen(service)
    pages = client.list_jobs(filter="state eq 'active'", select="id,state", max_results=1)
    listed = {job["id"] for job in pages}
    assert ids <= listed
    assert requests_seen(service) - before >= len(listed)


def test_task_collection_paging_constraints_counts_and_delete(client: BatchClient) -> None:
    job_id = unique("tasks")
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    results = client.add_task_collection(job_id, [{"id": f"t{i}", "commandLine": f"echo hello-{i}"}
                                                  for i in range(3)])
    assert sorted((r["taskId"], r["status"]) for r in results) == [
        ("t0", "success"), ("t1", "success"), ("t2", "success")]
    assert client.create_task(job_id, {"id": "solo", "commandLine": "echo solo"})
    with pytest.raises(Exists) as duplicate:
        client.create_task(job_id, {"id": "solo", "commandLine": "echo solo"})
    assert (duplicate.value.status, duplicate.value.code) == (409, "TaskExists")
    assert sorted(t["id"] for t in client.list_tasks(job_id, max_results=2)) == ["solo", "t0", "t1", "t2"]
    etag = read_task(client, job_id, "t2")["eTag"]
    assert client.put_task(job_id, "t2", {"maxTaskRetryCount": 2}, if_match=etag) != etag
    assert read_task(client, job_id, "t2")["constraints"]["maxTaskRetryCount"] == 2
    counts = client.get_task_counts(job_id)["taskCounts"]
    assert sum(counts[k] for k in ("active", "running", "completed")) == 4
    assert client.delete_task(job_id, "t0") is True
    assert client.get_task(job_id, "t0") is None and client.delete_task(job_id, "t0") is False


def test_a_finished_task_has_its_output_files_readable(client: BatchClient) -> None:
    job_id = unique("files")
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    command = "/bin/sh -c 'echo hello-1; echo spaced > \"out file.txt\"'"
    client.create_task(job_id, {"id": "t1", "commandLine": command})
    task = wait_task_completed(client, job_id, "t1")
    assert (task["state"], task["executionInfo"].get("exitCode")) == ("completed", 0)
    assert client.get_task_file(job_id, "t1", "stdout.txt").strip() == b"hello-1"
    assert client.get_task_file(job_id, "t1", "stdout.txt", byte_range=(0, 4)) == b"hello"
    names = {f["name"] for f in client.list_task_files(job_id, "t1", recursive=True)}
    assert {"stdout.txt", "stderr.txt", "wd/out file.txt"} <= names
    assert client.get_task_file(job_id, "t1", "wd/out file.txt") == b"spaced\n"
    with pytest.raises(NotFound) as caught:
        client.get_task_file(job_id, "t1", "no-such-file.txt")
    assert (caught.value.status, caught.value.code) == (404, "FileNotFound")


def test_disable_enable_terminate_reach_their_states(client: BatchClient) -> None:
    job_id = unique("states")
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    client.disable_job(job_id, "requeue")
    assert client.wait_job_state(job_id, ["disabled"], timeout=30)["state"] == "disabled"
    client.enable_job(job_id)
    assert client.wait_job_state(job_id, ["active"], timeout=30)["state"] == "active"
    client.terminate_job(job_id, reason="done")
    job = client.wait_job_state(job_id, ["completed"], timeout=30)
    assert job["executionInfo"]["terminateReason"] == "done"


def test_the_default_pool_exists_and_a_missing_one_reads_as_none(client: BatchClient) -> None:
    pool = client.get_pool("local")
    assert pool is not None and pool["id"] == "local"
    assert client.get_pool(unique("nopool")) is None


def test_a_wrong_key_is_authentication_failed(service: RunningService) -> None:
    wrong_key = settings_for(service, OTHER_KEY)
    with BatchClient(wrong_key) as wrong, pytest.raises(AuthenticationFailed) as caught:
        wrong.get_job("anything")
    assert (caught.value.status, caught.value.code) == (403, "AuthenticationFailed")
    assert service.account_key not in str(caught.value) and OTHER_KEY not in str(caught.value)


@contextlib.contextmanager
def faults(service: RunningService, config: dict[str, Any]) -> Iterator[None]:
    """Switch the service's fault injection on for the block, and off again after."""
    httpx.put(f"{service.endpoint}/_local/faults", json=config).raise_for_status()
    try:
        yield
    finally:
        httpx.put(f"{service.endpoint}/_local/faults", json={"rate": 0.0}).raise_for_status()


def fault_counts(service: RunningService) -> dict[str, int]:
    return dict(httpx.get(f"{service.endpoint}/_local/stats").json()["faults"])


def test_injected_throttling_is_retried_and_every_retry_counted(service: RunningService) -> None:
    before = fault_counts(service)
    ids = [unique("busy") for _ in range(8)]
    with BatchClient(settings_for(service)) as batch, faults(
            service, {"seed": 7, "rate": 0.3, "kinds": ["503", "429"], "retryAfter": 0}):
        for job_id in ids:
            batch.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
            assert batch.get_job(job_id) is not None
        retried = batch.retries.snapshot()
    after = fault_counts(service)
    injected = {kind: after[kind] - before[kind] for kind in ("503", "429")}
    assert sum(injected.values()) > 0
    assert retried == {f"http_{kind}": n for kind, n in injected.items() if n}


def test_a_create_whose_answer_was_lost_is_maybe_applied_and_really_was(service: RunningService) -> None:
    job_id = unique("lost")
    with BatchClient(settings_for(service)) as batch:
        every_write_lost = {"seed": 1, "rate": 1.0, "kinds": ["lost"]}
        with faults(service, every_write_lost), pytest.raises(TransportError) as lost:
            batch.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
        assert lost.value.maybe_applied is True and lost.value.attempts == 1
        assert batch.get_job(job_id) is not None
        with pytest.raises(Exists) as again:
            batch.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
        assert (again.value.status, again.value.code) == (409, "JobExists")


def test_dropped_connections_on_reads_are_retried(service: RunningService, client: BatchClient) -> None:
    job_id = unique("drop")
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    no_wait = BatchClient(settings_for(service), sleep=lambda seconds: None)
    with no_wait as batch, faults(service, {"seed": 3, "rate": 0.4, "kinds": ["drop"]}):
        for _ in range(6):
            job = batch.get_job(job_id)
            assert job is not None and job["id"] == job_id
        assert batch.retries.snapshot().get("read_error", 0) > 0
