"""Cross-field rules of 2025-06-01, each written once and stating who enforces it (reference sections 3, 7.2).

A rule yields Violations: the property it names (relative to the object the rule is attached to), a message
that never echoes a value, and the service's error code. The local service raises the first one as its 400;
the providers report each as a preview Problem. A rule enforced by the PROVIDER only is a preview check the
service does not make.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from batch_api.model import MISSING, PROVIDER, SERVICE, Check, Rule, RuleContext, Violation, is_unknown, join

Value = Mapping[str, Any]


def _lower(value: object) -> str:
    return value.lower() if isinstance(value, str) else ""


def as_int(value: object) -> int | None:
    """The integer a JSON number stands for; booleans are not numbers, integral floats like 3.0 are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _given(value: Value, name: str) -> bool:
    """JSON null counts as absent, as it does for the service's optional properties."""
    return value.get(name) is not None


def requires(name: str, when: str, needed: str, message: str, preview: bool = True) -> Rule:
    """A rule: when `when` is given, `needed` must be too (MissingRequiredProperty at `needed`)."""
    def check(value: Value, ctx: RuleContext) -> Iterator[Violation]:
        if _given(value, when) and not _given(value, needed):
            yield Violation(needed, message, MISSING)
    return Rule(name, SERVICE, check, f"{needed} is required when {when} is given", preview)


def excludes(name: str, when: str, banned: str, message: str, preview: bool = True) -> Rule:
    """A rule: when `when` is given, `banned` must not be (InvalidPropertyValue at `banned`)."""
    def check(value: Value, ctx: RuleContext) -> Iterator[Violation]:
        if _given(value, when) and _given(value, banned):
            yield Violation(banned, message)
    return Rule(name, SERVICE, check, f"{banned} is not allowed with {when}", preview)


def rule(name: str, enforced_by: str = SERVICE, preview: bool = True) -> Callable[[Check], Rule]:
    """Decorator: a check function becomes a Rule of that name (its docstring says why)."""
    def wrap(check: Check) -> Rule:
        return Rule(name, enforced_by, check, (check.__doc__ or "").strip(), preview)
    return wrap


# --- files and ranges -----------------------------------------------------------------------------------------

_ESCAPING_PATH = re.compile(r"^([/\\]|[A-Za-z]:)|(^|[/\\])\.\.([/\\]|$)")


@rule("relative-file-path")
def relative_file_path(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.7: a resource file's filePath stays inside the task working directory."""
    file_path = value.get("filePath")
    if isinstance(file_path, str) and _ESCAPING_PATH.search(file_path):
        yield Violation("filePath", "filePath must be relative to the task working directory and must not "
                        "use '..'", label="relative-path")


HTTP_URL_NEEDS_FILE_PATH = requires("http-url-needs-file-path", "httpUrl", "filePath",
                                    "filePath is required when httpUrl is given")
BLOB_PREFIX_NEEDS_CONTAINER = excludes(
    "blob-prefix-needs-container", "httpUrl", "blobPrefix",
    "blobPrefix is only valid with autoStorageContainerName or storageContainerUrl")

_RANGE_PAIRS = (("start", "end"), ("frontendPortRangeStart", "frontendPortRangeEnd"))


@rule("range-order")
def range_order(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """Inclusive ranges (exit codes, task ids, NAT ports) must not end before they start."""
    for low_name, high_name in _RANGE_PAIRS:
        low, high = as_int(value.get(low_name)), as_int(value.get(high_name))
        if low is not None and high is not None and low > high:
            yield Violation(high_name, f"{high_name} must not be less than {low_name}")


# --- tasks ----------------------------------------------------------------------------------------------------

# 3.9: the combined length of dependsOn.taskIds is capped at 64000 characters (TaskDependencyListTooLong).
DEPENDENCY_IDS_MAX_CHARS = 64000
# 3.9 documents "too many ranges" without a number; 1000 matches the service's other per-request caps.
DEPENDENCY_RANGES_MAX = 1000


@rule("task-dependency-limits")
def task_dependency_limits(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.9: dependsOn.taskIds together stay within 64000 characters, taskIdRanges within 1000 ranges."""
    ids = value.get("taskIds")
    if isinstance(ids, list) and sum(len(i) for i in ids if isinstance(i, str)) > DEPENDENCY_IDS_MAX_CHARS:
        yield Violation("taskIds", f"taskIds together must be at most {DEPENDENCY_IDS_MAX_CHARS} characters "
                        "(use taskIdRanges)", "TaskDependencyListTooLong", label="length")
    ranges = value.get("taskIdRanges")
    if isinstance(ranges, list) and len(ranges) > DEPENDENCY_RANGES_MAX:
        yield Violation("taskIdRanges", f"a task may depend on at most {DEPENDENCY_RANGES_MAX} task id ranges",
                        "TaskDependencyRangesTooLong", label="length")


@rule("multi-instance-slots")
def multi_instance_slots(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.4: a multi-instance task takes exactly one slot."""
    slots = value.get("requiredSlots")
    if value.get("multiInstanceSettings") is not None and slots is not None and as_int(slots) != 1:
        yield Violation("requiredSlots", "requiredSlots must be 1 for a multi-instance task")


@rule("depends-on-needs-task-dependencies")
def depends_on_needs_task_dependencies(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.4: dependsOn needs a job created with usesTaskDependencies (else TaskDependenciesNotSpecifiedOnJob)."""
    if ctx.job is None or value.get("dependsOn") is None or is_unknown(ctx.job.get("usesTaskDependencies")):
        return
    if ctx.job.get("usesTaskDependencies") is not True:
        yield Violation("dependsOn", "dependsOn needs the job's usesTaskDependencies to be true",
                        "TaskDependenciesNotSpecifiedOnJob")


_EXIT_OPTION_SLOTS = ("preProcessingError", "fileUploadError", "default")


def _job_actions(exit_conditions: object) -> Iterator[tuple[str, object]]:
    """Relative path and value of every exitOptions.jobAction set in an exitConditions object."""
    if not isinstance(exit_conditions, Mapping):
        return
    for list_name in ("exitCodes", "exitCodeRanges"):
        entries = exit_conditions.get(list_name)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            options = entry.get("exitOptions") if isinstance(entry, Mapping) else None
            if isinstance(options, Mapping) and options.get("jobAction") is not None:
                yield f"{list_name}[{i}].exitOptions.jobAction", options["jobAction"]
    for name in _EXIT_OPTION_SLOTS:
        options = exit_conditions.get(name)
        if isinstance(options, Mapping) and options.get("jobAction") is not None:
            yield f"{name}.jobAction", options["jobAction"]


def _job_action_violations(value: Value, ctx: RuleContext, none_too: bool) -> Iterator[Violation]:
    on_failure = ctx.job.get("onTaskFailure") if ctx.job is not None else None
    if ctx.job is None or is_unknown(on_failure) or _lower(on_failure) == "performexitoptionsjobaction":
        return
    for relative, action in _job_actions(value.get("exitConditions")):
        if (_lower(action) == "none") == none_too:
            yield Violation(f"exitConditions.{relative}",
                            "jobAction needs the job's onTaskFailure to be performexitoptionsjobaction",
                            label="cross-field:job-action-needs-exit-options")


@rule("job-action-needs-exit-options")
def job_action_needs_exit_options(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.6: a jobAction other than none is refused (400) unless the job's onTaskFailure is
    performexitoptionsjobaction."""
    yield from _job_action_violations(value, ctx, none_too=False)


@rule("job-action-none-needs-exit-options", PROVIDER)
def job_action_none_needs_exit_options(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.6: the reference says any jobAction, none included, is refused on a noaction job; the local service
    accepts none, so the providers alone refuse it at preview."""
    yield from _job_action_violations(value, ctx, none_too=True)


@rule("task-id-reserved")
def task_id_reserved(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """7.2: a task id must differ from the job's preparation and release task ids (409 TaskIdSameAs...)."""
    if ctx.job is None or not isinstance(value.get("id"), str):
        return
    for name, default, code in (("jobPreparationTask", "jobpreparation", "TaskIdSameAsJobPreparationTask"),
                                ("jobReleaseTask", "jobrelease", "TaskIdSameAsJobReleaseTask")):
        special = ctx.job.get(name)
        if isinstance(special, Mapping) and _lower(special.get("id") or default) == value["id"].lower():
            yield Violation("id", f"the task id is already the id of the job's {name}", code, status=409)


def _container_pool(job: Mapping[str, Any] | None) -> bool | None:
    """Whether the job's auto-pool runs containers; None when the pool is not described in the spec."""
    pool_info = job.get("poolInfo") if isinstance(job, Mapping) else None
    auto = pool_info.get("autoPoolSpecification") if isinstance(pool_info, Mapping) else None
    pool = auto.get("pool") if isinstance(auto, Mapping) else None
    vm = pool.get("virtualMachineConfiguration") if isinstance(pool, Mapping) else None
    if not isinstance(vm, Mapping) or is_unknown(vm.get("containerConfiguration")):
        return None
    return vm.get("containerConfiguration") is not None


@rule("container-settings-match-pool", PROVIDER)
def container_settings_match_pool(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.4: containerSettings is required on a container pool and refused on any other."""
    is_job = "poolInfo" in value
    containers = _container_pool(value if is_job else ctx.job)
    if containers is None:
        return
    for name in ("jobManagerTask", "jobPreparationTask", "jobReleaseTask") if is_job else ("",):
        task = value.get(name) if name else value
        if isinstance(task, Mapping) and containers != (task.get("containerSettings") is not None):
            wording = "is required: the pool runs containers" if containers else "needs a pool that runs containers"
            yield Violation(join(name, "containerSettings"), f"containerSettings {wording}")


# --- jobs -----------------------------------------------------------------------------------------------------

@rule("release-needs-preparation")
def release_needs_preparation(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.1 / 3.10: a job release task needs a job preparation task."""
    if value.get("jobReleaseTask") is not None and value.get("jobPreparationTask") is None:
        yield Violation("jobReleaseTask", "jobReleaseTask needs a jobPreparationTask")


@rule("pool-lifetime-jobschedule")
def pool_lifetime_jobschedule(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.2: poolLifetimeOption jobschedule is valid only inside a job schedule."""
    if ctx.kind != "job_schedule" and _lower(value.get("poolLifetimeOption")) == "jobschedule":
        yield Violation("poolLifetimeOption", "poolLifetimeOption jobschedule is only valid on a job schedule; "
                        "use job")
