"""What the pool and node tests share (their service and client are the `node_service` and `client` fixtures
of conftest.py): small helpers for creating pools and jobs and for waiting on the service's own timers."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller

from tests.batch_service.conftest import NODE_SERVICE_SLOTS

T = TypeVar("T")
MAX_SLOTS = NODE_SERVICE_SLOTS
POLL = 0.1  # seconds between the SDK poller's reads
VM = {"imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
      "nodeAgentSKUId": "batch.node.ubuntu 22.04"}


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
