"""What the pool and node tests share: a service that runs real processes with quick resizes on a 4-slot
machine, the SDK client for it, and small helpers for waiting on the service's own timers."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller

from tests.service.conftest import sdk_client
from tests.support.service import RunningService, start_service

T = TypeVar("T")
MAX_SLOTS = 4
POLL = 0.1  # seconds between the SDK poller's reads
VM = {"imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
      "nodeAgentSKUId": "batch.node.ubuntu 22.04"}


@pytest.fixture(scope="module")
def node_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service that runs tasks as processes, with 1-second resizes (long enough to see `resizing` even on a
    busy machine) and a 4-slot machine."""
    with start_service(tmp_path_factory.mktemp("node-service"), "--runner", "process", "--resize-delay", "1",
                       "--max-slots", str(MAX_SLOTS), "--delete-delay", "0.3") as running:
        yield running


@pytest.fixture
def client(node_service: RunningService) -> Iterator[BatchClient]:
    """The official SDK for node_service, retries off."""
    with sdk_client(node_service) as sdk:
        yield sdk


def wait_until(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    """Read until `done` holds (the service changes state on its own timers), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {timeout}s"
        time.sleep(0.05)


def add_pool(client: BatchClient, pool_id: str, **fields: Any) -> None:
    """Create a pool with the required VM fields and `fields`."""
    client.create_pool(models.BatchPoolCreateOptions({"id": pool_id, "vmSize": "standard_d2s_v3",
                                                      "virtualMachineConfiguration": VM, **fields}))


def add_job(client: BatchClient, job_id: str, pool_id: str, tasks: dict[str, str]) -> None:
    """Create a job on the pool and one task per (id, command line)."""
    client.create_job(models.BatchJobCreateOptions(id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    for task_id, command in tasks.items():
        client.create_task(job_id, models.BatchTaskCreateOptions(id=task_id, command_line=command))


def resize(client: BatchClient, pool_id: str, **options: Any) -> LROPoller[None]:
    """Start a resize; the SDK's poller reads the pool until it is steady again."""
    return client.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(**options),
                                    polling_interval=POLL)  # type: ignore[arg-type]


def task_state(client: BatchClient, job_id: str, task_id: str) -> str | None:
    """The task's state as its wire value."""
    state = client.get_task(job_id, task_id).state
    return None if state is None else str(state.value)


def steady(client: BatchClient, pool_id: str) -> models.BatchPool:
    """The pool once its allocationState is steady again."""
    return wait_until(lambda: client.get_pool(pool_id), lambda pool: pool.allocation_state == "steady")


def refused(call: Callable[[], object]) -> tuple[int, str]:
    """(HTTP status, BatchError code) of a call the service refuses."""
    with pytest.raises(HttpResponseError) as raised:
        call()
    assert raised.value.error is not None
    return raised.value.status_code or 0, str(raised.value.error.code)
