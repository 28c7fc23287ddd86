"""The official azure-batch 15.1.0 SDK as a real client (Shared Key, retries off), including every documented
example body in tests/fixtures/examples/."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tests.batch_service.conftest import example
from tests.support.service import RunningService

TASK_EXAMPLES = ["task-create-basic.json", "task-create-container.json", "task-create-container-data-isolation.json",
                 "task-create-container-duplicate-source.json", "task-create-extra-slots.json"]


def _job_body(name: str, job_id: str) -> dict[str, Any]:
    return {**example(name), "id": job_id}


def _new_job(sdk: BatchClient, job_id: str, **fields: Any) -> None:
    sdk.create_job(models.BatchJobCreateOptions({"id": job_id, "poolInfo": {"poolId": "local"}, **fields}))


def test_job_create_basic_example(sdk: BatchClient, uid: str) -> None:
    sdk.create_job(models.BatchJobCreateOptions(_job_body("job-create-basic.json", uid)))
    job = sdk.get_job(uid)
    assert (job.id, job.state, job.priority, job.pool_info.pool_id) == (uid, models.BatchJobState.ACTIVE, 0, "poolId")
    assert job.execution_info.pool_id == "poolId"


def test_job_create_full_example_with_auto_pool_and_job_manager(sdk: BatchClient, uid: str) -> None:
    sdk.create_job(models.BatchJobCreateOptions(_job_body("job-create-full.json", uid)))
    job = sdk.get_job(uid)
    assert job.priority == 100
    assert job.constraints.max_task_retry_count == -1
    assert job.constraints.max_wall_clock_time == dt.timedelta(hours=1)
    assert job.job_manager_task.kill_job_on_completion is False
    assert job.job_manager_task.run_exclusive is True
    assert job.execution_info.pool_id.startswith("mypool_")
    assert sdk.pool_exists(job.execution_info.pool_id)
    assert [task.id for task in sdk.list_tasks(uid)] == ["taskId"]
    assert sdk.get_task(uid, "taskId").required_slots == 2


def test_job_example_with_removed_pool_fields_is_refused_naming_them(sdk: BatchClient, uid: str) -> None:
    with pytest.raises(HttpResponseError) as raised:
        sdk.create_job(models.BatchJobCreateOptions(_job_body("job-create-full-with-removed-pool-fields.json", uid)))
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "InvalidRequestBody"
    assert "certificateReferences" in str(raised.value) and "targetNodeCommunicationMode" in str(raised.value)
    with pytest.raises(ResourceNotFoundError):
        sdk.get_job(uid)


@pytest.mark.parametrize("name", TASK_EXAMPLES)
def test_task_examples_are_created_and_read_back(sdk: BatchClient, uid: str, name: str) -> None:
    _new_job(sdk, uid)
    body = example(name)
    sdk.create_task(uid, models.BatchTaskCreateOptions(body))
    task = sdk.get_task(uid, body["id"])
    assert task.command_line == body["commandLine"]
    assert task.required_slots == body.get("requiredSlots", 1)
    assert task.state == models.BatchTaskState.ACTIVE
    if "containerSettings" in body:
        assert task.container_settings.image_name == body["containerSettings"]["imageName"]


def test_exit_conditions_example_needs_performexitoptionsjobaction(sdk: BatchClient, uid: str) -> None:
    body = example("task-create-exit-conditions.json")
    _new_job(sdk, f"{uid}-noaction")
    with pytest.raises(HttpResponseError) as raised:
        sdk.create_task(f"{uid}-noaction", models.BatchTaskCreateOptions(body))
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "InvalidPropertyValue"
    _new_job(sdk, uid, onTaskFailure="performexitoptionsjobaction")
    sdk.create_task(uid, models.BatchTaskCreateOptions(body))
    ranges = sdk.get_task(uid, "taskId").exit_conditions.exit_code_ranges
    assert (ranges[0].start, ranges[0].end, ranges[0].exit_options.job_action) == (2, 4, "terminate")


def test_duplicate_job_is_resource_exists(sdk: BatchClient, uid: str) -> None:
    _new_job(sdk, uid)
    with pytest.raises(ResourceExistsError) as raised:
        _new_job(sdk, uid.upper())
    assert raised.value.error is not None and raised.value.error.code == "JobExists"


def test_update_and_replace_through_the_sdk(sdk: BatchClient, uid: str) -> None:
    _new_job(sdk, uid, priority=3, metadata=[{"name": "a", "value": "b"}])
    sdk.update_job(uid, models.BatchJobUpdateOptions(max_parallel_tasks=2))
    job = sdk.get_job(uid)
    assert (job.priority, job.max_parallel_tasks, job.metadata[0].name) == (3, 2, "a")
    sdk.replace_job(uid, models.BatchJob(pool_info=models.BatchPoolInfo(pool_id="local"), priority=7))
    job = sdk.get_job(uid)
    assert (job.priority, job.max_parallel_tasks, job.metadata) == (7, -1, None)


def test_create_tasks_helper_chunks_a_big_collection(sdk: BatchClient, uid: str) -> None:
    _new_job(sdk, uid)
    tasks = [models.BatchTaskCreateOptions(id=f"t{index:03d}", command_line="/bin/true") for index in range(250)]
    result = sdk.create_tasks(uid, tasks)
    assert len(result.result_values) == 250
    assert {item.status for item in result.result_values} == {models.BatchTaskAddStatus.SUCCESS}
    listed = [task.id for task in sdk.list_tasks(uid, max_results=100)]
    assert sorted(listed) == [f"t{index:03d}" for index in range(250)]
    counts = sdk.get_job_task_counts(uid)
    assert counts.task_counts.active == 250


def test_list_jobs_with_filter_and_select(sdk: BatchClient, uid: str) -> None:
    for index in range(3):
        _new_job(sdk, f"{uid}-{index}")
    found = list(sdk.list_jobs(filter=f"startswith(id,'{uid}') and state eq 'active'", select=["id", "state"],
                               max_results=1))
    assert [job.id for job in found] == [f"{uid}-{index}" for index in range(3)]
    assert all(job.priority is None for job in found)


def test_task_verbs_through_the_sdk(sdk: BatchClient, uid: str) -> None:
    _new_job(sdk, uid)
    sdk.create_task(uid, models.BatchTaskCreateOptions(id="t1", command_line="/bin/true"))
    sdk.replace_task(uid, "t1", models.BatchTask(constraints=models.BatchTaskConstraints(max_task_retry_count=4)))
    assert sdk.get_task(uid, "t1").constraints.max_task_retry_count == 4
    sdk.terminate_task(uid, "t1")
    assert sdk.get_task(uid, "t1").state == models.BatchTaskState.COMPLETED
    sdk.reactivate_task(uid, "t1")
    assert sdk.get_task(uid, "t1").state == models.BatchTaskState.ACTIVE
    assert list(sdk.list_subtasks(uid, "t1")) == []
    sdk.delete_task(uid, "t1")
    with pytest.raises(ResourceNotFoundError):
        sdk.get_task(uid, "t1")


def test_job_long_running_operations_through_the_sdk(sdk: BatchClient, uid: str) -> None:
    _new_job(sdk, uid)
    sdk.begin_disable_job(uid, models.BatchJobDisableOptions(disable_tasks="requeue"), polling_interval=0).result()
    assert sdk.get_job(uid).state == models.BatchJobState.DISABLED
    sdk.begin_enable_job(uid, polling_interval=0).result()
    assert sdk.get_job(uid).state == models.BatchJobState.ACTIVE
    # The SDK cannot send terminate without options (it serialises a None content type), so give a reason.
    sdk.begin_terminate_job(uid, {"terminateReason": "Finished"}, polling_interval=0).result()
    job = sdk.get_job(uid)
    assert (job.state, job.execution_info.termination_reason) == (models.BatchJobState.COMPLETED, "Finished")
    sdk.begin_delete_job(uid, polling_interval=0).result()
    with pytest.raises(ResourceNotFoundError):
        sdk.get_job(uid)


def test_task_files_through_the_sdk(sdk: BatchClient, service: RunningService, uid: str) -> None:
    _new_job(sdk, uid)
    sdk.create_task(uid, models.BatchTaskCreateOptions(id="t1", command_line="/bin/true"))
    task_dir: Path = service.data_dir / "node" / "workitems" / uid / "job-1" / "t1"
    (task_dir / "wd").mkdir(parents=True)
    (task_dir / "wd" / "out.txt").write_text("0123456789")
    names = [entry.name for entry in sdk.list_task_files(uid, "t1", recursive=True)]
    assert names == ["wd", "wd/out.txt"]
    assert b"".join(sdk.download_task_file(uid, "t1", "wd/out.txt", ocp_range="bytes=2-5")) == b"2345"
    properties = sdk.get_task_file_properties(uid, "t1", "wd/out.txt")
    assert (properties.content_length, properties.is_directory) == (10, False)
    sdk.delete_task_file(uid, "t1", "wd/out.txt")
    assert not (task_dir / "wd" / "out.txt").exists()


def test_pools_through_the_sdk(sdk: BatchClient, uid: str) -> None:
    sdk.create_pool(models.BatchPoolCreateOptions(id=uid, vm_size="standard_d2s_v3", target_dedicated_nodes=1,
                                                  virtual_machine_configuration=models.VirtualMachineConfiguration(
                                                      image_reference=models.BatchVmImageReference(
                                                          publisher="canonical", offer="ubuntu", sku="22_04-lts"),
                                                      node_agent_sku_id="batch.node.ubuntu 22.04")))
    assert sdk.pool_exists(uid)
    with pytest.raises(ResourceNotFoundError):  # the SDK's exception policy turns the HEAD 404 into an error
        sdk.pool_exists(f"{uid}-missing")
    assert sdk.get_pool(uid).vm_size == "standard_d2s_v3"
    assert uid in [pool.id for pool in sdk.list_pools()]
    sdk.begin_delete_pool(uid, polling_interval=0).result()
    with pytest.raises(ResourceNotFoundError):
        sdk.get_pool(uid)


def test_sdk_signature_over_time_out_and_bodiless_posts_is_accepted(sdk: BatchClient, uid: str) -> None:
    # The SDK signs query names as sent (`timeOut`) and Content-Length "0" for a bodiless POST (section 8.2).
    _new_job(sdk, uid)
    assert sdk.get_job(uid, service_timeout=30).id == uid
    sdk.begin_disable_job(uid, models.BatchJobDisableOptions(disable_tasks="wait"), polling_interval=0).result()
    sdk.begin_enable_job(uid, service_timeout=30, polling_interval=0).result()
    assert sdk.get_job(uid).state == models.BatchJobState.ACTIVE
