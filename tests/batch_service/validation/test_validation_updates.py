"""Validation of the bodies that change existing resources: job PATCH/PUT, task update, disable, terminate,
and task collections (§2, §4)."""
from __future__ import annotations

import copy

import pytest

from batch_service.validation.bodies import (
    changes_pool,
    validate_job_disable,
    validate_job_patch,
    validate_job_put,
    validate_job_terminate,
    validate_task_collection,
    validate_task_update,
)
from tests.support.validation_bodies import accepted, assert_rejected, example, stored_job, task

# --- PATCH and PUT of a job ---------------------------------------------------------------------------------

def test_patch_accepts_every_updatable_field() -> None:
    accepted(validate_job_patch, {"priority": 5, "allowTaskPreemption": True, "maxParallelTasks": 4,
                        "constraints": {"maxWallClockTime": "PT2H", "maxTaskRetryCount": 1},
                        "poolInfo": {"poolId": "other"}, "onAllTasksComplete": "terminatejob",
                        "metadata": [{"name": "a", "value": "b"}],
                        "networkConfiguration": {"subnetId": "/s"}},
                       stored_job())


@pytest.mark.parametrize("field", ["jobManagerTask", "onTaskFailure", "id", "usesTaskDependencies"])
def test_patch_of_an_immutable_field_is_an_invalid_request_body(field: str) -> None:
    assert_rejected(validate_job_patch, ({field: "x", "priority": 1}, stored_job()),
                    "InvalidRequestBody", field)


def test_patch_cannot_turn_terminatejob_back_into_noaction() -> None:
    terminating = stored_job(onAllTasksComplete="terminatejob")
    assert_rejected(validate_job_patch, ({"onAllTasksComplete": "NoAction"}, terminating),
                    "InvalidPropertyValue", "onAllTasksComplete")
    validate_job_patch({"onAllTasksComplete": "terminatejob"}, stored_job(onAllTasksComplete="terminatejob"))
    validate_job_patch({"priority": 3}, stored_job(onAllTasksComplete="terminatejob"))


def test_patch_may_change_only_keep_alive_of_an_auto_pool() -> None:
    spec = example("job-create-full.json")["poolInfo"]["autoPoolSpecification"]
    # Stored as sent: the example already spells its enums as the service stores them (e.g. "job").
    current = stored_job(poolInfo={"autoPoolSpecification": copy.deepcopy(spec)})
    keep_alive = {"poolInfo": {"autoPoolSpecification": {**spec, "keepAlive": True,
                                                         "poolLifetimeOption": "Job"}}}
    validate_job_patch(keep_alive, current)
    renamed = {"poolInfo": {"autoPoolSpecification": {**spec, "autoPoolIdPrefix": "other"}}}
    assert_rejected(validate_job_patch, (renamed, current), "InvalidPropertyValue",
                    "poolInfo.autoPoolSpecification.autoPoolIdPrefix")
    resized = copy.deepcopy(spec)
    resized["pool"]["targetDedicatedNodes"] = 5
    assert_rejected(validate_job_patch, ({"poolInfo": {"autoPoolSpecification": resized}}, current),
                    "InvalidPropertyValue", "poolInfo.autoPoolSpecification.pool")


def test_changes_pool_tells_the_backend_when_the_job_must_be_disabled() -> None:
    current = stored_job(poolInfo={"poolId": "Pool-A"})
    assert changes_pool({"poolInfo": {"poolId": "pool-b"}}, current) is True
    assert changes_pool({"poolInfo": {"poolId": "pool-a"}}, current) is False
    assert changes_pool({"priority": 1}, current) is False
    auto = {"autoPoolSpecification": {"poolLifetimeOption": "job", "keepAlive": False}}
    assert changes_pool({"poolInfo": auto}, current) is True
    assert changes_pool({"poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "Job"}}},
                        stored_job(poolInfo=auto)) is False
    keep = {"autoPoolSpecification": {"poolLifetimeOption": "job", "keepAlive": True}}
    assert changes_pool({"poolInfo": keep}, stored_job(poolInfo=auto)) is True


def test_put_requires_pool_info() -> None:
    assert_rejected(validate_job_put, ({"priority": 1}, stored_job()), "MissingRequiredProperty", "poolInfo")
    validate_job_put({"poolInfo": {"poolId": "pool"}, "priority": 1, "metadata": []}, stored_job())


def test_put_without_on_all_tasks_complete_cannot_reset_a_terminatejob_job() -> None:
    terminating = stored_job(onAllTasksComplete="terminatejob")
    assert_rejected(validate_job_put, ({"poolInfo": {"poolId": "pool"}}, terminating),
                    "InvalidPropertyValue", "onAllTasksComplete")


def test_put_cannot_set_read_only_network_configuration() -> None:
    body = {"poolInfo": {"poolId": "pool"}, "networkConfiguration": {"subnetId": "/s"}}
    assert_rejected(validate_job_put, (body, stored_job()), "InvalidRequestBody", "networkConfiguration")


# --- task update, disable, terminate, task collections ------------------------------------------------------

def test_task_update_accepts_only_constraints() -> None:
    validate_task_update({"constraints": {"maxWallClockTime": "PT1H", "retentionTime": "P1D",
                                          "maxTaskRetryCount": 2}})
    validate_task_update({})
    assert_rejected(validate_task_update, ({"commandLine": "x"},), "InvalidRequestBody", "commandLine")
    assert_rejected(validate_task_update, ({"constraints": {"retentionTime": "soon"}},),
                    "InvalidPropertyValue", "constraints.retentionTime")


def test_disable_needs_a_known_disable_tasks_option() -> None:
    validate_job_disable({"disableTasks": "Requeue"})
    assert_rejected(validate_job_disable, ({"disableTasks": "later"},),
                    "InvalidPropertyValue", "disableTasks")


def test_terminate_takes_an_optional_reason() -> None:
    validate_job_terminate(None)
    validate_job_terminate({})
    validate_job_terminate({"terminateReason": "done"})
    assert_rejected(validate_job_terminate, ({"terminateReason": 5},),
                    "InvalidPropertyValue", "terminateReason")
    assert_rejected(validate_job_terminate, ({"force": True},), "InvalidRequestBody", "force")


def test_a_task_collection_holds_at_most_100_tasks() -> None:
    validate_task_collection({"value": [task(id=f"t{i}") for i in range(100)]}, stored_job())
    too_many = {"value": [task(id=f"t{i}") for i in range(101)]}
    assert_rejected(validate_task_collection, (too_many, stored_job()), "InvalidPropertyValue", "value")


def test_a_task_collection_rejects_the_same_id_twice_in_any_case() -> None:
    body = {"value": [task(id="a"), task(id="b"), task(id="B")]}
    assert_rejected(validate_task_collection, (body, stored_job()), "InvalidPropertyValue", "value[2].id")


def test_each_task_of_a_collection_is_validated_with_its_index_in_the_path() -> None:
    body = {"value": [task(id="a"), {"id": "b"}]}
    assert_rejected(validate_task_collection, (body, stored_job()),
                    "MissingRequiredProperty", "value[1].commandLine")
    deps = {"value": [task(id="a"), task(id="b", dependsOn={"taskIds": ["a"]})]}
    assert_rejected(validate_task_collection, (deps, stored_job()), "TaskDependenciesNotSpecifiedOnJob",
                    "value[1].dependsOn")
