"""Request-body validation of the local Batch service (batch_service.validation), called directly."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from batch_service.validation import bodies as validation
from batch_service.validation.bodies import (
    normalise_enums,
    validate_job_create,
    validate_job_disable,
    validate_job_schedule_create,
    validate_pool_create,
    validate_task_collection,
    validate_task_create,
    validate_task_update,
)
from tests.support.validation_bodies import (
    EXAMPLES,
    REMOVED_FIELDS_EXAMPLE,
    SECRET,
    accepted,
    assert_rejected,
    detail,
    example,
    job,
    pool,
    rejected,
    stored_job,
    task,
)

# --- documented examples ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("job-create-*.json")
                                        if p.name != REMOVED_FIELDS_EXAMPLE))
def test_documented_job_examples_are_valid(name: str) -> None:
    accepted(validate_job_create, example(name))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("task-create-*.json")))
def test_documented_task_examples_are_valid_on_a_job_that_performs_exit_actions(name: str) -> None:
    accepted(validate_task_create, example(name), stored_job(onTaskFailure="performexitoptionsjobaction"))


def test_exit_conditions_example_is_rejected_on_a_noaction_job() -> None:
    assert_rejected(validate_task_create, (example("task-create-exit-conditions.json"), stored_job()),
                    "InvalidPropertyValue", "exitConditions.exitCodeRanges[0].exitOptions.jobAction")


def test_removed_pool_fields_are_all_named_in_one_invalid_request_body_error() -> None:
    error = rejected(validate_job_create, example(REMOVED_FIELDS_EXAMPLE))
    paths = ("poolInfo.autoPoolSpecification.pool.certificateReferences, "
             "poolInfo.autoPoolSpecification.pool.targetNodeCommunicationMode")
    assert (error.status, error.code, detail(error)) == (400, "InvalidRequestBody", paths)
    assert error.message == (
        "The request body contains properties that api-version 2025-06-01 does not have: " + paths)


# --- body shape and unknown properties ----------------------------------------------------------------------

@pytest.mark.parametrize("body", [[], "job", 3, None, True])
@pytest.mark.parametrize("check", [validate_job_create, validate_pool_create, validate_task_update,
                                   validate_job_disable, validate_job_schedule_create])
def test_a_body_that_is_not_a_json_object_is_an_invalid_request_body(check: Callable[[object], None],
                                                                     body: object) -> None:
    error = rejected(check, body)
    assert (error.status, error.code) == (400, "InvalidRequestBody")


def test_pool_resource_tags_are_unknown_in_this_api_version() -> None:
    assert_rejected(validate_pool_create, (pool(resourceTags={"team": "x"}),),
                    "InvalidRequestBody", "resourceTags")


def test_unknown_properties_are_reported_before_any_other_problem() -> None:
    body = {"priority": "high", "poolInfo": {"poolId": "p", "extra": 1}, "bogus": True}
    assert_rejected(validate_job_create, (body,), "InvalidRequestBody", "poolInfo.extra, bogus")


def test_authentication_token_settings_are_valid_on_tasks_and_job_manager_tasks() -> None:
    accepted(validate_task_create, task(authenticationTokenSettings={"access": ["Job"]}), stored_job())
    accepted(validate_job_create, job(jobManagerTask={"id": "jm", "commandLine": "x",
                                            "authenticationTokenSettings": {"access": ["job"]}}))


def test_odata_annotations_and_nulls_for_optional_properties_are_ignored() -> None:
    accepted(validate_job_create, job(**{"odata.metadata": "https://x/$metadata", "displayName": None,
                               "metadata": None}))


# --- required properties ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("check", "args", "path"), [
    (validate_job_create, ({"id": "job"},), "poolInfo"),
    (validate_job_create, (job(id=None),), "id"),
    (validate_job_create, (job(jobManagerTask={"id": "jm"}),), "jobManagerTask.commandLine"),
    (validate_task_create, ({"id": "t1"}, stored_job()), "commandLine"),
    (validate_task_create, (task(multiInstanceSettings={"numberOfInstances": 2}), stored_job()),
     "multiInstanceSettings.coordinationCommandLine"),
    (validate_pool_create, ({k: v for k, v in pool().items() if k != "vmSize"},), "vmSize"),
    (validate_pool_create, (pool(virtualMachineConfiguration=None),), "virtualMachineConfiguration"),
    (validate_job_schedule_create, ({"id": "s", "jobSpecification": {"poolInfo": {"poolId": "p"}}},),
     "schedule"),
    (validate_job_disable, ({},), "disableTasks"),
    (validate_task_collection, ({}, stored_job()), "value"),
])
def test_a_missing_required_property_is_named_by_its_path(check: Callable[..., None], args: tuple[Any, ...],
                                                           path: str) -> None:
    assert_rejected(check, args, "MissingRequiredProperty", path)


# --- JSON types ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "path"), [
    ({"priority": "5"}, "priority"),
    ({"priority": True}, "priority"),
    ({"priority": 2.5}, "priority"),
    ({"usesTaskDependencies": 1}, "usesTaskDependencies"),
    ({"displayName": 7}, "displayName"),
    ({"metadata": {"name": "a", "value": "b"}}, "metadata"),
    ({"constraints": "PT1H"}, "constraints"),
    ({"constraints": {"maxTaskRetryCount": "3"}}, "constraints.maxTaskRetryCount"),
])
def test_a_wrong_json_type_is_an_invalid_property_value(fields: dict[str, Any], path: str) -> None:
    assert_rejected(validate_job_create, (job(**fields),), "InvalidPropertyValue", path)


def test_integral_floats_count_as_integers() -> None:
    accepted(validate_job_create, job(priority=3.0, constraints={"maxTaskRetryCount": 2.0}))


# --- enums --------------------------------------------------------------------------------------------------

def test_an_unknown_enum_value_is_rejected_and_the_allowed_values_are_listed() -> None:
    error = assert_rejected(validate_job_create, (job(onAllTasksComplete="sometimes"),),
                            "InvalidPropertyValue", "onAllTasksComplete")
    assert detail(error, "Reason") == "must be one of: noaction, terminatejob"


@pytest.mark.parametrize("fields", [
    {"onAllTasksComplete": "TerminateJob", "onTaskFailure": "PerformExitOptionsJobAction"},
    {"onAllTasksComplete": "NOACTION"},
])
def test_enum_values_match_case_insensitively(fields: dict[str, Any]) -> None:
    accepted(validate_job_create, job(**fields))


def test_enum_case_insensitivity_reaches_nested_and_pascal_case_enums() -> None:
    body = task(containerSettings={"imageName": "ubuntu", "workingDirectory": "CONTAINERIMAGEDEFAULT",
                                   "containerHostBatchBindMounts": [{"source": "jobprep"}]},
                userIdentity={"autoUser": {"scope": "Pool", "elevationLevel": "Admin"}})
    accepted(validate_task_create, body, stored_job())
    canonical = validation.normalise_enums("task", body)
    assert canonical["containerSettings"]["workingDirectory"] == "containerImageDefault"
    assert canonical["containerSettings"]["containerHostBatchBindMounts"] == [{"source": "JobPrep"}]
    assert canonical["userIdentity"]["autoUser"] == {"scope": "pool", "elevationLevel": "admin"}


# --- ranges and formats -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "path"), [
    ({"priority": 1001}, "priority"),
    ({"priority": -1001}, "priority"),
    ({"maxParallelTasks": 0}, "maxParallelTasks"),
    ({"maxParallelTasks": -2}, "maxParallelTasks"),
    ({"constraints": {"maxTaskRetryCount": -2}}, "constraints.maxTaskRetryCount"),
    ({"id": ""}, "id"),
    ({"id": "j" * 65}, "id"),
    ({"id": "bad id!"}, "id"),
    ({"displayName": "d" * 1025}, "displayName"),
    ({"jobManagerTask": {"id": "jm", "commandLine": "x", "requiredSlots": 0}},
     "jobManagerTask.requiredSlots"),
    ({"jobPreparationTask": {"commandLine": "x"},
      "jobReleaseTask": {"commandLine": "x", "maxWallClockTime": "PT16M"}},
     "jobReleaseTask.maxWallClockTime"),
    ({"poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job", "autoPoolIdPrefix": "p" * 21}}},
     "poolInfo.autoPoolSpecification.autoPoolIdPrefix"),
])
def test_job_values_outside_their_documented_range_are_invalid(fields: dict[str, Any], path: str) -> None:
    assert_rejected(validate_job_create, (job(**fields),), "InvalidPropertyValue", path)


def test_job_values_at_the_edges_of_their_ranges_are_valid() -> None:
    accepted(validate_job_create, job(id="A-b_" + "c" * 60, priority=-1000, maxParallelTasks=-1,
                            constraints={"maxTaskRetryCount": -1}, displayName="d" * 1024,
                            jobPreparationTask={"commandLine": "x"},
                            jobReleaseTask={"commandLine": "x", "maxWallClockTime": "PT15M"}))
    accepted(validate_job_create, job(priority=1000, maxParallelTasks=1))


@pytest.mark.parametrize(("fields", "path"), [
    ({"requiredSlots": 0}, "requiredSlots"),
    ({"multiInstanceSettings": {"numberOfInstances": 0, "coordinationCommandLine": "x"}},
     "multiInstanceSettings.numberOfInstances"),
    ({"constraints": {"maxTaskRetryCount": -2}}, "constraints.maxTaskRetryCount"),
    ({"resourceFiles": [{"httpUrl": "https://a/b", "filePath": "../escape"}]}, "resourceFiles[0].filePath"),
    ({"resourceFiles": [{"autoStorageContainerName": "c", "filePath": "/etc"}]}, "resourceFiles[0].filePath"),
])
def test_task_values_outside_their_documented_range_are_invalid(fields: dict[str, Any], path: str) -> None:
    assert_rejected(validate_task_create, (task(**fields), stored_job()), "InvalidPropertyValue", path)


@pytest.mark.parametrize("value", ["P10675199DT2H48M5.4775807S", "PT1H", "PT01H30M00S", "P7D", "PT0S",
                                   "PT1.5S"])
def test_iso8601_durations_up_to_the_service_maximum_are_valid(value: str) -> None:
    accepted(validate_task_create, task(constraints={"maxWallClockTime": value, "retentionTime": value}), stored_job())


@pytest.mark.parametrize("value", ["-PT1H", "garbage", "PT", "P", "P1M", "P1W", "pt1h", "P10675200D", 3600,
                                   ""])
def test_negative_malformed_or_calendar_durations_are_invalid(value: object) -> None:
    assert_rejected(validate_task_create, (task(constraints={"maxWallClockTime": value}), stored_job()),
                    "InvalidPropertyValue", "constraints.maxWallClockTime")


# --- one-of groups ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pool_info", "code", "path"), [
    ({}, "MissingRequiredProperty", "poolInfo.poolId"),
    ({"poolId": "p", "autoPoolSpecification": {"poolLifetimeOption": "job"}}, "InvalidPropertyValue",
     "poolInfo.autoPoolSpecification"),
])
def test_pool_info_needs_exactly_one_of_pool_id_and_auto_pool(pool_info: dict[str, Any], code: str,
                                                               path: str) -> None:
    assert_rejected(validate_job_create, (job(poolInfo=pool_info),), code, path)


@pytest.mark.parametrize(("resource_file", "code", "path"), [
    ({"filePath": "x"}, "MissingRequiredProperty", "resourceFiles[0].autoStorageContainerName"),
    ({"httpUrl": "https://a/b", "storageContainerUrl": "https://a", "filePath": "x"}, "InvalidPropertyValue",
     "resourceFiles[0].httpUrl"),
    ({"httpUrl": "https://a/b"}, "MissingRequiredProperty", "resourceFiles[0].filePath"),
    ({"httpUrl": "https://a/b", "filePath": "b", "blobPrefix": "p"}, "InvalidPropertyValue",
     "resourceFiles[0].blobPrefix"),
])
def test_resource_files_need_exactly_one_source(resource_file: dict[str, Any], code: str, path: str) -> None:
    assert_rejected(validate_task_create, (task(resourceFiles=[resource_file]), stored_job()), code, path)


def test_container_sources_may_use_a_blob_prefix_without_a_file_path() -> None:
    files = [{"storageContainerUrl": "https://a/c", "blobPrefix": "in/"},
             {"autoStorageContainerName": "c", "fileMode": "0755"}]
    accepted(validate_task_create, task(resourceFiles=files), stored_job())


def test_user_identity_takes_a_user_name_or_an_auto_user_not_both() -> None:
    body = task(userIdentity={"username": "u", "autoUser": {"scope": "task"}})
    assert_rejected(validate_task_create, (body, stored_job()), "InvalidPropertyValue",
                    "userIdentity.autoUser")
    assert_rejected(validate_task_create, (task(userIdentity={}), stored_job()), "MissingRequiredProperty",
                    "userIdentity.username")


# --- cross-field rules on tasks -----------------------------------------------------------------------------

def test_depends_on_needs_a_job_that_uses_task_dependencies() -> None:
    body = task(dependsOn={"taskIds": ["a"]})
    assert_rejected(validate_task_create, (body, stored_job()), "TaskDependenciesNotSpecifiedOnJob",
                    "dependsOn")
    validate_task_create(body, stored_job(usesTaskDependencies=True))


def test_job_action_none_is_allowed_on_a_noaction_job_but_other_actions_are_not() -> None:
    validate_task_create(task(exitConditions={"default": {"jobAction": "None", "dependencyAction": "block"}}),
                         stored_job())
    body = task(exitConditions={"exitCodes": [{"code": 1, "exitOptions": {"dependencyAction": "satisfy"}}],
                                "preProcessingError": {"jobAction": "disable"}})
    assert_rejected(validate_task_create, (body, stored_job()), "InvalidPropertyValue",
                    "exitConditions.preProcessingError.jobAction")


def test_a_multi_instance_task_must_use_exactly_one_slot() -> None:
    body = task(requiredSlots=2,
                multiInstanceSettings={"numberOfInstances": 3, "coordinationCommandLine": "x"})
    assert_rejected(validate_task_create, (body, stored_job()), "InvalidPropertyValue", "requiredSlots")


def test_dependency_id_list_longer_than_64000_characters_is_too_long() -> None:
    within = task(dependsOn={"taskIds": ["a" * 64] * 1000})
    validate_task_create(within, stored_job(usesTaskDependencies=True))
    beyond = task(dependsOn={"taskIds": ["a" * 64] * 1000 + ["b"]})
    assert_rejected(validate_task_create, (beyond, stored_job(usesTaskDependencies=True)),
                    "TaskDependencyListTooLong", "dependsOn.taskIds")


def test_more_than_1000_dependency_ranges_are_too_many() -> None:
    body = task(dependsOn={"taskIdRanges": [{"start": i, "end": i} for i in range(1001)]})
    assert_rejected(validate_task_create, (body, stored_job(usesTaskDependencies=True)),
                    "TaskDependencyRangesTooLong", "dependsOn.taskIdRanges")


@pytest.mark.parametrize(("fields", "path"), [
    ({"dependsOn": {"taskIdRanges": [{"start": 1, "end": 5}, {"start": 9, "end": 3}]}},
     "dependsOn.taskIdRanges[1].end"),
    ({"exitConditions": {"exitCodeRanges": [{"start": 4, "end": 2, "exitOptions": {}}]}},
     "exitConditions.exitCodeRanges[0].end"),
])
def test_a_range_whose_start_is_after_its_end_is_invalid(fields: dict[str, Any], path: str) -> None:
    assert_rejected(validate_task_create, (task(**fields), stored_job(usesTaskDependencies=True)),
                    "InvalidPropertyValue", path)


def test_a_task_cannot_take_the_id_of_the_job_preparation_or_release_task() -> None:
    with_prep = stored_job(jobPreparationTask={"commandLine": "x"},
                           jobReleaseTask={"id": "Cleanup", "commandLine": "x"})
    assert_rejected(validate_task_create, (task(id="JobPreparation"), with_prep),
                    "TaskIdSameAsJobPreparationTask", "id", status=409)
    assert_rejected(validate_task_create, (task(id="cleanup"), with_prep),
                    "TaskIdSameAsJobReleaseTask", "id", status=409)


def test_duplicate_environment_variable_names_are_invalid() -> None:
    body = task(environmentSettings=[{"name": "A", "value": SECRET}, {"name": "A", "value": SECRET}])
    error = assert_rejected(validate_task_create, (body, stored_job()), "InvalidPropertyValue",
                            "environmentSettings[1].name")
    assert SECRET not in repr((error.message, error.values, str(error)))


# --- cross-field rules on jobs ------------------------------------------------------------------------------

def test_a_job_release_task_needs_a_job_preparation_task() -> None:
    # The rule names the release task, the property that cannot stand alone (batch_api rule
    # release-needs-preparation; the providers' preview names the same path).
    assert_rejected(validate_job_create, (job(jobReleaseTask={"commandLine": "x"}),),
                    "InvalidPropertyValue", "jobReleaseTask")


def test_pool_lifetime_jobschedule_is_valid_on_schedules_only() -> None:
    auto_pool = {"autoPoolSpecification": {"poolLifetimeOption": "JobSchedule"}}
    assert_rejected(validate_job_create, (job(poolInfo=auto_pool),), "InvalidPropertyValue",
                    "poolInfo.autoPoolSpecification.poolLifetimeOption")
    validate_job_schedule_create({"id": "nightly", "schedule": {"recurrenceInterval": "P1D"},
                                  "jobSpecification": {"poolInfo": auto_pool, "priority": 10}})


def test_an_empty_metadata_name_has_its_own_error_code() -> None:
    assert_rejected(validate_job_create, (job(metadata=[{"name": "", "value": "v"}]),), "EmptyMetadataKey",
                    "metadata[0].name")


def test_duplicate_metadata_names_are_invalid() -> None:
    body = job(metadata=[{"name": "a", "value": "1"}, {"name": "a", "value": "2"}])
    assert_rejected(validate_job_create, (body,), "InvalidPropertyValue", "metadata[1].name")


# --- job schedules ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("schedule", "path"), [
    ({"startWindow": "PT30S"}, "schedule.startWindow"),
    ({"recurrenceInterval": "PT59S"}, "schedule.recurrenceInterval"),
    ({"doNotRunUntil": "tomorrow"}, "schedule.doNotRunUntil"),
    ({"doNotRunAfter": "2025-01-01T00:00:00"}, "schedule.doNotRunAfter"),
])
def test_schedule_windows_and_times_are_checked(schedule: dict[str, Any], path: str) -> None:
    body = {"id": "s", "schedule": schedule, "jobSpecification": {"poolInfo": {"poolId": "p"}}}
    assert_rejected(validate_job_schedule_create, (body,), "InvalidPropertyValue", path)


def test_a_schedule_with_times_and_a_full_job_specification_is_valid() -> None:
    spec = {k: v for k, v in example("job-create-full.json").items() if k != "id"}
    accepted(validate_job_schedule_create, {"id": "s", "displayName": "nightly", "jobSpecification": spec,
                                  "schedule": {"doNotRunUntil": "2016-11-19T00:05:27.5391608Z",
                                               "startWindow": "PT1M", "recurrenceInterval": "PT1H"}})


def test_an_autoscale_pool_needs_a_formula_and_no_target_sizes() -> None:
    assert_rejected(validate_pool_create, (pool(enableAutoScale=True, targetDedicatedNodes=None),),
                    "MissingRequiredProperty", "autoScaleFormula")
    formula = "$TargetDedicatedNodes=1"
    assert_rejected(validate_pool_create, (pool(enableAutoScale=True, autoScaleFormula=formula),),
                    "InvalidPropertyValue", "targetDedicatedNodes")
    validate_pool_create(pool(enableAutoScale=True, targetDedicatedNodes=None, autoScaleFormula="$x=1",
                              autoScaleEvaluationInterval="PT5M"))


# --- order, secrets, the public surface ---------------------------------------------------------------------

def test_the_first_problem_in_schema_order_is_reported() -> None:
    # displayName comes before commandLine in BatchTaskCreateOptions, and before the job-dependent rules.
    body = {"id": "t", "displayName": 1, "dependsOn": {"taskIds": ["x"]}}
    assert_rejected(validate_task_create, (body, stored_job()), "InvalidPropertyValue", "displayName")


@pytest.mark.parametrize(("check", "args"), [
    (validate_task_create, (task(resourceFiles=[{"httpUrl": f"https://a/b?sig={SECRET}", "filePath": "b",
                                                 "blobPrefix": SECRET}]), stored_job())),
    (validate_task_create, (task(environmentSettings=[{"name": "K", "value": 1}]), stored_job())),
    (validate_task_create, (task(containerSettings={"imageName": "i", "registry": {"password": SECRET}}),
                            stored_job())),
    (validate_pool_create, (pool(userAccounts=[{"name": SECRET * 2, "password": SECRET}]),)),
    (validate_pool_create, (pool(mountConfiguration=[{"azureBlobFileSystemConfiguration": {
        "accountName": "a", "containerName": "c", "relativeMountPath": "m", "accountKey": SECRET,
        "sasKey": SECRET}}]),)),
    (validate_pool_create, (pool(virtualMachineConfiguration={"nodeAgentSKUId": "n", "imageReference": {
        "virtualMachineImageId": "/x"}, "extensions": [{"name": "e", "publisher": "p", "type": "t",
                                                          "protectedSettings": {"key": 5}}]}),)),
])
def test_errors_never_echo_property_values(check: Callable[..., None], args: tuple[Any, ...]) -> None:
    error = rejected(check, *args)
    assert error.status == 400
    assert SECRET not in repr((error.message, error.values, str(error), error.args))


def test_normalise_enums_returns_a_copy_in_the_2025_06_01_spellings() -> None:
    body = job(onAllTasksComplete="TerminateJob", onTaskFailure="PERFORMEXITOPTIONSJOBACTION", poolInfo={
        "autoPoolSpecification": {"poolLifetimeOption": "Job", "pool": {
            "vmSize": "v", "taskSchedulingPolicy": {"nodeFillType": "spread"},
            "virtualMachineConfiguration": {"licenseType": "windows_server", "securityProfile": {
                "securityType": "TrustedLaunch",
                "proxyAgentSettings": {"imds": {"mode": "audit"}, "wireServer": {"mode": "ENFORCE"}}}},
            "networkConfiguration": {"publicIPAddressConfiguration": {"provision": "BatchManaged",
                                                                      "ipFamilies": ["ipv4", "IPV6"]}}}}},
        state="Active")
    original = copy.deepcopy(body)
    out = normalise_enums("job", body)
    assert body == original
    assert out["onAllTasksComplete"] == "terminatejob"
    assert out["onTaskFailure"] == "performexitoptionsjobaction"
    auto_pool = out["poolInfo"]["autoPoolSpecification"]
    vm = auto_pool["pool"]["virtualMachineConfiguration"]
    assert auto_pool["poolLifetimeOption"] == "job"
    assert auto_pool["pool"]["taskSchedulingPolicy"] == {"nodeFillType": "Spread"}  # as the real service says
    assert vm["licenseType"] == "Windows_Server"
    assert vm["securityProfile"]["securityType"] == "trustedLaunch"
    assert vm["securityProfile"]["proxyAgentSettings"] == {"imds": {"mode": "Audit"},
                                                           "wireServer": {"mode": "Enforce"}}
    assert auto_pool["pool"]["networkConfiguration"]["publicIPAddressConfiguration"] == {
        "provision": "batchmanaged", "ipFamilies": ["IPv4", "IPv6"]}
    assert out["state"] == "Active"  # not part of the create schema: left alone


def test_normalise_enums_keeps_pascal_case_bind_mount_sources_for_tasks() -> None:
    body = task(containerSettings={"imageName": "i", "workingDirectory": "containerimagedefault",
                                   "containerHostBatchBindMounts": [{"source": "task"},
                                                                    {"source": "VFSMOUNTS"}]},
                userIdentity={"autoUser": {"scope": "Task", "elevationLevel": "NonAdmin"}},
                outputFiles=[{"filePattern": "*", "destination": {"container": {"containerUrl": "u"}},
                              "uploadOptions": {"uploadCondition": "TaskCompletion"}}],
                exitConditions={"default": {"jobAction": "Terminate", "dependencyAction": "Block"}})
    out = normalise_enums("task", body)
    settings = out["containerSettings"]
    assert [m["source"] for m in settings["containerHostBatchBindMounts"]] == ["Task", "VfsMounts"]
    assert settings["workingDirectory"] == "containerImageDefault"
    assert out["userIdentity"] == {"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}}
    assert out["outputFiles"][0]["uploadOptions"] == {"uploadCondition": "taskcompletion"}
    assert out["exitConditions"] == {"default": {"jobAction": "terminate", "dependencyAction": "block"}}


def test_normalise_enums_handles_updates_and_rejects_unknown_kinds() -> None:
    assert normalise_enums("job_patch", {"onAllTasksComplete": "TerminateJob"}) == {
        "onAllTasksComplete": "terminatejob"}
    assert normalise_enums("job_put", {"poolInfo": {"poolId": "P"}, "onAllTasksComplete": "NoAction"}) == {
        "poolInfo": {"poolId": "P"}, "onAllTasksComplete": "noaction"}
    upgrade = normalise_enums("pool", pool(upgradePolicy={"mode": "Manual"}))["upgradePolicy"]
    assert upgrade == {"mode": "manual"}
    assert normalise_enums("job", {"onAllTasksComplete": "whenever"}) == {"onAllTasksComplete": "whenever"}
    with pytest.raises(ValueError):
        normalise_enums("jobs", {})


def test_the_public_names_are_exactly_the_documented_api() -> None:
    assert sorted(validation.__all__) == sorted([
        "ValidationError", "changes_pool", "normalise_enums", "validate_job_create", "validate_job_disable",
        "validate_job_patch", "validate_job_put", "validate_job_schedule_create", "validate_job_terminate",
        "validate_pool_create", "validate_task_collection", "validate_task_create", "validate_task_update"])
    error = rejected(validate_job_create, job(priority=5000))
    assert error.message == "The value provided for one of the properties in the request body is invalid."
    assert error.values == [{"key": "PropertyName", "value": "priority"},
                            {"key": "Reason", "value": "must be between -1000 and 1000"}]
