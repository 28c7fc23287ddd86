"""The schema tables: well-formed, complete where it matters, and the things derived from them."""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from batch_api import JOB, JOB_SCHEDULE, TASK
from batch_api.model import CHANGE_RULES, KINDS, NO_DEFAULT, Field, ObjectType, integer
from batch_api.normal import UNLIMITED_TEXT, DurationError, format_duration, parse_duration
from providers import schema
from providers.schema.check import check_spec, scalar_problem
from providers.schema.rules import CROSS_FIELD_RULES

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "examples"


def _walk(otype: ObjectType, prefix: str = "") -> Iterator[tuple[str, Field]]:
    for f in otype.fields:
        path = f"{prefix}.{f.name}" if prefix else f.name
        yield path, f
        if f.object_type is not None:
            yield from _walk(f.object_type, path)


def _all_fields() -> list[tuple[str, Field]]:
    return [(f"{kind}:{path}", f) for kind, root in schema.RESOURCES.items() for path, f in _walk(root)]


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return loaded


def test_every_field_has_a_known_kind_and_a_consistent_item() -> None:
    for path, f in _all_fields():
        assert f.kind in KINDS, path
        if f.kind == "object":
            assert isinstance(f.item, ObjectType), path
        if f.kind == "list":
            assert isinstance(f.item, ObjectType) or f.item in KINDS, path
        if f.kind == "enum" or f.item == "enum":
            assert f.enum and len({v.lower() for v in f.enum}) == len(f.enum), path


def test_every_change_rule_and_cross_field_check_named_in_the_tables_exists() -> None:
    for path, f in _all_fields():
        assert f.change is None or f.change in CHANGE_RULES, path
        assert not f.refuse or f.change == schema.ONE_WAY, path
        if f.object_type is not None:
            for name in f.object_type.checks:
                assert name in CROSS_FIELD_RULES, f"{path}: {name}"
    for name in JOB.checks + TASK.checks:
        assert name in CROSS_FIELD_RULES


def test_every_default_is_valid_for_its_own_field() -> None:
    for path, f in _all_fields():
        if f.default is NO_DEFAULT or f.object_type is not None:
            continue
        assert scalar_problem(f, f.kind, f.default, path) is None, path


def test_every_top_level_job_and_task_field_has_a_change_rule() -> None:
    # poolInfo is the one container without a rule of its own: each of its leaves decides.
    assert [f.name for f in JOB.fields if f.change is None] == ["poolInfo"]
    assert [f.name for f in TASK.fields if f.change is None] == []
    assert [f.name for f in TASK.fields if f.change == schema.UPDATE] == ["constraints"]


def test_job_patchable_fields_are_exactly_the_ones_patch_accepts() -> None:
    patchable = {f.name for f in JOB.fields if f.change in (schema.PATCH, schema.ONE_WAY)}
    assert patchable == {"priority", "allowTaskPreemption", "maxParallelTasks", "constraints",
                         "onAllTasksComplete", "metadata"}


def test_secret_fields_are_the_credentials_urls_and_environment_values() -> None:
    secret = {path.split(":", 1)[1] for path, f in _all_fields() if f.secret and path.startswith("job:")}
    pool = "poolInfo.autoPoolSpecification.pool"
    expected = {
        f"{pool}.userAccounts.password", f"{pool}.userAccounts.linuxUserConfiguration.sshPrivateKey",
        f"{pool}.mountConfiguration.azureBlobFileSystemConfiguration.accountKey",
        f"{pool}.mountConfiguration.azureBlobFileSystemConfiguration.sasKey",
        f"{pool}.mountConfiguration.cifsMountConfiguration.password",
        f"{pool}.mountConfiguration.azureFileShareConfiguration.accountKey",
        f"{pool}.virtualMachineConfiguration.extensions.protectedSettings",
        f"{pool}.virtualMachineConfiguration.containerConfiguration.containerRegistries.password",
        "jobManagerTask.containerSettings.registry.password", "jobManagerTask.resourceFiles.httpUrl",
        "jobManagerTask.resourceFiles.storageContainerUrl", "jobManagerTask.environmentSettings.value",
        "jobManagerTask.outputFiles.destination.container.containerUrl", "commonEnvironmentSettings.value",
    }
    assert expected <= secret


def test_credentials_the_service_may_hide_are_write_only_and_secret() -> None:
    write_only = {path.rsplit(".", 1)[-1] for path, f in _all_fields() if f.write_only}
    assert write_only == {"password", "sshPrivateKey", "accountKey", "sasKey", "protectedSettings"}
    assert all(f.secret for _, f in _all_fields() if f.write_only)


def test_rule_for_takes_the_outermost_rule_on_the_path() -> None:
    jm = schema.rule_for("job", ["jobManagerTask", "constraints", "maxWallClockTime"])
    assert (jm.rule, jm.owner) == (schema.REPLACE, "jobManagerTask")
    assert schema.rule_for("job", ["priority"]).rule == schema.PATCH
    assert schema.rule_for("job", ["constraints", "maxTaskRetryCount"]).rule == schema.PATCH
    assert schema.rule_for("job", ["metadata", 0, "value"]).rule == schema.PATCH
    assert schema.rule_for("task", ["constraints", "retentionTime"]).rule == schema.UPDATE
    assert schema.rule_for("task", ["commandLine"]).rule == schema.REPLACE


def test_pool_info_leaves_decide_and_a_container_is_as_strict_as_its_strictest_leaf() -> None:
    auto = ["poolInfo", "autoPoolSpecification"]
    assert schema.rule_for("job", ["poolInfo", "poolId"]).rule == schema.PATCH_WHEN_DISABLED
    assert schema.rule_for("job", [*auto, "keepAlive"]).rule == schema.PATCH
    assert schema.rule_for("job", [*auto, "pool", "vmSize"]).rule == schema.REPLACE
    whole = schema.rule_for("job", auto)
    assert (whole.rule, whole.owner) == (schema.REPLACE, "poolInfo.autoPoolSpecification")


def test_inside_a_job_schedule_the_whole_job_specification_is_patched() -> None:
    match = schema.rule_for("job_schedule", ["jobSpecification", "poolInfo", "poolId"])
    assert (match.rule, match.owner) == (schema.PATCH, "jobSpecification")
    assert schema.rule_for("job_schedule", ["id"]).rule == schema.REPLACE


def test_job_specification_is_the_job_table_without_id() -> None:
    spec_field = JOB_SCHEDULE.field("jobSpecification")
    assert spec_field is not None and spec_field.object_type is not None
    assert spec_field.object_type.names() == [n for n in JOB.names() if n != "id"]


def test_rule_for_marks_paths_through_a_secret_field_secret() -> None:
    assert schema.rule_for("task", ["environmentSettings", 2, "value"]).secret
    assert schema.rule_for("task", ["containerSettings", "registry", "password"]).secret
    assert not schema.rule_for("task", ["environmentSettings", 2, "name"]).secret


def test_a_new_api_field_is_one_line_in_a_table() -> None:
    extended = replace(JOB, fields=(*JOB.fields, integer("newKnob", range=(0, 5), default=0)))
    spec = {"id": "j", "poolInfo": {"poolId": "p"}}
    assert check_spec("job", extended, {**spec, "newKnob": 3}) == []
    assert [p.rule for p in check_spec("job", extended, {**spec, "newKnob": 9})] == ["range"]


def test_coerce_numbers_turns_integral_floats_into_ints_only_where_the_table_says_int() -> None:
    spec = {
        "id": "t", "commandLine": "x", "requiredSlots": 2.0,
        "exitConditions": {"exitCodeRanges": [{"start": 2.0, "end": 4.0, "exitOptions": {}}]},
        "constraints": {"maxTaskRetryCount": -1.0, "maxWallClockTime": "PT1H"},
        "displayName": 3.0, "unknownThing": 5.0,
    }
    original = copy.deepcopy(spec)
    coerced = schema.coerce_numbers("task", spec)
    assert coerced["requiredSlots"] == 2 and type(coerced["requiredSlots"]) is int
    assert coerced["exitConditions"]["exitCodeRanges"][0] == {"start": 2, "end": 4, "exitOptions": {}}
    assert type(coerced["constraints"]["maxTaskRetryCount"]) is int
    assert type(coerced["displayName"]) is float  # a string field: the wrong type is check's business
    assert type(coerced["unknownThing"]) is float
    assert spec == original


def test_coerce_numbers_leaves_fractions_and_booleans_alone() -> None:
    coerced = schema.coerce_numbers("job", {"priority": 1.5, "allowTaskPreemption": True, "poolInfo": {}})
    assert coerced["priority"] == 1.5 and coerced["allowTaskPreemption"] is True


def test_change_rule_markdown_is_generated_from_the_tables() -> None:
    text = schema.change_rule_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| Batch")]
    assert "| BatchJob | `priority` | update in place (PATCH) |" in text
    assert "| BatchJob | `poolInfo.poolId` | update in place (disable the job, PATCH, enable) |" in text
    assert "| BatchJob | `poolInfo.autoPoolSpecification.keepAlive` | update in place (PATCH) |" in text
    assert "terminatejob → noaction refused" in text
    assert "| BatchJob | `jobManagerTask` | **replace** |" in text
    assert "| BatchTask | `constraints` | update in place (PUT constraints) |" in text
    # One row per top-level field of each create body (api-version 2025-06-01: Job - Add, Task - Add, Job
    # Schedule - Add), the job's poolInfo split into the leaves whose rules differ.
    job_paths = [row.split("`")[1] for row in rows if row.startswith("| BatchJob ")]
    assert sorted(job_paths) == sorted(DOCUMENTED_JOB_FIELDS + [
        "poolInfo.poolId", "poolInfo.autoPoolSpecification.autoPoolIdPrefix",
        "poolInfo.autoPoolSpecification.poolLifetimeOption", "poolInfo.autoPoolSpecification.keepAlive",
        "poolInfo.autoPoolSpecification.pool"])
    task_paths = [row.split("`")[1] for row in rows if row.startswith("| BatchTask ")]
    assert sorted(task_paths) == sorted(DOCUMENTED_TASK_FIELDS)
    assert "| BatchJobSchedule | `schedule` | update in place (PATCH) |" in text
    assert "| BatchJobSchedule | `displayName` | **replace** |" in text
    schedule_paths = [row.split("`")[1] for row in rows if row.startswith("| BatchJobSchedule ")]
    assert sorted(schedule_paths) == ["displayName", "id", "jobSpecification", "metadata", "schedule"]
    assert len(rows) == len(job_paths) + len(task_paths) + len(schedule_paths)


# The create bodies' top-level properties in the 2025-06-01 REST reference (BatchJobCreateOptions without
# poolInfo, which the rows split; BatchTaskCreateOptions).
DOCUMENTED_JOB_FIELDS = [
    "allowTaskPreemption", "commonEnvironmentSettings", "constraints", "displayName", "id", "jobManagerTask",
    "jobPreparationTask", "jobReleaseTask", "maxParallelTasks", "metadata", "networkConfiguration",
    "onAllTasksComplete", "onTaskFailure", "priority", "usesTaskDependencies"]
DOCUMENTED_TASK_FIELDS = [
    "affinityInfo", "applicationPackageReferences", "authenticationTokenSettings", "commandLine", "constraints",
    "containerSettings", "dependsOn", "displayName", "environmentSettings", "exitConditions", "id",
    "multiInstanceSettings", "outputFiles", "requiredSlots", "resourceFiles", "userIdentity"]


def test_secret_paths_and_redact_cover_every_secret_value_of_the_full_example() -> None:
    spec = _example("job-create-full.json")
    paths = schema.secret_paths("job", spec)
    assert "jobManagerTask.environmentSettings[0].value" in paths
    assert "poolInfo.autoPoolSpecification.pool.startTask.resourceFiles[0].httpUrl" in paths
    redacted = schema.redact("job", spec)
    assert redacted["jobManagerTask"]["environmentSettings"][0] == {"name": "myvariable", "value": "***"}
    assert redacted["jobManagerTask"]["commandLine"] == "myprogram.exe"
    assert "myvalue" not in json.dumps(redacted["jobManagerTask"])
    assert spec["jobManagerTask"]["environmentSettings"][0]["value"] == "myvalue"


def test_unknown_resource_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown resource kind 'pool'"):
        schema.coerce_numbers("pool", {})


def test_durations_compare_as_values_and_unlimited_means_unset() -> None:
    assert parse_duration("PT1H") == parse_duration("PT01H00M00S") == timedelta(hours=1)
    assert parse_duration(UNLIMITED_TEXT) is None
    assert format_duration(None) == UNLIMITED_TEXT
    assert format_duration(timedelta(minutes=90)) == "PT1H30M"


def test_durations_refuse_years_months_and_free_text() -> None:
    with pytest.raises(DurationError, match="years and months"):
        parse_duration("P1Y")
    with pytest.raises(DurationError, match="ISO-8601"):
        parse_duration("1 hour")
