"""The backend driven directly (no HTTP): state tables, the scheduler-facing methods, the Lifecycle calls."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch_service.backend import states
from batch_service.backend.account import Backend
from batch_service.backend.errors import BatchServiceError
from batch_service.backend.store import Store


class RecordingLifecycle:
    """Records each Lifecycle call with the job state the backend had committed at that moment."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any) -> None:
            job_state = self.backend.get_job(args[0])["state"] if name.startswith("job_") else None
            self.calls.append((name, *args, job_state))
        return record


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    store = Store(tmp_path / "state.sqlite3")
    service = Backend(store, tmp_path, delete_delay=0.0)
    service.load()
    yield service
    store.close()


def _job_with_task(backend: Backend) -> None:
    backend.create_job({"id": "job", "poolInfo": {"poolId": "local"}, "constraints": {"maxTaskRetryCount": 1}})
    backend.create_task("job", {"id": "task", "commandLine": "/bin/true"})


def test_every_rule_names_only_known_states() -> None:
    for rule in [*states.JOB_RULES.values()]:
        assert (rule.acts_in | rule.no_op_in) <= set(states.JOB_STATES)
    for rule in states.TASK_RULES.values():
        assert rule.acts_in <= set(states.TASK_STATES)
    for from_state, to_state in states.JOB_TRANSITIONS:
        assert {from_state, to_state} <= set(states.JOB_STATES)


def test_transition_task_follows_the_table_and_keeps_history(backend: Backend) -> None:
    _job_with_task(backend)
    before = backend.get_task("job", "task")
    running = backend.transition_task("job", "task", "running",
                                      executionInfo={"startTime": "2025-07-01T12:00:00.0000000Z"},
                                      nodeInfo={"nodeId": "node-1", "poolId": "local"})
    assert (running["state"], running["previousState"]) == ("running", "active")
    assert running["previousStateTransitionTime"] == before["stateTransitionTime"]
    assert running["eTag"] != before["eTag"] and running["lastModified"] == running["stateTransitionTime"]
    assert running["executionInfo"] == {"retryCount": 0, "requeueCount": 0,
                                        "startTime": "2025-07-01T12:00:00.0000000Z"}
    with pytest.raises(states.InvalidTransition):
        backend.transition_task("job", "task", "preparing")
    done = backend.transition_task("job", "task", "completed",
                                   executionInfo={"exitCode": 0, "result": "success"}, nodeInfo=None)
    assert "nodeInfo" not in done and done["executionInfo"]["exitCode"] == 0


def test_update_task_info_merges_execution_info_without_a_state_change(backend: Backend) -> None:
    _job_with_task(backend)
    backend.update_task_info("job", "task", executionInfo={"retryCount": 1, "lastRetryTime": "x"})
    task = backend.update_task_info("job", "task", executionInfo={"lastRetryTime": None})
    assert task["state"] == "active" and "previousState" not in task
    assert task["executionInfo"] == {"retryCount": 1, "requeueCount": 0}
    with pytest.raises(TypeError):
        backend.update_task_info("job", "task", commandLine="changed")


def test_a_task_that_succeeded_cannot_be_reactivated(backend: Backend) -> None:
    _job_with_task(backend)
    backend.transition_task("job", "task", "running")
    backend.transition_task("job", "task", "completed", executionInfo={"exitCode": 0, "result": "success"})
    with pytest.raises(BatchServiceError) as raised:
        backend.reactivate_task("job", "task")
    assert (raised.value.status, raised.value.code) == (409, "TaskSucceeded")


def test_changes_survive_reloading_the_store(backend: Backend, tmp_path: Path) -> None:
    _job_with_task(backend)
    backend.transition_task("job", "task", "running", executionInfo={"startTime": "2025-07-01T12:00:00.0000000Z"})
    backend.set_subtasks("job", "task", [{"id": 1, "state": "running"}])
    expected_task, expected_job = backend.get_task("job", "task"), backend.get_job("job")
    store = Store(tmp_path / "state.sqlite3")
    reloaded = Backend(store, tmp_path)
    reloaded.load()
    assert reloaded.get_task("job", "task") == expected_task
    assert reloaded.get_job("job") == expected_job
    assert reloaded.subtasks("job", "task") == [{"id": 1, "state": "running"}]
    store.close()


def test_lifecycle_hears_of_each_change_after_it_is_committed(backend: Backend) -> None:
    lifecycle = RecordingLifecycle(backend)
    backend.lifecycle = lifecycle
    _job_with_task(backend)
    backend.disable_job("job", "requeue")
    assert backend.finish_disable("job") and not backend.finish_disable("job")
    backend.enable_job("job")
    backend.finish_enable("job")
    backend.terminate_task("job", "task")
    backend.terminate_job("job", "MaxWallClockTimeExpiry")
    assert backend.get_job("job")["executionInfo"]["terminateReason"] == "MaxWallClockTimeExpiry"
    backend.finish_terminate("job")
    assert lifecycle.calls == [
        ("job_added", "job", "active"),
        ("tasks_added", "job", ["task"], None),
        ("job_disabling", "job", "requeue", "disabling"),
        ("job_enabling", "job", "enabling"),
        ("task_terminating", "job", "task", None),
        ("job_terminating", "job", "MaxWallClockTimeExpiry", "terminating"),
    ]
    assert backend.get_job("job")["state"] == "completed"


def test_reads_for_the_scheduler_are_copies(backend: Backend) -> None:
    _job_with_task(backend)
    copy = backend.get_job("job")
    copy["priority"] = 99
    copy["constraints"]["maxTaskRetryCount"] = 99
    assert backend.get_job("job")["constraints"]["maxTaskRetryCount"] == 1
    assert [task["id"] for task in backend.iter_tasks("job")] == ["task"]
    assert [job["id"] for job in backend.iter_jobs()] == ["job"]
    assert [pool["id"] for pool in backend.iter_pools()] == ["local"]


def test_task_files_live_under_the_node_directory(backend: Backend, tmp_path: Path) -> None:
    assert backend.task_dir("job", "task") == tmp_path / "node" / "workitems" / "job" / "job-1" / "task"
    assert backend.node_root == tmp_path / "node"


def test_the_default_pool_exists_and_cannot_be_deleted(backend: Backend) -> None:
    assert backend.get_pool("local")["taskSlotsPerNode"] == 8
    with pytest.raises(BatchServiceError) as raised:
        backend.delete_pool("local")
    assert raised.value.status == 409
