"""Request-body validation of the local Batch service, api-version 2025-06-01 (§3 schemas, §4 mutability, §7).

Every validate_* function is pure and raises ValidationError for the first problem it finds, walking the body
in schema order, before anything is stored: first one error naming every unknown property, then required
properties, JSON types, enums (any letter case), ranges and one-of groups table by table, then the rules that
need the stored job. Job state (e.g. "poolInfo may only change while disabled") is the backend's business;
changes_pool tells it when that check applies.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batch_service.validation.core import (
    ValidationError,
    check_body,
    comparable_form,
    join,
    obj,
    reject,
    with_canonical_enums,
)
from batch_service.validation.job_tables import JOB_TABLES
from batch_service.validation.pool_tables import POOL_TABLES

__all__ = [
    "ValidationError",
    "changes_pool",
    "normalise_enums",
    "validate_job_create",
    "validate_job_disable",
    "validate_job_patch",
    "validate_job_put",
    "validate_job_schedule_create",
    "validate_job_terminate",
    "validate_pool_create",
    "validate_task_collection",
    "validate_task_create",
    "validate_task_update",
]

SCHEMAS = {**JOB_TABLES, **POOL_TABLES}
# The request body type behind each `kind` that normalise_enums accepts.
BODY_TYPES = {
    "pool": "BatchPoolCreateOptions",
    "job": "BatchJobCreateOptions",
    "task": "BatchTaskCreateOptions",
    "job_patch": "BatchJobUpdateOptions",
    "job_put": "BatchJobReplaceOptions",
    "job_schedule": "BatchJobScheduleCreateOptions",
    "task_update": "BatchTaskUpdateOptions",
    "task_collection": "BatchTaskGroup",
}
_EXIT_OPTION_SLOTS = ("preProcessingError", "fileUploadError", "default")
_AUTO_POOL_FIELDS = ("autoPoolIdPrefix", "poolLifetimeOption", "pool")


def validate_pool_create(body: object) -> None:
    """Validate a POST /pools body (BatchPoolCreateOptions, §3.3)."""
    check_body(SCHEMAS, "BatchPoolCreateOptions", body)


def validate_job_create(body: object) -> None:
    """Validate a POST /jobs body (BatchJobCreateOptions, §3.1)."""
    check_body(SCHEMAS, "BatchJobCreateOptions", body)
    _no_job_schedule_lifetime(_as_mapping(body))


def validate_job_schedule_create(body: object) -> None:
    """Validate a POST /jobschedules body (BatchJobScheduleCreateOptions, §3.11)."""
    check_body(SCHEMAS, "BatchJobScheduleCreateOptions", body)


def validate_task_create(body: object, job: dict[str, Any]) -> None:
    """Validate a POST /jobs/{id}/tasks body (BatchTaskCreateOptions, §3.4) against the stored job."""
    check_body(SCHEMAS, "BatchTaskCreateOptions", body)
    _check_task_against_job(_as_mapping(body), job, "")


def validate_task_collection(body: object, job: dict[str, Any]) -> None:
    """Validate an addtaskcollection body: at most 100 tasks, each valid, no ID twice (§2.5)."""
    check_body(SCHEMAS, "BatchTaskGroup", body)
    first_index: dict[str, int] = {}
    for index, task in enumerate(_as_mapping(body)["value"]):
        path = f"value[{index}]"
        _check_task_against_job(task, job, path)
        # Task IDs are unique case-insensitively within a job (§3.4).
        key = task["id"].lower()
        if key in first_index:
            raise reject("InvalidPropertyValue", join(path, "id"),
                         f"the same task ID already appears at value[{first_index[key]}] in this request")
        first_index[key] = index


def validate_job_patch(body: object, job: dict[str, Any]) -> None:
    """Validate a PATCH /jobs/{id} body (BatchJobUpdateOptions, §4.1); absent fields stay unchanged."""
    check_body(SCHEMAS, "BatchJobUpdateOptions", body)
    update = _as_mapping(body)
    _no_job_schedule_lifetime(update)
    if update.get("onAllTasksComplete") is not None:
        _completion_is_one_way(update["onAllTasksComplete"], job)
    _only_keep_alive_changes(update, job)


def validate_job_put(body: object, job: dict[str, Any]) -> None:
    """Validate a PUT /jobs/{id} body (writable BatchJob, §4.1); absent fields go back to their defaults."""
    check_body(SCHEMAS, "BatchJobReplaceOptions", body)
    replacement = _as_mapping(body)
    _no_job_schedule_lifetime(replacement)
    # An omitted onAllTasksComplete resets to noaction, which a terminatejob job refuses (§4.1).
    _completion_is_one_way(replacement.get("onAllTasksComplete") or "noaction", job)
    _only_keep_alive_changes(replacement, job)


def validate_task_update(body: object) -> None:
    """Validate a PUT /jobs/{id}/tasks/{id} body: only `constraints` is writable (§4.2)."""
    check_body(SCHEMAS, "BatchTaskUpdateOptions", body)


def validate_job_disable(body: object) -> None:
    """Validate a POST /jobs/{id}/disable body: `disableTasks` is required (§2.1)."""
    check_body(SCHEMAS, "BatchJobDisableOptions", body)


def validate_job_terminate(body: object) -> None:
    """Validate a POST /jobs/{id}/terminate body; it is optional, so None (no body) is accepted (§2.1)."""
    if body is not None:
        check_body(SCHEMAS, "BatchJobTerminateOptions", body)


def normalise_enums(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A copy of `body` with every enum value in its 2025-06-01 spelling; other values are left alone."""
    if kind not in BODY_TYPES:
        raise ValueError(f"unknown body kind {kind!r}; expected one of {', '.join(BODY_TYPES)}")
    normalised: dict[str, Any] = with_canonical_enums(SCHEMAS, BODY_TYPES[kind], body)
    return normalised


def enum_spellings(kind: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """The 2025-06-01 spellings of the enum at `path` of a request body (`*` steps into list items), read
    from the tables: the one statement of each enum, which the backend also uses to store canonical values."""
    field = obj(BODY_TYPES[kind])
    for name in path:
        step = field.item if name == "*" else SCHEMAS[field.ref].fields[name]
        if step is None:
            raise KeyError(f"{kind}: {'.'.join(path)} is not a list")
        field = step
    if field.kind != "enum":
        raise KeyError(f"{kind}: {'.'.join(path)} is not an enum")
    return field.enum


def changes_pool(body: object, job: Mapping[str, Any]) -> bool:
    """Whether a PATCH/PUT body's poolInfo differs from the job's (then the job must be disabled, §4.1)."""
    if not isinstance(body, dict) or body.get("poolInfo") is None:
        return False
    return bool(pool_identity(body["poolInfo"]) != pool_identity(job.get("poolInfo")))


def _as_mapping(body: object) -> Mapping[str, Any]:
    # check_body has already proved the body is an object; this only narrows the type.
    assert isinstance(body, dict)
    return body


def pool_identity(pool_info: object) -> Any:
    """poolInfo in a form where equal means "the same pool": pool IDs compare case-insensitively (§4.4) and
    keepAlive defaults to false (§3.2). The one statement of that rule: the backend compares with it too."""
    reduced = comparable_form(SCHEMAS, "BatchPoolInfo", pool_info)
    if not isinstance(reduced, dict):
        return reduced
    if isinstance(reduced.get("poolId"), str):
        reduced["poolId"] = reduced["poolId"].lower()
    auto_pool = reduced.get("autoPoolSpecification")
    if isinstance(auto_pool, dict):
        auto_pool["keepAlive"] = auto_pool.get("keepAlive") is True  # documented default false (§3.2)
    return reduced


def _no_job_schedule_lifetime(body: Mapping[str, Any]) -> None:
    """poolLifetimeOption `jobschedule` is valid only on job schedules (§3.2)."""
    auto_pool = (body.get("poolInfo") or {}).get("autoPoolSpecification") or {}
    if str(auto_pool.get("poolLifetimeOption", "")).lower() == "jobschedule":
        raise reject("InvalidPropertyValue", "poolInfo.autoPoolSpecification.poolLifetimeOption",
                     "jobschedule is only valid on job schedules; use job")


def _completion_is_one_way(new_value: object, job: Mapping[str, Any]) -> None:
    """Once a job has onAllTasksComplete=terminatejob it cannot go back to noaction (§4.1)."""
    current = str(job.get("onAllTasksComplete") or "noaction").lower()
    if current == "terminatejob" and str(new_value).lower() == "noaction":
        raise reject("InvalidPropertyValue", "onAllTasksComplete",
                     "cannot be changed from terminatejob to noaction")


def _only_keep_alive_changes(body: Mapping[str, Any], job: Mapping[str, Any]) -> None:
    """Of an existing auto-pool specification only keepAlive can change (§4.1)."""
    new = (body.get("poolInfo") or {}).get("autoPoolSpecification")
    old = (job.get("poolInfo") or {}).get("autoPoolSpecification")
    if new is None or old is None:
        return
    new_form = comparable_form(SCHEMAS, "BatchAutoPoolSpecification", new)
    old_form = comparable_form(SCHEMAS, "BatchAutoPoolSpecification", old)
    for name in _AUTO_POOL_FIELDS:
        if new_form.get(name) != old_form.get(name):
            raise reject("InvalidPropertyValue", f"poolInfo.autoPoolSpecification.{name}",
                         "only keepAlive of an auto pool specification can be changed")


def _check_task_against_job(task: Mapping[str, Any], job: Mapping[str, Any], path: str) -> None:
    """The rules that need the stored job, in the task's schema order (exitConditions, dependsOn, IDs)."""
    conditions = task.get("exitConditions")
    if conditions and str(job.get("onTaskFailure") or "noaction").lower() == "noaction":
        _no_job_actions(conditions, join(path, "exitConditions"))
    if task.get("dependsOn") is not None and job.get("usesTaskDependencies") is not True:
        raise reject("TaskDependenciesNotSpecifiedOnJob", join(path, "dependsOn"),
                     "the job was not created with usesTaskDependencies set to true")
    _not_a_job_task_id(task["id"], job, join(path, "id"))


def _no_job_actions(conditions: Mapping[str, Any], path: str) -> None:
    """A jobAction other than none needs onTaskFailure=performexitoptionsjobaction on the job (§3.6)."""
    slots: list[tuple[str, Mapping[str, Any]]] = []
    for list_name in ("exitCodes", "exitCodeRanges"):
        for index, mapping in enumerate(conditions.get(list_name) or []):
            slots.append((f"{join(path, list_name)}[{index}].exitOptions", mapping["exitOptions"]))
    slots.extend((join(path, name), conditions[name]) for name in _EXIT_OPTION_SLOTS if conditions.get(name))
    for options_path, options in slots:
        action = options.get("jobAction")
        if action is not None and str(action).lower() != "none":
            raise reject("InvalidPropertyValue", join(options_path, "jobAction"),
                         "a jobAction other than none requires the job's onTaskFailure to be "
                         "performexitoptionsjobaction")


def _not_a_job_task_id(task_id: str, job: Mapping[str, Any], path: str) -> None:
    """A task may not take the ID of the job's preparation or release task (§3.4, 409)."""
    reserved = (("jobPreparationTask", "jobpreparation", "TaskIdSameAsJobPreparationTask"),
                ("jobReleaseTask", "jobrelease", "TaskIdSameAsJobReleaseTask"))
    for field, default_id, code in reserved:
        special = job.get(field)
        if isinstance(special, dict) and task_id.lower() == str(special.get("id") or default_id).lower():
            raise reject(code, path, f"the job's {field} already uses this ID", status=409)
