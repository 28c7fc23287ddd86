"""Read models (section 5): what GET returns for a pool, job or task, built from a create body with the
defaults the service fills in (section 5.3) and enum values in their 2025-06-01 spelling (section 1.1).

Stored models keep `url` as a path (`/jobs/{id}`); the HTTP layer prefixes the endpoint when it answers.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from batch_api import JOB, JOB_REPLACE, POOL, TASK
from batch_api.defaults import copy_json as copy_json  # noqa: PLC0414 -- the backend copies stored JSON with it
from batch_api.defaults import reported_default, with_defaults
from batch_api.jobs import JOB_CONSTRAINTS
from batch_api.tasks import JOB_MANAGER_TASK, JOB_PREPARATION_TASK, JOB_RELEASE_TASK, TASK_CONSTRAINTS
from batch_service.backend.ids import etag, iso
from batch_service.validation import bodies

Model = dict[str, Any]

JOB_ORDER = (
    "id", "displayName", "usesTaskDependencies", "url", "eTag", "lastModified", "creationTime", "state",
    "stateTransitionTime", "previousState", "previousStateTransitionTime", "priority", "allowTaskPreemption",
    "maxParallelTasks", "constraints", "jobManagerTask", "jobPreparationTask", "jobReleaseTask",
    "commonEnvironmentSettings", "poolInfo", "onAllTasksComplete", "onTaskFailure", "networkConfiguration",
    "metadata", "executionInfo", "stats",
)
TASK_ORDER = (
    "id", "displayName", "url", "eTag", "creationTime", "lastModified", "exitConditions", "state",
    "stateTransitionTime", "previousState", "previousStateTransitionTime", "commandLine", "containerSettings",
    "resourceFiles", "outputFiles", "environmentSettings", "affinityInfo", "constraints", "requiredSlots",
    "userIdentity", "executionInfo", "nodeInfo", "multiInstanceSettings", "stats", "dependsOn",
    "applicationPackageReferences", "authenticationTokenSettings",
)
POOL_ORDER = (
    "id", "displayName", "url", "eTag", "lastModified", "creationTime", "state", "stateTransitionTime",
    "allocationState", "allocationStateTransitionTime", "vmSize", "virtualMachineConfiguration",
    "resizeTimeout", "currentDedicatedNodes", "currentLowPriorityNodes", "targetDedicatedNodes",
    "targetLowPriorityNodes", "enableAutoScale", "autoScaleFormula", "autoScaleEvaluationInterval",
    "enableInterNodeCommunication", "networkConfiguration", "startTask", "applicationPackageReferences",
    "taskSlotsPerNode", "taskSchedulingPolicy", "userAccounts", "metadata", "mountConfiguration",
    "upgradePolicy",
)
# The body fields of a task create that the job manager task shares (section 3.10).
_JM_TASK_FIELDS = (
    "id", "displayName", "commandLine", "containerSettings", "resourceFiles", "outputFiles",
    "environmentSettings", "constraints", "requiredSlots", "userIdentity", "applicationPackageReferences",
    "authenticationTokenSettings",
)

# --- enums stored in their canonical spelling (section 1.1: lowercase in 2025-06-01; bind-mount sources stay
# PascalCase, 3.9). The paths are listed here; the spellings come from the validation tables, stated once.
EnumPath = tuple[str, ...]
_USER: tuple[EnumPath, ...] = (("userIdentity", "autoUser", "scope"), ("userIdentity", "autoUser", "elevationLevel"))
_CONTAINER: tuple[EnumPath, ...] = (("containerSettings", "workingDirectory"),
                                    ("containerSettings", "containerHostBatchBindMounts", "*", "source"))
_OUTPUTS: tuple[EnumPath, ...] = (("outputFiles", "*", "uploadOptions", "uploadCondition"),)


def _exit_option_paths() -> list[EnumPath]:
    paths: list[EnumPath] = []
    for prefix in (("exitCodes", "*", "exitOptions"), ("exitCodeRanges", "*", "exitOptions"),
                   ("preProcessingError",), ("fileUploadError",), ("default",)):
        paths.append(("exitConditions", *prefix, "jobAction"))
        paths.append(("exitConditions", *prefix, "dependencyAction"))
    return paths


def _under(prefix: EnumPath, paths: Iterable[EnumPath]) -> tuple[EnumPath, ...]:
    return tuple((*prefix, *path) for path in paths)


_POOL_SPEC: tuple[EnumPath, ...] = (
    ("taskSchedulingPolicy", "nodeFillType"),
    ("taskSchedulingPolicy", "jobDefaultOrder"),
    ("virtualMachineConfiguration", "nodePlacementConfiguration", "policy"),
    ("virtualMachineConfiguration", "containerConfiguration", "type"),
    ("virtualMachineConfiguration", "dataDisks", "*", "caching"),
    ("virtualMachineConfiguration", "osDisk", "caching"),
    ("networkConfiguration", "dynamicVNetAssignmentScope"),
    ("upgradePolicy", "mode"),
    ("userAccounts", "*", "elevationLevel"),
    ("userAccounts", "*", "windowsUserConfiguration", "loginMode"),
    *_under(("startTask",), (*_USER, *_CONTAINER)),
)
_JOB_PATHS: tuple[EnumPath, ...] = (
    ("onAllTasksComplete",),
    ("onTaskFailure",),
    ("poolInfo", "autoPoolSpecification", "poolLifetimeOption"),
    *_under(("poolInfo", "autoPoolSpecification", "pool"), _POOL_SPEC),
    *_under(("jobManagerTask",), (*_USER, *_CONTAINER, *_OUTPUTS)),
    *_under(("jobPreparationTask",), (*_USER, *_CONTAINER)),
    *_under(("jobReleaseTask",), (*_USER, *_CONTAINER)),
)
EnumPaths = tuple[tuple[EnumPath, tuple[str, ...]], ...]


def _spelled(kind: str, paths: Iterable[EnumPath]) -> EnumPaths:
    return tuple((path, bodies.enum_spellings(kind, path)) for path in paths)


TASK_ENUMS: EnumPaths = _spelled("task", (*_USER, *_CONTAINER, *_OUTPUTS, *_exit_option_paths()))
POOL_ENUMS: EnumPaths = _spelled("pool", _POOL_SPEC)
JOB_ENUMS: EnumPaths = _spelled("job", _JOB_PATHS)


@functools.cache
def _spellings(paths: EnumPaths) -> tuple[tuple[tuple[str, ...], dict[str, str]], ...]:
    # Each path with its values by lower case, built once per table (the tables are module constants).
    return tuple((path, {value.lower(): value for value in values}) for path, values in paths)


def canonical_enums(body: Mapping[str, Any], paths: EnumPaths) -> Model:
    """A deep copy of `body` with every enum at `paths` in its canonical spelling (input is case-insensitive)."""
    result: Model = copy_json(dict(body))
    for path, spelling in _spellings(paths):
        if path[0] in result:
            _canonicalise(result, path, spelling)
    return result


def _canonicalise(node: Any, path: tuple[str, ...], spelling: dict[str, str]) -> None:
    if not path:
        return
    head, rest = path[0], path[1:]
    children = node if head == "*" and isinstance(node, list) else None
    if children is not None:
        for child in children:
            _canonicalise(child, rest, spelling)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _canonicalise(node[head], rest, spelling)
    elif isinstance(node[head], str):
        node[head] = spelling.get(node[head].lower(), node[head])


def ordered(model: Mapping[str, Any], order: tuple[str, ...]) -> Model:
    """`model` with its keys in the canonical order; keys not in `order` keep their place at the end."""
    known = {key: model[key] for key in order if key in model and model[key] is not None}
    extra = {key: value for key, value in model.items() if key not in known and value is not None}
    return {**known, **extra}


def stamp(model: Model, ticks: int) -> None:
    """Record a change made at `ticks`: new ETag and lastModified (section 5.1)."""
    model["eTag"] = etag(ticks)
    model["lastModified"] = iso(ticks)


def move_state(model: Model, to_state: str, ticks: int) -> None:
    """Enter `to_state`, keeping the previous state and both transition times (sections 5.1, 5.2)."""
    model["previousState"] = model["state"]
    model["previousStateTransitionTime"] = model["stateTransitionTime"]
    model["state"] = to_state
    model["stateTransitionTime"] = iso(ticks)


# --- jobs -----------------------------------------------------------------------------------------------------
# Every default below is the reported `default` of a batch_api table (section 5.3): none is written here.

def job_constraints(given: Mapping[str, Any] | None) -> Model:
    """Job constraints with their defaults; the object appears even when none was sent (section 5.3)."""
    return dict(with_defaults(JOB_CONSTRAINTS, given or {}))  # a job's own object, never a shared default


# The updatable job properties and what PUT resets an omitted one to (section 4.1); None = absent.
JOB_UPDATABLE_DEFAULTS: dict[str, Any] = {
    f.name: reported_default(JOB_REPLACE, f.name) for f in JOB_REPLACE.fields if f.name != "poolInfo"
}


def new_job(body: Mapping[str, Any], ticks: int, pool_id: str) -> Model:
    """The read model of a job just created from `body` (already validated and canonicalised)."""
    now = iso(ticks)
    model: Model = {key: body.get(key) for key in JOB_ORDER}
    model.update(with_defaults(JOB, body))
    model.update({
        # The auto-pool specification comes with its defaults filled in (with_defaults above), as the real
        # service reports it (recorded job GETs: node counts 0, Spread, PT15M, keepAlive false).
        "url": f"/jobs/{body['id']}", "eTag": etag(ticks), "lastModified": now, "creationTime": now,
        "state": "active", "stateTransitionTime": now,
        "executionInfo": {"startTime": now, "poolId": pool_id},
    })
    return ordered(model, JOB_ORDER)


def job_manager_defaults(task: Mapping[str, Any] | None) -> Model | None:
    """Job manager task with its reported defaults (section 3.10)."""
    return None if task is None else with_defaults(JOB_MANAGER_TASK, task)


def job_preparation_defaults(task: Mapping[str, Any] | None) -> Model | None:
    """Job preparation task with its reported defaults (section 3.10, id `jobpreparation`)."""
    return None if task is None else with_defaults(JOB_PREPARATION_TASK, task)


def job_release_defaults(task: Mapping[str, Any] | None) -> Model | None:
    """Job release task with its reported defaults (section 3.10, id `jobrelease`, 15 minutes, 7 days)."""
    return None if task is None else with_defaults(JOB_RELEASE_TASK, task)


def job_manager_as_task(job_manager: Mapping[str, Any]) -> Model:
    """The task-create body of the job manager task, which the service lists among the job's tasks."""
    return {key: job_manager[key] for key in _JM_TASK_FIELDS if key in job_manager}


# --- tasks ----------------------------------------------------------------------------------------------------

# Memory with many tasks: the sub-objects most tasks share (default constraints, the default user, the first
# executionInfo) are one object each, not one per task. Task models are never changed in place below their top
# level (a change replaces the whole sub-object: TaskOperations._apply_task_info, replace_task, reactivate), and
# every reader gets a deep copy (AccountState.public), so sharing them changes no behaviour.
_DEFAULT_USER_IDENTITY: Model = reported_default(TASK, "userIdentity")
_NEW_EXECUTION_INFO: Model = {"retryCount": 0, "requeueCount": 0}


@functools.lru_cache(maxsize=64)
def _default_constraints(max_task_retry_count: Any) -> Model:
    return with_defaults(TASK_CONSTRAINTS, {}, _inherited(max_task_retry_count))


def _inherited(max_task_retry_count: Any) -> dict[str, Any]:
    """The job values an omitted task field takes (batch_api's `inherit`)."""
    return {"constraints.maxTaskRetryCount": max_task_retry_count}


def share_common(stored: Model) -> Model:
    """A task read back from the store, holding no more memory than when it was added: the JSON decoder
    gives every task its own copy of every key and value, so keys are interned, the equal timestamps of a
    task share one string, and default sub-objects become the shared ones above (equal values)."""
    task: Model = _interned_keys(stored)
    for name in ("state", "previousState"):
        if isinstance(task.get(name), str):
            task[name] = sys.intern(task[name])
    for name in ("lastModified", "stateTransitionTime"):
        if task.get(name) == task.get("creationTime"):
            task[name] = task["creationTime"]
    if task.get("userIdentity") == _DEFAULT_USER_IDENTITY:
        task["userIdentity"] = _DEFAULT_USER_IDENTITY
    if task.get("executionInfo") == _NEW_EXECUTION_INFO:
        task["executionInfo"] = _NEW_EXECUTION_INFO
    constraints = task.get("constraints")
    if isinstance(constraints, dict) and isinstance(constraints.get("maxTaskRetryCount"), int):
        shared = _default_constraints(constraints["maxTaskRetryCount"])
        if constraints == shared:
            task["constraints"] = shared
    return task


def _interned_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {sys.intern(name): _interned_keys(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_interned_keys(item) for item in value]
    return value


def task_constraints(given: Mapping[str, Any] | None, job: Mapping[str, Any]) -> Model:
    """Task constraints with the section 3.5 defaults; the retry count defaults to the job's."""
    retries = job["constraints"]["maxTaskRetryCount"]
    if not given and isinstance(retries, int):
        return _default_constraints(retries)
    return with_defaults(TASK_CONSTRAINTS, given or {}, _inherited(retries))


def new_task(body: Mapping[str, Any], job: Mapping[str, Any], ticks: int) -> Model:
    """The read model of a task just added to `job` from `body` (validated and canonicalised)."""
    now = iso(ticks)
    # The shared default sub-objects go in first: with nothing left to fill, with_defaults keeps them as they are.
    prepared = {**body, "constraints": task_constraints(body.get("constraints"), job),
                "userIdentity": body.get("userIdentity") or _DEFAULT_USER_IDENTITY}
    computed: Model = dict(with_defaults(TASK, prepared, _inherited(job["constraints"]["maxTaskRetryCount"])))
    computed.update({
        "url": f"/jobs/{job['id']}/tasks/{body['id']}", "eTag": etag(ticks), "creationTime": now,
        "lastModified": now, "state": "active", "stateTransitionTime": now,
        "executionInfo": _NEW_EXECUTION_INFO,
        "nodeInfo": None, "stats": None,
    })
    # One pass in the canonical order: a computed value wins over the body's, nulls are left out.
    model: Model = {}
    for key in TASK_ORDER:
        value = computed[key] if key in computed else body.get(key)
        if value is not None:
            model[key] = value
    return model


# --- pools ----------------------------------------------------------------------------------------------------

def new_pool(body: Mapping[str, Any], ticks: int) -> Model:
    """The read model of a pool created from `body`; nodes appear at once (no allocation to wait for)."""
    now = iso(ticks)
    model: Model = {key: body.get(key) for key in POOL_ORDER}
    model.update(with_defaults(POOL, body))
    model.update({
        "url": f"/pools/{body['id']}", "eTag": etag(ticks), "lastModified": now, "creationTime": now,
        "state": "active", "stateTransitionTime": now, "allocationState": "steady",
        "allocationStateTransitionTime": now,
        "currentDedicatedNodes": model["targetDedicatedNodes"],
        "currentLowPriorityNodes": model["targetLowPriorityNodes"],
    })
    return ordered(model, POOL_ORDER)
