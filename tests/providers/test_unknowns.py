"""Unknown inputs at preview: check and diff of every resource say what they can, never an error; only a
known wrong value is refused. Provider methods are called as the host calls them (unknowns as
`pulumi.output.Unknown`), against the real local service."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from pulumi.output import Unknown

from providers import job_link
from providers._base import ProviderFailure
from providers.client import BatchClient
from providers.collection import BatchTaskCollectionProvider, encode_tasks
from providers.job import BatchJobProvider
from providers.job_link import LiveJobRules, refusal_text
from providers.policy import policy_failures
from providers.schedule import BatchJobScheduleProvider
from providers.task import BatchTaskProvider
from providers.waiting import count_line


def unknown() -> Any:
    """A preview-time unknown, as the provider host hands it to check() and diff()."""
    return Unknown()  # type: ignore[no-untyped-call]


def reasons(result: Any) -> list[str]:
    return [f.reason for f in result.failures]


def new_job(client: BatchClient, **fields: Any) -> str:
    """A live job on the local pool, with one task t1."""
    job_id = f"u-{uuid.uuid4().hex[:8]}"
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}, "priority": 1, **fields})
    client.create_task(job_id, {"id": "t1", "commandLine": "/bin/true"})
    return job_id


# --- check --------------------------------------------------------------------------------------------------

def test_job_check_skips_unknown_fields_and_still_refuses_known_wrong_ones() -> None:
    spec = {"id": "j", "poolInfo": {"poolId": unknown()}, "priority": unknown(), "maxParallelTasks": 0}
    result = BatchJobProvider().check({}, {"spec": spec})
    assert reasons(result) == [("spec.maxParallelTasks: maxParallelTasks must be at least -1 except 0 "
                                "[rule: range]")]
    assert BatchJobProvider().check({}, {"spec": unknown()}).failures == []


def test_task_check_accepts_an_unknown_job_id_and_refuses_a_missing_or_malformed_one() -> None:
    body = {"id": "t", "commandLine": "/bin/true"}
    assert BatchTaskProvider().check({}, {"job_id": unknown(), "spec": body}).failures == []
    assert reasons(BatchTaskProvider().check({}, {"spec": body})) == [
        "job_id: required: give job=<BatchJob> or job_id=<the id of the task's job>"]
    assert reasons(BatchTaskProvider().check({}, {"job_id": "bad id!", "spec": body})) == [
        "job_id: a job id has 1 to 64 letters, digits, '-' or '_'"]


def test_job_rules_not_known_yet_refuse_nothing_that_depends_on_them() -> None:
    rules = {"usesTaskDependencies": unknown(), "onTaskFailure": "noaction"}
    depends = {"id": "t", "commandLine": "x", "dependsOn": {"taskIds": ["a"]}}
    action = {"id": "t", "commandLine": "x", "exitConditions": {"default": {"jobAction": "terminate"}}}
    assert BatchTaskProvider().check({}, {"job_id": "j", "job_rules": rules, "spec": depends}).failures == []
    refused = reasons(BatchTaskProvider().check({}, {"job_id": "j", "job_rules": rules, "spec": action}))
    assert refused == [("spec.exitConditions.default.jobAction: jobAction needs the job's onTaskFailure to be "
                        "performexitoptionsjobaction [rule: cross-field:job-action-needs-exit-options]")]


def test_a_policy_does_not_judge_a_value_before_it_is_known() -> None:
    spec = {"id": "j", "priority": unknown(), "constraints": unknown(), "poolInfo": {"poolId": "p"}}
    assert policy_failures("job", spec, {"priorityRange": [0, 10], "requireMaxWallClockTime": True}) == []
    assert policy_failures("job", {**spec, "priority": 50}, {"priorityRange": [0, 10]}) != []


def test_a_collection_with_unknown_tasks_or_job_id_is_checked_once_known() -> None:
    provider = BatchTaskCollectionProvider()
    assert provider.check({}, {"job_id": "j", "tasks": unknown()}).failures == []
    tasks = encode_tasks([{"id": "a", "commandLine": "x"}])
    assert provider.check({}, {"job_id": unknown(), "tasks": tasks}).failures == []


# --- diff against the live service ----------------------------------------------------------------------------

def test_an_unknown_patchable_field_is_an_update_and_an_unknown_id_a_replace(client: BatchClient) -> None:
    job_id = new_job(client)
    spec = {"id": job_id, "poolInfo": {"poolId": "local"}, "priority": unknown()}
    update = BatchJobProvider().diff(job_id, {}, {"spec": spec})
    assert update.changes is True and update.replaces == []
    assert job_link.JOB_PLANS.outcome(job_id) == job_link.UPDATE
    replace = BatchJobProvider().diff(job_id, {}, {"spec": {**spec, "id": unknown()}})
    assert replace.changes is True and replace.replaces == ["spec.id"]
    whole = BatchJobProvider().diff(job_id, {}, {"spec": unknown()})
    assert whole.changes is True and whole.replaces == ["spec"]
    assert job_link.JOB_PLANS.outcome(job_id) == job_link.REPLACE


def test_a_task_whose_job_id_is_unknown_follows_its_jobs_plan(client: BatchClient) -> None:
    job_id = new_job(client)
    olds = {"job_id": job_id, "spec": {"id": "t1", "commandLine": "/bin/true"}}
    news = {**olds, "job_id": unknown()}
    unrecorded = BatchTaskProvider().diff(f"{job_id}/t1", olds, news)
    assert unrecorded.changes is True and unrecorded.replaces == ["job_id"]  # may be replaced
    job_link.JOB_PLANS.record(job_id, job_link.UPDATE)
    in_place = BatchTaskProvider().diff(f"{job_id}/t1", olds, news)
    assert in_place.changes is False and in_place.replaces == []
    job_link.JOB_PLANS.record(job_id, job_link.REPLACE)
    assert BatchTaskProvider().diff(f"{job_id}/t1", olds, news).replaces == ["job_id"]


def test_a_task_field_not_known_yet_may_replace_the_task(client: BatchClient) -> None:
    job_id = new_job(client)
    olds = {"job_id": job_id, "spec": {"id": "t1", "commandLine": "/bin/true"}}
    result = BatchTaskProvider().diff(f"{job_id}/t1", olds, {**olds, "spec": {"id": "t1", "commandLine": unknown()}})
    assert result.changes is True and result.replaces == ["spec.commandLine"]


def test_a_collection_follows_its_jobs_plan_and_updates_when_its_tasks_are_unknown(client: BatchClient) -> None:
    job_id = new_job(client)
    tasks = encode_tasks([{"id": "t1", "commandLine": "/bin/true"}])
    olds = {"name": "c", "job_id": job_id, "tasks": tasks, "task_ids": '["t1"]'}
    provider = BatchTaskCollectionProvider()
    job_link.JOB_PLANS.record(job_id, job_link.SAME)
    assert provider.diff("c", olds, {**olds, "job_id": unknown()}).changes is False
    job_link.JOB_PLANS.record(job_id, job_link.REPLACE)
    assert provider.diff("c", olds, {**olds, "job_id": unknown()}).replaces == ["job_id"]
    unknown_tasks = provider.diff("c", olds, {**olds, "tasks": unknown()})
    assert unknown_tasks.changes is True and unknown_tasks.replaces == []


def test_a_schedule_with_unknown_values_says_what_may_change(client: BatchClient) -> None:
    schedule_id = f"s-{uuid.uuid4().hex[:8]}"
    spec = {"id": schedule_id, "schedule": {"recurrenceInterval": "PT1H"},
            "jobSpecification": {"poolInfo": {"poolId": "local"}}}
    client.create_job_schedule(spec)
    provider = BatchJobScheduleProvider()
    patched = provider.diff(schedule_id, {}, {"spec": {**spec, "metadata": unknown()}})
    assert patched.changes is True and patched.replaces == []
    assert provider.diff(schedule_id, {}, {"spec": unknown()}).replaces == ["spec"]
    client.delete_job_schedule(schedule_id)


# --- cross-resource rules from the live job -------------------------------------------------------------------

class CountingReads:
    """A client that counts job reads and passes them on to the service."""

    def __init__(self, client: BatchClient) -> None:
        self.client = client
        self.reads = 0

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        self.reads += 1
        return self.client.get_job(job_id)


def test_tasks_named_by_job_id_are_checked_against_the_live_job(client: BatchClient) -> None:
    job_id = new_job(client)
    body = {"id": "t9", "commandLine": "x", "dependsOn": {"taskIds": ["t1"]}}
    assert reasons(BatchTaskProvider().check({}, {"job_id": job_id, "spec": body})) == [
        ("spec.dependsOn: dependsOn needs the job's usesTaskDependencies to be true "
         "[rule: cross-field:depends-on-needs-task-dependencies]")]
    assert BatchTaskProvider().check({}, {"job_id": "no-such-job", "spec": body}).failures == []


def test_the_live_job_is_read_once_for_all_its_tasks_until_this_process_changes_it(client: BatchClient) -> None:
    job_id = new_job(client)
    counting = CountingReads(client)
    rules = LiveJobRules()
    for _ in range(5):
        read = rules.get(lambda: counting, job_id)  # type: ignore[arg-type, return-value]
        assert read is not None and read["usesTaskDependencies"] is False
    assert counting.reads == 1
    rules.forget(job_id)
    rules.get(lambda: counting, job_id)  # type: ignore[arg-type, return-value]
    assert counting.reads == 2


def test_a_service_refusal_of_a_job_dependent_rule_names_field_and_rule() -> None:
    assert refusal_text("TaskDependenciesNotSpecifiedOnJob", {"PropertyName": "dependsOn", "Reason": "no deps"}) \
        == ("spec.dependsOn: no deps (the service refused it: TaskDependenciesNotSpecifiedOnJob) "
            "[rule: cross-field:depends-on-needs-task-dependencies]")
    text = refusal_text("InvalidPropertyValue", {"PropertyName": "exitConditions.default.jobAction"})
    assert text is not None and text.endswith("[rule: cross-field:job-action-needs-exit-options]")
    assert refusal_text("InvalidPropertyValue", {"PropertyName": "priority"}) is None


def test_progress_counts_read_like_the_engine_shows_them() -> None:
    assert count_line({"completed": 412, "failed": 3, "running": 1}, 10000) == \
        "412/10000 completed, 3 failed, 1 running"
    assert count_line({"active": 2, "running": 1, "completed": 1, "failed": 0}) == \
        "1/4 completed, 0 failed, 1 running"


# --- a refusal at create leaves nothing behind --------------------------------------------------------------

def test_a_task_refused_by_the_service_for_a_job_rule_names_field_and_rule(client: BatchClient) -> None:
    job_id = new_job(client)
    spec = {"id": "t2", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["t1"]}}
    with pytest.raises(ProviderFailure) as refused:
        BatchTaskProvider().create({"job_id": job_id, "spec": spec})
    assert str(refused.value).startswith(f"creating task {job_id}/t2: spec.dependsOn: ")
    assert str(refused.value).endswith("[rule: cross-field:depends-on-needs-task-dependencies]")
    assert client.get_task(job_id, "t2") is None


def test_a_collection_the_service_refuses_in_part_deletes_the_tasks_it_added(client: BatchClient) -> None:
    job_id = new_job(client)
    tasks = [{"id": f"ok{i}", "commandLine": "/bin/true"} for i in range(150)]
    tasks.append({"id": "late", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["ok0"]}})
    props = {"name": "c", "job_id": job_id, "tasks": encode_tasks(tasks)}
    with pytest.raises(ProviderFailure) as refused:
        BatchTaskCollectionProvider().create(props)
    assert "task late: spec.dependsOn: " in str(refused.value)
    assert "[rule: cross-field:depends-on-needs-task-dependencies]" in str(refused.value)
    assert [t["id"] for t in client.list_tasks(job_id)] == ["t1"]  # only the task that was there before
