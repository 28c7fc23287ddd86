"""diff_job / diff_task: normalisation (reference 5.3), each change rule, and preview lines without secrets."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from providers.diff import DiffPlan, FieldChange, diff_job, diff_task, normalise_job, normalise_task
from providers.schema.durations import UNLIMITED_TEXT

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
SAS = "sv=2025-01-05&sr=c&sp=r&sig=Zm9vYmFyU0VDUkVU%3D"
PASSWORD = "registry-Pa55word-never-shown"
ENV_VALUE = "env-value-never-shown"


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return loaded


def _live_job(spec: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """What GET /jobs/{id} returns for a job created from spec: read-only fields plus the 5.3 defaults."""
    live = copy.deepcopy(spec)
    live.setdefault("priority", 0)
    live.setdefault("maxParallelTasks", -1)
    live.setdefault("allowTaskPreemption", False)
    live.setdefault("usesTaskDependencies", False)
    live.setdefault("onAllTasksComplete", "noaction")
    live.setdefault("onTaskFailure", "noaction")
    constraints = live.setdefault("constraints", {})
    constraints.setdefault("maxWallClockTime", UNLIMITED_TEXT)
    constraints.setdefault("maxTaskRetryCount", 0)
    live.update({
        "odata.metadata": "https://acct/$metadata#jobs/@Element", "url": f"https://acct/jobs/{spec['id']}",
        "eTag": "0x8DD0000000000001", "lastModified": "2025-07-01T12:00:00.1234567Z",
        "creationTime": "2025-07-01T12:00:00.1234567Z", "state": "active",
        "stateTransitionTime": "2025-07-01T12:00:00.1234567Z", "previousState": "disabled",
        "previousStateTransitionTime": "2025-07-01T11:00:00Z",
        "executionInfo": {"startTime": "2025-07-01T12:00:00Z", "poolId": "generated-pool-id-0001"},
        "stats": {"readIOps": "12345", "numSucceededTasks": "3", "wallClockTime": "PT1M"},
    })
    live.update(overrides)
    return live


def _live_task(spec: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """What GET .../tasks/{id} returns for a task created from spec (defaults as the service reports them)."""
    live = copy.deepcopy(spec)
    live.setdefault("requiredSlots", 1)
    live.setdefault("userIdentity", {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}})
    constraints = live.setdefault("constraints", {})
    constraints.setdefault("maxWallClockTime", UNLIMITED_TEXT)
    constraints.setdefault("retentionTime", "P7D")
    constraints.setdefault("maxTaskRetryCount", 0)
    live.update({
        "url": "https://acct/jobs/j/tasks/t", "eTag": "0x8DD0000000000002", "lastModified": "2025-07-01T12:00:00Z",
        "creationTime": "2025-07-01T12:00:00Z", "state": "running", "stateTransitionTime": "2025-07-01T12:00:01Z",
        "previousState": "active", "previousStateTransitionTime": "2025-07-01T12:00:00Z",
        "executionInfo": {"retryCount": 0, "requeueCount": 0, "startTime": "2025-07-01T12:00:01Z"},
        "nodeInfo": {"poolId": "pool-1", "nodeId": "tvm-1"}, "stats": {"readIOps": "0"},
    })
    live.update(overrides)
    return live


def _job(**fields: Any) -> dict[str, Any]:
    return {"id": "job-1", "poolInfo": {"poolId": "pool-1"}, **fields}


def _task(**fields: Any) -> dict[str, Any]:
    return {"id": "task-1", "commandLine": "/bin/sh -c true", **fields}


def _only(plan: DiffPlan) -> FieldChange:
    assert len(plan.changes) == 1, plan.describe()
    return plan.changes[0]


# --- no change after normalisation ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["job-create-basic.json", "job-create-full.json"])
def test_a_job_read_back_with_service_defaults_and_read_only_fields_has_no_changes(name: str) -> None:
    spec = _example(name)
    assert diff_job(spec, _live_job(spec)).changes == []


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("task-*.json")))
def test_a_task_read_back_with_service_defaults_has_no_changes(name: str) -> None:
    spec = _example(name)
    assert diff_task(spec, _live_task(spec), job_max_task_retry_count=0).changes == []


def test_durations_compare_as_values() -> None:
    spec = _job(constraints={"maxWallClockTime": "PT1H"})
    live = _live_job(spec, constraints={"maxWallClockTime": "PT01H00M00S", "maxTaskRetryCount": 0})
    assert diff_job(spec, live).changes == []


def test_unlimited_duration_equals_an_omitted_one() -> None:
    spec = _job(constraints={"maxWallClockTime": UNLIMITED_TEXT})
    assert diff_job(spec, _live_job(_job())).changes == []
    assert diff_job(_job(), _live_job(spec)).changes == []


def test_enums_compare_case_insensitively() -> None:
    spec = _job(onAllTasksComplete="noAction", onTaskFailure="performExitOptionsJobAction")
    live = _live_job(spec, onAllTasksComplete="noaction", onTaskFailure="performexitoptionsjobaction")
    assert diff_job(spec, live).changes == []


def test_ids_compare_case_insensitively() -> None:
    spec = _job(id="Render-Job", poolInfo={"poolId": "Pool-A"})
    assert diff_job(spec, _live_job(_job(id="render-job", poolInfo={"poolId": "POOL-A"}))).changes == []


def test_an_auto_pool_jobs_generated_pool_id_is_not_a_change() -> None:
    spec = _example("job-create-full.json")
    live = _live_job(spec)
    live["poolInfo"]["poolId"] = "mypool_6f5c1e2a"  # a service that echoes it in poolInfo as well
    assert diff_job(spec, live).changes == []


def test_pulumi_floats_compare_equal_to_the_services_ints() -> None:
    spec = _job(priority=100.0, maxParallelTasks=4.0, constraints={"maxTaskRetryCount": 2.0})
    live = _live_job(_job(priority=100, maxParallelTasks=4, constraints={"maxTaskRetryCount": 2}))
    assert diff_job(spec, live).changes == []


def test_absent_lists_equal_empty_lists() -> None:
    assert diff_job(_job(metadata=[]), _live_job(_job())).changes == []
    assert diff_task(_task(), _live_task(_task(resourceFiles=[], environmentSettings=[]))).changes == []


def test_metadata_and_environment_settings_compare_as_sets_by_name() -> None:
    metadata = [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]
    env = [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    spec = _job(metadata=metadata, commonEnvironmentSettings=env)
    live = _live_job(_job(metadata=metadata[::-1], commonEnvironmentSettings=env[::-1]))
    assert diff_job(spec, live).changes == []


def test_resource_file_order_matters() -> None:
    files = [{"httpUrl": "https://a/1", "filePath": "1"}, {"httpUrl": "https://a/2", "filePath": "2"}]
    plan = diff_task(_task(resourceFiles=files), _live_task(_task(resourceFiles=files[::-1])))
    assert {c.rule for c in plan.changes} == {"replace"}
    assert plan.replaces == ["spec.resourceFiles[0].filePath", "spec.resourceFiles[0].httpUrl",
                             "spec.resourceFiles[1].filePath", "spec.resourceFiles[1].httpUrl"]


def test_an_empty_bind_mount_list_differs_from_an_absent_one() -> None:
    settings = {"imageName": "ubuntu", "containerHostBatchBindMounts": []}
    live = _live_task(_task(containerSettings={"imageName": "ubuntu"}))
    assert _only(diff_task(_task(containerSettings=settings), live)).rule == "replace"


def test_a_tasks_inherited_retry_count_is_not_a_change() -> None:
    live = _live_task(_task(), constraints={"maxTaskRetryCount": 3})
    assert diff_task(_task(), live, job_constraints={"maxTaskRetryCount": 3.0}).changes == []
    assert diff_task(_task(), live, job_max_task_retry_count=3).changes == []
    assert diff_task(_task(), live).changes == []  # the job's value is unknown: the service's is accepted


def test_a_task_whose_retry_count_differs_from_the_jobs_is_updated_to_it() -> None:
    live = _live_task(_task(), constraints={"maxTaskRetryCount": 3})
    plan = diff_task(_task(), live, job_constraints={})
    change = _only(plan)
    assert (change.path, change.rule, change.desired, change.live) == ("constraints.maxTaskRetryCount", "update", 0, 3)
    assert plan.task_constraints(_task()) == {"maxWallClockTime": UNLIMITED_TEXT, "retentionTime": "P7D",
                                              "maxTaskRetryCount": 0}


@pytest.mark.parametrize("scope", ["task", "pool", "Task"])
def test_a_default_user_identity_read_back_is_not_a_change(scope: str) -> None:
    live = _live_task(_task(), userIdentity={"autoUser": {"scope": scope, "elevationLevel": "nonadmin"}})
    assert diff_task(_task(), live).changes == []


def test_an_admin_identity_read_back_for_an_omitted_one_is_a_change() -> None:
    live = _live_task(_task(), userIdentity={"autoUser": {"scope": "pool", "elevationLevel": "admin"}})
    assert _only(diff_task(_task(), live)).path == "userIdentity.autoUser.elevationLevel"


@pytest.mark.parametrize("retention", [None, "P7D", UNLIMITED_TEXT])
def test_task_retention_default_is_seven_days_or_unlimited(retention: str | None) -> None:
    live = _live_task(_task())
    live["constraints"]["retentionTime"] = retention
    assert diff_task(_task(), live).changes == []


def test_normalise_drops_read_only_fields_and_fills_the_service_defaults() -> None:
    job = normalise_job(_live_job(_job()))
    assert set(job) == {"id", "usesTaskDependencies", "priority", "allowTaskPreemption", "maxParallelTasks",
                        "constraints", "poolInfo", "onAllTasksComplete", "onTaskFailure"}
    assert normalise_job(_job()) == job
    task = normalise_task(_live_task(_task()))
    assert "nodeInfo" not in task and "executionInfo" not in task and "url" not in task
    assert normalise_task(_task(), job_constraints={}) == task


# --- patch, patch-when-disabled, update ----------------------------------------------------------------------

def test_a_priority_change_is_patched_in_place() -> None:
    plan = diff_job(_job(priority=100), _live_job(_job()))
    change = _only(plan)
    assert (change.path, change.rule, change.desired, change.live) == ("priority", "patch", 100, 0)
    assert plan.describe() == ["~ spec.priority: 0 → 100 (update in place: PATCH)"]
    assert plan.patch_body(_job(priority=100.0)) == {"priority": 100}
    assert (plan.replaces, plan.needs_disable, plan.refused) == ([], False, [])


def test_a_field_dropped_from_the_spec_is_patched_back_to_its_default() -> None:
    plan = diff_job(_job(), _live_job(_job(priority=50, maxParallelTasks=2)))
    assert plan.patch_body(_job()) == {"priority": 0, "maxParallelTasks": -1}


def test_a_constraints_change_patches_the_whole_constraints_object() -> None:
    spec = _job(constraints={"maxTaskRetryCount": 2})
    plan = diff_job(spec, _live_job(_job(constraints={"maxWallClockTime": "PT1H", "maxTaskRetryCount": 2})))
    assert [c.path for c in plan.changes] == ["constraints.maxWallClockTime"]
    assert plan.patch_body(spec) == {"constraints": {"maxTaskRetryCount": 2, "maxWallClockTime": UNLIMITED_TEXT}}


def test_a_metadata_change_patches_the_whole_list() -> None:
    spec = _job(metadata=[{"name": "owner", "value": "team-b"}, {"name": "tier", "value": "gold"}])
    live = _live_job(_job(metadata=[{"name": "tier", "value": "gold"}, {"name": "owner", "value": "team-a"}]))
    plan = diff_job(spec, live)
    assert plan.describe() == ["~ spec.metadata[owner].value: team-a → team-b (update in place: PATCH)"]
    assert plan.patch_body(spec) == {"metadata": spec["metadata"]}
    assert diff_job(_job(), live).patch_body(_job()) == {"metadata": []}


def test_a_pool_id_change_needs_the_job_disabled_around_the_patch() -> None:
    spec = _job(poolInfo={"poolId": "pool-2"})
    plan = diff_job(spec, _live_job(_job()))
    assert _only(plan).rule == "patch-when-disabled"
    assert plan.needs_disable and plan.patch_body(spec) == {"poolInfo": {"poolId": "pool-2"}}
    assert plan.describe() == [("~ spec.poolInfo.poolId: pool-1 → pool-2 (update in place: disable the job, PATCH, "
                               "enable)")]


def test_an_auto_pool_keep_alive_change_is_patched_without_disabling() -> None:
    spec = _example("job-create-full.json")
    live = _live_job(spec)
    spec["poolInfo"]["autoPoolSpecification"]["keepAlive"] = True
    plan = diff_job(spec, live)
    assert _only(plan).path == "poolInfo.autoPoolSpecification.keepAlive" and _only(plan).rule == "patch"
    assert not plan.needs_disable
    assert plan.patch_body(spec)["poolInfo"]["autoPoolSpecification"]["keepAlive"] is True


def test_a_task_constraints_change_is_a_put_of_the_complete_constraints() -> None:
    spec = _task(constraints={"maxWallClockTime": "PT2H"})
    live = _live_task(_task(constraints={"maxWallClockTime": "PT1H", "maxTaskRetryCount": 1}))
    plan = diff_task(spec, live, job_max_task_retry_count=1)
    change = _only(plan)
    assert (change.path, change.rule) == ("constraints.maxWallClockTime", "update")
    assert plan.describe() == ["~ spec.constraints.maxWallClockTime: PT1H → PT2H (update in place: PUT constraints)"]
    assert plan.task_constraints(spec) == {"maxWallClockTime": "PT2H", "retentionTime": "P7D", "maxTaskRetryCount": 1}
    assert plan.replaces == [] and plan.patch_body(spec) == {}


def test_without_a_constraints_change_there_is_nothing_to_put() -> None:
    spec = _task(commandLine="other")
    assert diff_task(spec, _live_task(_task())).task_constraints(spec) is None


# --- replace -------------------------------------------------------------------------------------------------

def test_a_job_manager_command_line_change_replaces_the_job() -> None:
    spec = _example("job-create-full.json")
    live = _live_job(spec)
    spec["jobManagerTask"]["commandLine"] = "myprogram.exe --v2"
    plan = diff_job(spec, live)
    assert plan.replaces == ["spec.jobManagerTask.commandLine"]
    assert plan.describe() == [("+- spec.jobManagerTask.commandLine changed (replace: jobManagerTask cannot change "
                               "after creation (4.1); jobManagerTask.commandLine differs)")]


def test_a_change_deep_inside_an_immutable_subtree_names_the_precise_leaf() -> None:
    spec = _example("job-create-full.json")
    live = _live_job(spec)
    spec["jobManagerTask"]["constraints"]["maxWallClockTime"] = "PT2H"
    change = _only(diff_job(spec, live))
    assert change.path == "jobManagerTask.constraints.maxWallClockTime" and change.rule == "replace"
    assert change.reason.endswith("jobManagerTask.constraints.maxWallClockTime differs")


def test_any_other_auto_pool_change_replaces_the_job() -> None:
    spec = _example("job-create-full.json")
    live = _live_job(spec)
    spec["poolInfo"]["autoPoolSpecification"]["pool"]["vmSize"] = "STANDARD_D4S_V3"
    plan = diff_job(spec, live)
    assert plan.replaces == ["spec.poolInfo.autoPoolSpecification.pool.vmSize"]
    assert "except keepAlive" in plan.changes[0].reason


def test_switching_from_an_auto_pool_to_a_pool_id_replaces_the_job() -> None:
    live = _live_job(_example("job-create-full.json"))
    spec = {**_example("job-create-full.json"), "poolInfo": {"poolId": "pool-1"}}
    plan = diff_job(spec, live)
    assert plan.replaces == ["spec.poolInfo.autoPoolSpecification"]
    assert "+- spec.poolInfo.autoPoolSpecification removed" in plan.describe()[0]


@pytest.mark.parametrize("field,value", [("displayName", "new name"), ("usesTaskDependencies", True),
                                         ("onTaskFailure", "performexitoptionsjobaction"),
                                         ("commonEnvironmentSettings", [{"name": "A", "value": "1"}])])
def test_immutable_job_fields_replace_the_job(field: str, value: Any) -> None:
    assert [c.rule for c in diff_job(_job(**{field: value}), _live_job(_job())).changes] == ["replace"]


def test_a_task_command_line_change_replaces_the_task() -> None:
    plan = diff_task(_task(commandLine="/bin/sh -c false"), _live_task(_task()))
    assert plan.replaces == ["spec.commandLine"] and plan.task_constraints(_task()) is None


def test_other_changes_in_a_replace_are_set_by_the_new_job() -> None:
    plan = diff_job(_job(displayName="x", priority=5), _live_job(_job()))
    assert plan.describe() == ["+- spec.displayName added (replace: displayName cannot change after creation (4.1))",
                               "~ spec.priority: 0 → 5 (set when it is created again)"]


# --- refused, gone -------------------------------------------------------------------------------------------

def test_on_all_tasks_complete_back_to_noaction_is_refused() -> None:
    plan = diff_job(_job(onAllTasksComplete="noaction"), _live_job(_job(onAllTasksComplete="terminatejob")))
    assert [c.path for c in plan.refused] == ["onAllTasksComplete"]
    assert plan.patch_body(_job()) == {}
    assert plan.describe()[0].startswith("! spec.onAllTasksComplete: terminatejob → noaction (refused: ")


def test_on_all_tasks_complete_to_terminatejob_is_patched() -> None:
    spec = _job(onAllTasksComplete="terminateJob")
    plan = diff_job(spec, _live_job(_job()))
    assert (_only(plan).rule, plan.patch_body(spec)) == ("patch", {"onAllTasksComplete": "terminateJob"})


def test_a_replaced_job_may_go_back_to_noaction() -> None:
    plan = diff_job(_job(displayName="v2"), _live_job(_job(onAllTasksComplete="terminatejob")))
    assert plan.refused == [] and plan.replaces == ["spec.displayName"]


def test_a_job_or_task_that_is_gone_is_recreated() -> None:
    plan = diff_job(_job(), None)
    assert (plan.gone, plan.changes, plan.has_changes) == (True, [], False)
    assert plan.describe() == ["+ the job no longer exists in the service: it will be created"]
    assert diff_task(_task(), None).gone


# --- secrets never shown -------------------------------------------------------------------------------------

def _assert_hidden(plan: DiffPlan, *secrets: str) -> None:
    text = "\n".join(plan.describe()) + repr(plan) + repr(plan.changes)
    for secret in secrets:
        assert secret not in text


def test_a_registry_password_change_is_described_without_the_password() -> None:
    settings: dict[str, Any] = {"imageName": "ubuntu",
                                "registry": {"registryServer": "r.io", "username": "u", "password": PASSWORD}}
    live_settings = copy.deepcopy(settings)
    live_settings["registry"]["password"] = PASSWORD + "-old"
    plan = diff_task(_task(containerSettings=settings), _live_task(_task(containerSettings=live_settings)))
    assert plan.describe() == [("+- spec.containerSettings.registry.password changed (replace: a task cannot change "
                               "after creation, except its constraints (4.2); containerSettings.registry.password "
                               "differs)")]
    assert _only(plan).secret
    _assert_hidden(plan, PASSWORD)


def test_a_sas_url_change_is_described_without_the_signature() -> None:
    files = [{"storageContainerUrl": f"https://acct.blob.core.windows.net/in?{SAS}", "filePath": "in"}]
    live_files = [{"storageContainerUrl": "https://acct.blob.core.windows.net/in?sig=old", "filePath": "in"}]
    plan = diff_task(_task(resourceFiles=files), _live_task(_task(resourceFiles=live_files)))
    _assert_hidden(plan, "sig=", SAS)
    added = diff_task(_task(resourceFiles=files), _live_task(_task()))
    _assert_hidden(added, "sig=", SAS)


def test_environment_values_are_never_shown() -> None:
    spec = _job(commonEnvironmentSettings=[{"name": "TOKEN", "value": ENV_VALUE}])
    plan = diff_job(spec, _live_job(_job(commonEnvironmentSettings=[{"name": "TOKEN", "value": "old"}])))
    assert plan.describe() == [("+- spec.commonEnvironmentSettings[TOKEN].value changed (replace: "
                               "commonEnvironmentSettings cannot change after creation (4.1); "
                               "commonEnvironmentSettings[TOKEN].value differs)")]
    _assert_hidden(plan, ENV_VALUE)
    _assert_hidden(diff_job(spec, _live_job(_job())), ENV_VALUE)


def test_a_pool_user_password_in_an_added_auto_pool_is_never_shown() -> None:
    spec = _example("job-create-full.json")
    pool = spec["poolInfo"]["autoPoolSpecification"]["pool"]
    pool["userAccounts"] = [{"name": "u", "password": PASSWORD}]
    pool["startTask"]["environmentSettings"][0]["value"] = ENV_VALUE
    plan = diff_job(spec, _live_job(_job()))
    assert "spec.poolInfo.autoPoolSpecification" in plan.replaces
    _assert_hidden(plan, PASSWORD, ENV_VALUE)


def test_a_registry_password_the_service_does_not_report_is_not_a_change() -> None:
    settings: dict[str, Any] = {"imageName": "ubuntu",
                                "registry": {"registryServer": "r.io", "username": "u", "password": PASSWORD}}
    live_settings = copy.deepcopy(settings)
    del live_settings["registry"]["password"]
    plan = diff_task(_task(containerSettings=settings), _live_task(_task(containerSettings=live_settings)))
    assert plan.changes == []


def test_auto_pool_credentials_the_service_does_not_report_are_not_a_change() -> None:
    spec = _example("job-create-full.json")
    pool = spec["poolInfo"]["autoPoolSpecification"]["pool"]
    pool["userAccounts"] = [{"name": "b", "password": PASSWORD}, {"name": "a", "password": PASSWORD}]
    pool["mountConfiguration"] = [{"azureFileShareConfiguration": {
        "accountName": "acct", "accountKey": PASSWORD, "azureFileUrl": "https://acct.file.core.windows.net/s",
        "relativeMountPath": "s"}}]
    live = _live_job(spec)
    live_pool = live["poolInfo"]["autoPoolSpecification"]["pool"]
    live_pool["userAccounts"] = [{"name": "a", "elevationLevel": "nonadmin"}, {"name": "b"}]
    del live_pool["mountConfiguration"][0]["azureFileShareConfiguration"]["accountKey"]
    assert diff_job(spec, live).changes == []
    live_pool["userAccounts"][0]["name"] = "c"
    plan = diff_job(spec, live)
    assert plan.replaces and all(p.startswith("spec.poolInfo.autoPoolSpecification.pool.userAccounts[")
                                 for p in plan.replaces)
    _assert_hidden(plan, PASSWORD)
