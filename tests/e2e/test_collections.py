"""Thousands of tasks: collections, factories, waiting, and 1,000 BatchTask resources."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi import automation as auto

from providers import BatchJob, BatchTask, BatchTaskCollection, ParametricSweep, with_merge_task
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e


def sweep_program(job_id: str, count: int, command: str = "/bin/true", retries: int = 0,
                  skip: set[int] | None = None) -> Callable[[], None]:
    """A job with a parametric sweep of `count` tasks (ids t0000…), minus `skip`."""
    def program() -> None:
        job = BatchJob("job", spec={"id": job_id, "poolInfo": {"poolId": "local"}})
        template = {"id": "t{i:04d}", "commandLine": command,
                    "constraints": {"maxTaskRetryCount": retries}}
        tasks = [t for t in ParametricSweep(template, {"i": range(count)}).expand()
                 if int(t["id"][1:]) not in (skip or set())]
        sweep = BatchTaskCollection("sweep", job=job, tasks=tasks)
        pulumi.export("count", sweep.task_count)
        pulumi.export("ids", sweep.task_ids)
    return program


def live_tasks(sdk: Any, job_id: str) -> dict[str, Any]:
    return {t.id: t for t in sdk.list_tasks(job_id)}


def test_a_thousand_task_sweep_reconciles_as_a_set(tmp_path: Path, service: RunningService, sdk: Any) -> None:
    run = new_stack(tmp_path, service, sweep_program("sweep-1k", 1000))
    up = run.up()
    assert up.outputs["count"].value == 1000
    assert up.outputs["ids"].value == [f"t{i:04d}" for i in range(1000)]  # a list, though held as one string
    before = live_tasks(sdk, "sweep-1k")
    assert len(before) == 1000

    again = run.preview(expect_no_changes=True)
    assert set(again.change_summary) == {"same"}

    # 10 more tasks, 5 removed (t0000-t0004), t0010 gets a new command (replace), all retries change (update).
    edited = sweep_program("sweep-1k", 1010, skip={0, 1, 2, 3, 4})
    preview = run.preview(edited)
    assert preview.change_summary.get("update") == 1
    assert "10 to create, 5 to delete, 0 to replace" in run.text
    run.up(edited)
    after = live_tasks(sdk, "sweep-1k")
    assert len(after) == 1005 and "t0000" not in after and "t1009" in after
    assert after["t0500"].creation_time == before["t0500"].creation_time

    retried = sweep_program("sweep-1k", 1010, retries=2, skip={0, 1, 2, 3, 4})
    run.up(retried)
    updated = live_tasks(sdk, "sweep-1k")
    assert updated["t0500"].constraints.max_task_retry_count == 2
    assert updated["t0500"].creation_time == before["t0500"].creation_time

    run.stack.destroy(color="never")
    assert [j for j in sdk.list_jobs() if j.id == "sweep-1k" and j.state != "deleting"] == []


def test_waited_sweep_with_merge_exports_exit_codes_and_the_deferred_job_completes(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    def program() -> None:
        job = BatchJob("job", spec={"id": "merge-job", "poolInfo": {"poolId": "local"},
                                    "usesTaskDependencies": True, "onAllTasksComplete": "terminatejob"},
                       defer_completion=True)
        parts = ParametricSweep({"id": "part{n:02d}", "commandLine": "/bin/sh -c 'echo part {n}'"},
                                {"n": range(5)}).expand()
        tasks = with_merge_task(parts, {"id": "merge", "commandLine": "/bin/echo merged"})
        sweep = BatchTaskCollection("sweep", job=job, tasks=tasks,
                                    wait_for_completion={"timeout": "PT2M", "success": "exitCodeZero"})
        pulumi.export("exit_codes", sweep.exit_codes)
        pulumi.export("counts", sweep.counts)

    run = new_stack(tmp_path, service, program)
    up = run.up()
    assert up.outputs["exit_codes"].value == {**{f"part{n:02d}": 0 for n in range(5)}, "merge": 0}
    assert up.outputs["counts"].value == {"completed": 6, "succeeded": 6, "failed": 0}
    # defer_completion: created as `noaction` (an empty job would complete at once), switched to
    # `terminatejob` once every task was in, so the job ends by itself after its last task.
    assert sdk.get_job("merge-job").all_tasks_complete_mode == "terminatejob"
    deadline = time.monotonic() + 120
    while sdk.get_job("merge-job").state != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sdk.get_job("merge-job").state == "completed"
    run.stack.destroy(color="never")


def test_a_failing_task_makes_up_fail_with_its_id_and_reason(tmp_path: Path, service: RunningService) -> None:
    def program() -> None:
        job = BatchJob("job", spec={"id": "fail-job", "poolInfo": {"poolId": "local"}})
        BatchTask("bad", job=job, spec={"id": "bad", "commandLine": "/bin/sh -c 'echo broken input >&2; exit 7'"},
                  wait_for_completion={"timeout": "PT1M"})

    run = new_stack(tmp_path, service, program)
    with pytest.raises(auto.errors.CommandError) as failed:
        run.up()
    message = str(failed.value)
    assert "fail-job/bad" in message and "exit code 7" in message and "broken input" in message
    run.stack.destroy(color="never")


@pytest.mark.slow
def test_a_thousand_batch_task_resources_in_one_program(tmp_path: Path, service: RunningService,
                                                        sdk: Any) -> None:
    def program() -> None:
        job = BatchJob("job", spec={"id": "many-resources", "poolInfo": {"poolId": "local"}})
        for n in range(1000):
            BatchTask(f"task-{n}", job=job, spec={"id": f"task-{n}", "commandLine": "/bin/true"})

    # Checkpoints are the engine's full-state rewrite after every step (quadratic in resources); this test is
    # about the program side (the SDK's RecursionError), so it turns them off.
    run = new_stack(tmp_path, service, program, extra_env={"PULUMI_SKIP_CHECKPOINTS": "true"})
    up = run.up()
    assert up.summary.resource_changes == {"create": 1002}
    assert len(live_tasks(sdk, "many-resources")) == 1000
    run.stack.destroy(color="never")
