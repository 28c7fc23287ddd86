"""Cross-field rules named in the schema tables' `checks` (reference sections 3 and 7.2)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from providers.schema.model import Problem, is_unknown, join


@dataclass(frozen=True)
class CheckContext:
    """What a cross-field rule may look at besides the object it is attached to."""

    kind: str  # "job" | "task" | "job_schedule"
    job: dict[str, Any] | None  # the desired job spec, when checking a task and it is known


Rule = Callable[[dict[str, Any], str, CheckContext, list[Problem]], None]


def _lower(value: object) -> str:
    return value.lower() if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def relative_file_path(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.7: a resource file's filePath stays inside the task working directory."""
    file_path = value.get("filePath")
    if not isinstance(file_path, str):
        return
    absolute = file_path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", file_path) is not None
    if absolute or ".." in re.split(r"[/\\]", file_path):
        problems.append(Problem(join(path, "filePath"), "relative-path",
                                "filePath must be relative to the task working directory and must not use '..'"))


def http_url_needs_file_path(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.7: with httpUrl, filePath is required and names the file."""
    if value.get("httpUrl") is not None and value.get("filePath") is None:
        problems.append(Problem(join(path, "filePath"), "cross-field:http-url-needs-file-path",
                                "filePath is required when httpUrl is given"))


def blob_prefix_needs_container(value: dict[str, Any], path: str, ctx: CheckContext,
                                problems: list[Problem]) -> None:
    """3.7: blobPrefix applies only to container sources."""
    if value.get("blobPrefix") is not None and value.get("httpUrl") is not None:
        problems.append(Problem(join(path, "blobPrefix"), "cross-field:blob-prefix-needs-container",
                                "blobPrefix is only valid with autoStorageContainerName or storageContainerUrl"))


_RANGE_PAIRS = (("start", "end"), ("frontendPortRangeStart", "frontendPortRangeEnd"))


def range_order(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """Inclusive ranges (exit codes, task ids, NAT ports) must not end before they start."""
    for low_name, high_name in _RANGE_PAIRS:
        low, high = _int(value.get(low_name)), _int(value.get(high_name))
        if low is not None and high is not None and low > high:
            problems.append(Problem(join(path, high_name), "cross-field:range-order",
                                    f"{high_name} must not be less than {low_name}"))


def task_ids_total_length(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.9: the ids in dependsOn.taskIds together stay within 64000 characters (TaskDependencyListTooLong)."""
    ids = value.get("taskIds")
    if isinstance(ids, list) and sum(len(i) for i in ids if isinstance(i, str)) > 64000:
        problems.append(Problem(join(path, "taskIds"), "length",
                                "taskIds together must be at most 64000 characters (use taskIdRanges)"))


def multi_instance_slots(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.4: a multi-instance task takes exactly one slot."""
    slots = value.get("requiredSlots")
    if value.get("multiInstanceSettings") is not None and slots is not None and _int(slots) != 1:
        problems.append(Problem(join(path, "requiredSlots"), "cross-field:multi-instance-slots",
                                "requiredSlots must be 1 for a multi-instance task"))


def depends_on_needs_task_dependencies(value: dict[str, Any], path: str, ctx: CheckContext,
                                       problems: list[Problem]) -> None:
    """3.4: dependsOn needs a job created with usesTaskDependencies (else TaskDependenciesNotSpecifiedOnJob)."""
    if ctx.job is None or value.get("dependsOn") is None or is_unknown(ctx.job.get("usesTaskDependencies")):
        return
    if ctx.job.get("usesTaskDependencies") is not True:
        problems.append(Problem(join(path, "dependsOn"), "cross-field:depends-on-needs-task-dependencies",
                                "dependsOn needs the job's usesTaskDependencies to be true"))


def _job_actions(exit_conditions: object) -> list[str]:
    """Relative paths of every exitOptions.jobAction set in an exitConditions object."""
    if not isinstance(exit_conditions, dict):
        return []
    found = []
    for list_name in ("exitCodes", "exitCodeRanges"):
        entries = exit_conditions.get(list_name)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            options = entry.get("exitOptions") if isinstance(entry, dict) else None
            if isinstance(options, dict) and options.get("jobAction") is not None:
                found.append(f"{list_name}[{i}].exitOptions.jobAction")
    for name in ("preProcessingError", "fileUploadError", "default"):
        options = exit_conditions.get(name)
        if isinstance(options, dict) and options.get("jobAction") is not None:
            found.append(f"{name}.jobAction")
    return found


def job_action_needs_exit_options(value: dict[str, Any], path: str, ctx: CheckContext,
                                  problems: list[Problem]) -> None:
    """3.6: a jobAction is refused (400) unless the job's onTaskFailure is performexitoptionsjobaction."""
    on_failure = ctx.job.get("onTaskFailure") if ctx.job is not None else None
    if ctx.job is None or is_unknown(on_failure) or _lower(on_failure) == "performexitoptionsjobaction":
        return
    for relative in _job_actions(value.get("exitConditions")):
        problems.append(Problem(join(path, f"exitConditions.{relative}"), "cross-field:job-action-needs-exit-options",
                                "jobAction needs the job's onTaskFailure to be performexitoptionsjobaction"))


def task_id_reserved(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """7.2: a task id must differ from the job's preparation and release task ids (409 TaskIdSameAs...)."""
    if ctx.job is None or not isinstance(value.get("id"), str):
        return
    for name, default in (("jobPreparationTask", "jobpreparation"), ("jobReleaseTask", "jobrelease")):
        special = ctx.job.get(name)
        if isinstance(special, dict) and _lower(special.get("id") or default) == value["id"].lower():
            problems.append(Problem(join(path, "id"), "cross-field:task-id-reserved",
                                    f"the task id is already the id of the job's {name}"))


def _container_pool(job: dict[str, Any] | None) -> bool | None:
    """Whether the job's auto-pool runs containers; None when the pool is not described in the spec."""
    pool_info = job.get("poolInfo") if isinstance(job, dict) else None
    auto = pool_info.get("autoPoolSpecification") if isinstance(pool_info, dict) else None
    pool = auto.get("pool") if isinstance(auto, dict) else None
    vm = pool.get("virtualMachineConfiguration") if isinstance(pool, dict) else None
    if not isinstance(vm, dict) or is_unknown(vm.get("containerConfiguration")):
        return None
    return vm.get("containerConfiguration") is not None


def container_settings_match_pool(value: dict[str, Any], path: str, ctx: CheckContext,
                                  problems: list[Problem]) -> None:
    """3.4: containerSettings is required on a container pool and refused on any other."""
    is_job = "poolInfo" in value
    containers = _container_pool(value if is_job else ctx.job)
    if containers is None:
        return
    names = ("jobManagerTask", "jobPreparationTask", "jobReleaseTask") if is_job else ("",)
    for name in names:
        task = value.get(name) if name else value
        if not isinstance(task, dict):
            continue
        if containers != (task.get("containerSettings") is not None):
            wording = "is required: the pool runs containers" if containers else "needs a pool that runs containers"
            task_path = join(path, name) if name else path
            problems.append(Problem(join(task_path, "containerSettings"),
                                    "cross-field:container-settings-match-pool", f"containerSettings {wording}"))


def release_needs_preparation(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.1: a job release task needs a job preparation task."""
    if value.get("jobReleaseTask") is not None and value.get("jobPreparationTask") is None:
        problems.append(Problem(join(path, "jobReleaseTask"), "cross-field:release-needs-preparation",
                                "jobReleaseTask needs a jobPreparationTask"))


def pool_lifetime_jobschedule(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.2: poolLifetimeOption jobschedule is valid only inside a job schedule."""
    if ctx.kind != "job_schedule" and _lower(value.get("poolLifetimeOption")) == "jobschedule":
        problems.append(Problem(join(path, "poolLifetimeOption"), "cross-field:pool-lifetime-jobschedule",
                                "poolLifetimeOption jobschedule is only valid on a job schedule; use job"))


def autoscale(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.3: autoScaleFormula iff enableAutoScale; fixed node targets only without autoscale."""
    enabled = value.get("enableAutoScale") is True
    if enabled and value.get("autoScaleFormula") is None:
        problems.append(Problem(join(path, "autoScaleFormula"), "cross-field:autoscale",
                                "autoScaleFormula is required when enableAutoScale is true"))
    if not enabled and value.get("autoScaleFormula") is not None:
        problems.append(Problem(join(path, "autoScaleFormula"), "cross-field:autoscale",
                                "autoScaleFormula needs enableAutoScale to be true"))
    for name in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        if enabled and value.get(name) is not None:
            problems.append(Problem(join(path, name), "cross-field:autoscale",
                                    f"{name} cannot be given when enableAutoScale is true"))


def marketplace_image(value: dict[str, Any], path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    """3.3: a marketplace image names publisher, offer and sku together."""
    parts = ("publisher", "offer", "sku")
    given = [p for p in parts if value.get(p) is not None]
    if given and len(given) < len(parts):
        for missing in (p for p in parts if p not in given):
            problems.append(Problem(join(path, missing), "cross-field:marketplace-image",
                                    f"{missing} is required with {', '.join(given)}"))


CROSS_FIELD_RULES: dict[str, Rule] = {
    "relative-file-path": relative_file_path,
    "http-url-needs-file-path": http_url_needs_file_path,
    "blob-prefix-needs-container": blob_prefix_needs_container,
    "range-order": range_order,
    "task-ids-total-length": task_ids_total_length,
    "multi-instance-slots": multi_instance_slots,
    "depends-on-needs-task-dependencies": depends_on_needs_task_dependencies,
    "job-action-needs-exit-options": job_action_needs_exit_options,
    "task-id-reserved": task_id_reserved,
    "container-settings-match-pool": container_settings_match_pool,
    "release-needs-preparation": release_needs_preparation,
    "pool-lifetime-jobschedule": pool_lifetime_jobschedule,
    "autoscale": autoscale,
    "marketplace-image": marketplace_image,
}
