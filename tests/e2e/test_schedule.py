"""BatchJobSchedule through the real engine against the local service."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from azure.core.exceptions import ResourceNotFoundError

from providers import BatchJobSchedule
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e

START = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_program(schedule_id: str, priority: int) -> Callable[[], None]:
    """One schedule due now that recurs hourly, whose jobs run on the local pool."""
    def program() -> None:
        schedule = BatchJobSchedule("nightly", spec={
            "id": schedule_id,
            "schedule": {"doNotRunUntil": START, "recurrenceInterval": "PT1H"},
            "jobSpecification": {"priority": priority, "poolInfo": {"poolId": "local"},
                                 "constraints": {"maxWallClockTime": "PT1H"}},
            "metadata": [{"name": "team", "value": "e2e"}]})
        pulumi.export("state", schedule.state)
        pulumi.export("schedule_id", schedule.schedule_id)
    return program


def _first_job(sdk: Any, schedule_id: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(sdk.list_jobs_from_schedule(schedule_id))
        if jobs:
            return jobs[0]
        time.sleep(0.2)
    raise AssertionError(f"the service created no job for schedule {schedule_id} within {timeout}s")


def test_schedule_creates_jobs_and_a_job_spec_change_is_an_in_place_update(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    run = new_stack(tmp_path, service, schedule_program("e2e-sched", 5))
    up = run.up()
    assert up.summary.result == "succeeded"
    assert up.outputs["state"].value == "active" and up.outputs["schedule_id"].value == "e2e-sched"
    job = _first_job(sdk, "e2e-sched")
    assert job.id == "e2e-sched-job-1" and job.priority == 5

    steady = run.preview(schedule_program("e2e-sched", 5), expect_no_changes=True)
    assert set(steady.change_summary) == {"same"}

    preview = run.preview(schedule_program("e2e-sched", 100))
    assert preview.change_summary.get("update") == 1 and "replace" not in preview.change_summary
    assert "spec.jobSpecification.priority" in run.text
    assert "applies to jobs created after the update; the current job keeps its specification" in run.text
    before = sdk.get_job_schedule("e2e-sched")
    up = run.up(schedule_program("e2e-sched", 100))
    assert up.summary.resource_changes.get("update") == 1
    after = sdk.get_job_schedule("e2e-sched")
    assert after.job_specification.priority == 100 and after.creation_time == before.creation_time
    assert sdk.get_job("e2e-sched-job-1").priority == 5  # the current job keeps its specification

    run.stack.destroy(color="never")
    with pytest.raises(ResourceNotFoundError):
        sdk.get_job_schedule("e2e-sched")
    with pytest.raises(ResourceNotFoundError):
        sdk.get_job("e2e-sched-job-1")  # deleting a schedule deletes its jobs (6.8)
