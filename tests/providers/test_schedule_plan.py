"""The BatchJobSchedule diff (providers/schedule.py): which changes replace, which PATCH, what preview says."""
from __future__ import annotations

from typing import Any

from providers.schedule import FIXED, FUTURE_JOBS, PATCHABLE, SchedulePlan
from providers.schema import change_rule_markdown

LIVE: dict[str, Any] = {
    "id": "Nightly", "url": "http://127.0.0.1/jobschedules/Nightly", "eTag": "0x1", "state": "active",
    "schedule": {"doNotRunUntil": "2026-01-01T00:00:00.0000000Z", "recurrenceInterval": "PT60M"},
    "jobSpecification": {"priority": 5, "poolInfo": {"poolId": "local"}, "onAllTasksComplete": "noaction"},
    "metadata": [{"name": "b", "value": "2"}, {"name": "a", "value": "1"}],
    "executionInfo": {"recentJob": {"id": "Nightly-job-1"}},
}
DESIRED: dict[str, Any] = {
    "id": "nightly", "schedule": {"doNotRunUntil": "2026-01-01T00:00:00Z", "recurrenceInterval": "PT1H"},
    "jobSpecification": {"priority": 5, "poolInfo": {"poolId": "local"}},
    "metadata": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}],
}


def test_equal_values_in_other_spellings_are_no_change() -> None:
    assert not SchedulePlan(DESIRED, LIVE).has_changes


def test_job_specification_change_is_a_patch_that_applies_to_future_jobs() -> None:
    desired = {**DESIRED, "jobSpecification": {"priority": 100, "poolInfo": {"poolId": "local"}}}
    plan = SchedulePlan(desired, LIVE)
    assert plan.replaces == []
    assert plan.patch_body(desired) == {"jobSpecification": desired["jobSpecification"]}
    assert plan.describe() == [f"~ spec.jobSpecification.priority: update in place (PATCH); {FUTURE_JOBS}"]


def test_display_name_change_replaces_the_schedule() -> None:
    plan = SchedulePlan({**DESIRED, "displayName": "renamed"}, LIVE)
    assert plan.replaces == ["spec.displayName"]


def test_removed_metadata_is_patched_to_an_empty_list() -> None:
    desired = {key: value for key, value in DESIRED.items() if key != "metadata"}
    assert SchedulePlan(desired, LIVE).patch_body(desired) == {"metadata": []}


def test_a_missing_schedule_is_planned_as_created() -> None:
    plan = SchedulePlan(DESIRED, None)
    assert plan.gone and plan.describe()[0].startswith("+ the job schedule no longer exists")


def test_the_schedule_plan_takes_its_fixed_and_patched_fields_from_the_rule_table() -> None:
    assert FIXED == ("id", "displayName")
    assert PATCHABLE == ("schedule", "jobSpecification", "metadata")
    rows = [line for line in change_rule_markdown().splitlines() if line.startswith("| BatchJobSchedule |")]
    assert [row.split("|")[2].strip() for row in rows] == [f"`{name}`" for name in FIXED + PATCHABLE]
