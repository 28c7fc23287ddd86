"""check_job / check_task / check_job_schedule / check_transition: every rule class, on real bodies."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.output import Unknown

from providers.diff import check_transition
from providers.schema import Problem, check_job, check_job_schedule, check_task

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "examples"
SECRET = "s3cr3t-Value-never-printed"


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return loaded


def _job(**fields: Any) -> dict[str, Any]:
    return {"id": "job-1", "poolInfo": {"poolId": "pool-1"}, **fields}


def _task(**fields: Any) -> dict[str, Any]:
    return {"id": "task-1", "commandLine": "/bin/sh -c true", **fields}


def _auto_pool_job(**pool_fields: Any) -> dict[str, Any]:
    job = _example("job-create-full.json")
    job["poolInfo"]["autoPoolSpecification"]["pool"].update(pool_fields)
    return job


def _unknown() -> Any:
    """A preview-time unknown, as the engine hands it to check()."""
    return Unknown()  # type: ignore[no-untyped-call]


def _rules(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.path, p.rule) for p in problems]


# --- the documented examples -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("task-*.json")))
def test_every_documented_task_example_passes_check(name: str) -> None:
    assert check_task(_example(name)) == []


@pytest.mark.parametrize("name", ["job-create-basic.json", "job-create-full.json"])
def test_every_documented_job_example_passes_check(name: str) -> None:
    assert check_job(_example(name)) == []


def test_the_example_with_removed_pool_fields_fails_naming_both_paths() -> None:
    problems = check_job(_example("job-create-full-with-removed-pool-fields.json"))
    pool = "poolInfo.autoPoolSpecification.pool"
    assert _rules(problems) == [(f"{pool}.certificateReferences", "unknown-property"),
                                (f"{pool}.targetNodeCommunicationMode", "unknown-property")]
    assert all("no longer" in p.message and "did you mean" not in p.message for p in problems)


def test_the_exit_conditions_example_needs_a_job_that_performs_exit_options() -> None:
    task = _example("task-create-exit-conditions.json")
    noaction = check_task(task, {"onTaskFailure": "noaction"})
    assert _rules(noaction) == [("exitConditions.exitCodeRanges[0].exitOptions.jobAction",
                                 "cross-field:job-action-needs-exit-options")]
    assert check_task(task, {"onTaskFailure": "performExitOptionsJobAction"}) == []


# --- required, type, enum, range, length, id-format, one-of, unknown-property -------------------------------

def test_missing_required_fields_are_named_by_path() -> None:
    assert _rules(check_job({"id": "j"})) == [("poolInfo", "required")]
    assert _rules(check_task({"id": "t"})) == [("commandLine", "required")]


def test_missing_required_nested_fields_are_named_by_full_path() -> None:
    output = {"filePattern": "*.txt", "destination": {"container": {}}}
    problems = check_task(_task(outputFiles=[output]))
    assert _rules(problems) == [("outputFiles[0].destination.container.containerUrl", "required"),
                                ("outputFiles[0].uploadOptions", "required")]


def test_wrong_types_are_refused_and_bool_is_not_an_int() -> None:
    problems = check_job(_job(priority=True, usesTaskDependencies="true", maxParallelTasks="4"))
    assert _rules(problems) == [("priority", "type"), ("usesTaskDependencies", "type"), ("maxParallelTasks", "type")]


def test_integral_floats_are_ints_but_fractions_are_not() -> None:
    assert check_job(_job(priority=100.0, constraints={"maxTaskRetryCount": 3.0})) == []
    assert _rules(check_job(_job(priority=1.5))) == [("priority", "type")]


def test_a_spec_or_nested_object_that_is_not_an_object_is_a_type_problem() -> None:
    assert _rules(check_job(["not", "a", "body"])) == [("", "type")]
    assert _rules(check_job(_job(constraints="PT1H"))) == [("constraints", "type")]
    assert _rules(check_task(_task(resourceFiles={"httpUrl": "x"}))) == [("resourceFiles", "type")]


def test_durations_must_be_iso_8601_without_years_or_months() -> None:
    problems = check_job(_job(constraints={"maxWallClockTime": "1 hour"}))
    assert _rules(problems) == [("constraints.maxWallClockTime", "type")]
    assert _rules(check_task(_task(constraints={"retentionTime": "P1M"}))) == [("constraints.retentionTime", "type")]


def test_enum_values_outside_the_2025_06_01_set_are_refused_with_the_allowed_values() -> None:
    problems = check_job(_job(onAllTasksComplete="sometimes", onTaskFailure="terminateJob"))
    assert _rules(problems) == [("onAllTasksComplete", "enum"), ("onTaskFailure", "enum")]
    assert "noaction, terminatejob" in problems[0].message


def test_enum_values_match_case_insensitively() -> None:
    assert check_job(_job(onAllTasksComplete="TerminateJob", onTaskFailure="performExitOptionsJobAction")) == []
    mounts = {"imageName": "ubuntu", "containerHostBatchBindMounts": [{"source": "task"}, {"source": "SHARED"}]}
    assert check_task(_task(containerSettings=mounts)) == []


def test_numbers_outside_their_range_are_refused() -> None:
    problems = check_job(_job(priority=1001, maxParallelTasks=0, constraints={"maxTaskRetryCount": -2}))
    assert _rules(problems) == [("priority", "range"), ("maxParallelTasks", "range"),
                                ("constraints.maxTaskRetryCount", "range")]
    assert "between -1000 and 1000" in problems[0].message and "except 0" in problems[1].message


def test_durations_outside_their_range_are_refused() -> None:
    job = _job(jobPreparationTask={"commandLine": "x"}, jobReleaseTask={"commandLine": "y", "maxWallClockTime": "PT16M"})
    assert _rules(check_job(job)) == [("jobReleaseTask.maxWallClockTime", "range")]
    assert _rules(check_job(_auto_pool_job(resizeTimeout="PT1M"))) == [
        ("poolInfo.autoPoolSpecification.pool.resizeTimeout", "range")]
    job["jobReleaseTask"]["maxWallClockTime"] = "PT15M"
    assert check_job(job) == []


def test_strings_and_lists_beyond_their_length_are_refused() -> None:
    job = _auto_pool_job(displayName="d" * 1025, applicationPackageReferences=[{"applicationId": "a"}] * 11)
    job["poolInfo"]["autoPoolSpecification"]["autoPoolIdPrefix"] = "p" * 21
    pool = "poolInfo.autoPoolSpecification"
    assert _rules(check_job(job)) == [(f"{pool}.autoPoolIdPrefix", "length"), (f"{pool}.pool.displayName", "length"),
                                      (f"{pool}.pool.applicationPackageReferences", "length")]


def test_dependency_task_ids_may_total_at_most_64000_characters() -> None:
    ids = [f"{i:063d}" for i in range(1016)]  # 1016 × 63 = 64008 characters
    problems = check_task(_task(dependsOn={"taskIds": ids}))
    assert _rules(problems) == [("dependsOn.taskIds", "length")]
    assert check_task(_task(dependsOn={"taskIds": ids[:1000]})) == []


def test_ids_must_be_letters_digits_hyphens_underscores() -> None:
    problems = check_job(_job(id="my job", jobManagerTask={"id": "jm.1", "commandLine": "x"}))
    assert _rules(problems) == [("id", "id-format"), ("jobManagerTask.id", "id-format")]
    deps = check_task(_task(dependsOn={"taskIds": ["ok_1", "not/ok"]}))
    assert _rules(deps) == [("dependsOn.taskIds[1]", "id-format")]


def test_ids_are_at_most_64_characters() -> None:
    assert check_task(_task(id="t" * 64)) == []
    problems = check_task(_task(id="t" * 65))
    assert _rules(problems) == [("id", "id-format")] and "64" in problems[0].message
    assert _rules(check_job(_job(id=""))) == [("id", "id-format")]


def test_pool_info_needs_exactly_one_of_pool_id_and_auto_pool() -> None:
    both = _example("job-create-full.json")
    both["poolInfo"]["poolId"] = "pool-1"
    assert _rules(check_job(both)) == [("poolInfo", "one-of")]
    assert _rules(check_job(_job(poolInfo={}))) == [("poolInfo", "one-of")]


def test_resource_files_and_user_identities_take_exactly_one_source() -> None:
    two_sources = {"httpUrl": "https://a/b", "storageContainerUrl": "https://a/c", "filePath": "b"}
    assert _rules(check_task(_task(resourceFiles=[two_sources]))) == [("resourceFiles[0]", "one-of")]
    identity = {"username": "u", "autoUser": {"scope": "task"}}
    problems = check_task(_task(userIdentity=identity))
    assert _rules(problems) == [("userIdentity", "one-of")]
    assert problems[0].message == "username and autoUser cannot be given together"


def test_unknown_properties_suggest_the_nearest_valid_name() -> None:
    problems = check_task({"id": "t", "comandLine": "x"})
    assert _rules(problems) == [("comandLine", "unknown-property"), ("commandLine", "required")]
    assert problems[0].message.endswith("did you mean commandLine?")
    nested = check_job(_job(constraints={"maxWallclockTime": "PT1H"}))
    assert nested[0].path == "constraints.maxWallclockTime" and "did you mean maxWallClockTime?" in nested[0].message


def test_unknown_properties_without_a_near_name_get_no_suggestion() -> None:
    problems = check_job(_job(certificateReferences=[]))
    assert _rules(problems) == [("certificateReferences", "unknown-property")]
    assert "did you mean" not in problems[0].message


def test_read_only_properties_are_refused_in_a_create_body() -> None:
    job = _example("job-create-full.json")
    image = job["poolInfo"]["autoPoolSpecification"]["pool"]["virtualMachineConfiguration"]["imageReference"]
    image["exactVersion"] = "1.0.0"
    assert _rules(check_job(job)) == [
        ("poolInfo.autoPoolSpecification.pool.virtualMachineConfiguration.imageReference.exactVersion", "read-only")]


# --- lists of named things and file paths -------------------------------------------------------------------

def test_environment_setting_names_must_be_unique() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B"}, {"name": "A", "value": "2"}]
    assert _rules(check_task(_task(environmentSettings=env))) == [("environmentSettings[2].name", "duplicate-name")]


def test_metadata_names_must_be_unique_and_not_empty() -> None:
    metadata = [{"name": "owner", "value": "a"}, {"name": "owner", "value": "b"}, {"name": "", "value": "c"}]
    assert _rules(check_job(_job(metadata=metadata))) == [("metadata[2].name", "length"),
                                                          ("metadata[1].name", "duplicate-name")]


@pytest.mark.parametrize("file_path", ["/etc/passwd", "../outside", "wd/../../x", "C:\\Windows\\x", "\\\\server\\s"])
def test_resource_file_paths_must_stay_inside_the_working_directory(file_path: str) -> None:
    problems = check_task(_task(resourceFiles=[{"httpUrl": "https://a/b", "filePath": file_path}]))
    assert _rules(problems) == [("resourceFiles[0].filePath", "relative-path")]


def test_relative_resource_file_paths_are_fine() -> None:
    files = [{"httpUrl": "https://a/b", "filePath": "in/data..csv"}, {"autoStorageContainerName": "c"}]
    assert check_task(_task(resourceFiles=files)) == []


# --- cross-field rules --------------------------------------------------------------------------------------

def test_depends_on_needs_a_job_with_task_dependencies() -> None:
    task = _task(dependsOn={"taskIds": ["a"]})
    assert _rules(check_task(task, {"usesTaskDependencies": False})) == [
        ("dependsOn", "cross-field:depends-on-needs-task-dependencies")]
    assert check_task(task, {"usesTaskDependencies": True}) == []
    assert check_task(task) == []  # the job is not known: the service decides


def test_job_action_anywhere_in_exit_conditions_needs_perform_exit_options() -> None:
    conditions = {"exitCodes": [{"code": 1, "exitOptions": {"dependencyAction": "block"}},
                                {"code": 2, "exitOptions": {"jobAction": "disable"}}],
                  "default": {"jobAction": "none"}}
    problems = check_task(_task(exitConditions=conditions), _job())
    assert _rules(problems) == [
        ("exitConditions.exitCodes[1].exitOptions.jobAction", "cross-field:job-action-needs-exit-options"),
        ("exitConditions.default.jobAction", "cross-field:job-action-needs-exit-options")]


def test_a_multi_instance_task_takes_exactly_one_slot() -> None:
    multi = {"numberOfInstances": 3, "coordinationCommandLine": "setup"}
    assert _rules(check_task(_task(multiInstanceSettings=multi, requiredSlots=2))) == [
        ("requiredSlots", "cross-field:multi-instance-slots")]
    assert check_task(_task(multiInstanceSettings=multi, requiredSlots=1.0)) == []


def test_a_release_task_needs_a_preparation_task() -> None:
    assert _rules(check_job(_job(jobReleaseTask={"commandLine": "cleanup"}))) == [
        ("jobReleaseTask", "cross-field:release-needs-preparation")]
    assert check_job(_job(jobPreparationTask={"commandLine": "p"}, jobReleaseTask={"commandLine": "r"})) == []


def test_pool_lifetime_jobschedule_is_refused_on_a_job_but_fine_on_a_schedule() -> None:
    job = _example("job-create-full.json")
    job["poolInfo"]["autoPoolSpecification"]["poolLifetimeOption"] = "jobSchedule"
    assert _rules(check_job(job)) == [("poolInfo.autoPoolSpecification.poolLifetimeOption",
                                       "cross-field:pool-lifetime-jobschedule")]
    del job["id"]
    schedule = {"id": "nightly", "schedule": {"recurrenceInterval": "P1D"}, "jobSpecification": job}
    assert check_job_schedule(schedule) == []


def test_ranges_must_not_end_before_they_start() -> None:
    conditions = {"exitCodeRanges": [{"start": 5, "end": 2, "exitOptions": {"dependencyAction": "block"}}]}
    ranges = {"taskIdRanges": [{"start": 1, "end": 10}, {"start": 9, "end": 3}]}
    problems = check_task(_task(exitConditions=conditions, dependsOn=ranges))
    assert _rules(problems) == [("exitConditions.exitCodeRanges[0].end", "cross-field:range-order"),
                                ("dependsOn.taskIdRanges[1].end", "cross-field:range-order")]


def test_http_url_needs_a_file_path_and_blob_prefix_needs_a_container() -> None:
    files = [{"httpUrl": "https://a/b"}, {"httpUrl": "https://a/c", "filePath": "c", "blobPrefix": "x/"},
             {"storageContainerUrl": "https://a/d", "blobPrefix": "x/"}]
    assert _rules(check_task(_task(resourceFiles=files))) == [
        ("resourceFiles[0].filePath", "cross-field:http-url-needs-file-path"),
        ("resourceFiles[1].blobPrefix", "cross-field:blob-prefix-needs-container")]


def test_autoscale_needs_a_formula_and_excludes_fixed_targets() -> None:
    problems = check_job(_auto_pool_job(enableAutoScale=True))
    pool = "poolInfo.autoPoolSpecification.pool"
    assert _rules(problems) == [(f"{pool}.autoScaleFormula", "cross-field:autoscale"),
                                (f"{pool}.targetDedicatedNodes", "cross-field:autoscale"),
                                (f"{pool}.targetLowPriorityNodes", "cross-field:autoscale")]
    assert _rules(check_job(_auto_pool_job(autoScaleFormula="$TargetDedicatedNodes=1"))) == [
        (f"{pool}.autoScaleFormula", "cross-field:autoscale")]


def test_a_marketplace_image_names_publisher_offer_and_sku_together() -> None:
    job = _example("job-create-full.json")
    image = job["poolInfo"]["autoPoolSpecification"]["pool"]["virtualMachineConfiguration"]["imageReference"]
    del image["sku"]
    assert _rules(check_job(job)) == [
        ("poolInfo.autoPoolSpecification.pool.virtualMachineConfiguration.imageReference.sku",
         "cross-field:marketplace-image")]


def test_a_task_id_may_not_reuse_the_jobs_preparation_or_release_task_id() -> None:
    job = _job(jobPreparationTask={"commandLine": "p"}, jobReleaseTask={"id": "cleanup", "commandLine": "r"})
    assert _rules(check_task(_task(id="JobPreparation"), job)) == [("id", "cross-field:task-id-reserved")]
    assert _rules(check_task(_task(id="cleanup"), job)) == [("id", "cross-field:task-id-reserved")]
    assert check_task(_task(id="jobrelease"), job) == []


def test_container_settings_must_match_an_auto_pool_that_is_described() -> None:
    containers = _example("job-create-full.json")
    vm = containers["poolInfo"]["autoPoolSpecification"]["pool"]["virtualMachineConfiguration"]
    vm["containerConfiguration"] = {"type": "dockerCompatible"}
    assert _rules(check_job(containers)) == [
        ("jobManagerTask.containerSettings", "cross-field:container-settings-match-pool")]
    container_task = _example("task-create-container.json")
    assert check_task(container_task, containers) == []
    assert _rules(check_task(container_task, _example("job-create-full.json"))) == [
        ("containerSettings", "cross-field:container-settings-match-pool")]


# --- secrets, preview unknowns, job schedules, transitions ---------------------------------------------------

def test_problem_messages_and_paths_never_contain_secret_values() -> None:
    registry = {"registryServer": "r.io", "username": "u", "password": SECRET, "bogus": SECRET}
    task = _task(containerSettings={"imageName": 7, "registry": registry},
                 environmentSettings=[{"name": "TOKEN", "value": SECRET}, {"name": "TOKEN", "value": SECRET}],
                 resourceFiles=[{"httpUrl": f"https://a/b?sig={SECRET}", "filePath": "/abs"}],
                 userIdentity={"autoUser": {"scope": SECRET}})
    problems = check_task(task)
    assert len(problems) == 5
    assert all(SECRET not in f"{p.path} {p.message}" for p in problems)


def test_preview_unknowns_are_not_checked_until_known() -> None:
    assert check_job({"id": _unknown(), "poolInfo": {"poolId": _unknown()}, "priority": _unknown()}) == []
    assert check_task(_task(resourceFiles=[_unknown()])) == []


def test_a_job_schedule_is_checked_with_the_job_fields_minus_id() -> None:
    spec = {"id": "nightly", "schedule": {"startWindow": "PT30S", "doNotRunUntil": "not a date"},
            "jobSpecification": {"id": "x", "poolInfo": {"poolId": "p"}}}
    assert _rules(check_job_schedule(spec)) == [
        ("schedule.startWindow", "range"), ("schedule.doNotRunUntil", "type"),
        ("jobSpecification.id", "unknown-property")]
    assert _rules(check_job_schedule({"id": "nightly"})) == [("schedule", "required"), ("jobSpecification", "required")]


def test_terminatejob_back_to_noaction_is_reported_when_the_old_spec_is_known() -> None:
    old = _job(onAllTasksComplete="terminatejob")
    for new in (_job(onAllTasksComplete="noAction"), _job()):
        problems = check_transition("job", old, new)
        assert _rules(problems) == [("onAllTasksComplete", "one-way")]
        assert "terminatejob back to noaction" in problems[0].message


def test_allowed_transitions_and_replacements_are_not_refused() -> None:
    assert check_transition("job", _job(), _job(onAllTasksComplete="terminatejob")) == []
    # A replaced job is created anew, so it can start over with noaction.
    renamed = _job(displayName="new", onAllTasksComplete="noaction")
    assert check_transition("job", _job(onAllTasksComplete="terminatejob"), renamed) == []
    assert check_transition("task", _task(), copy.deepcopy(_task(commandLine="other"))) == []
