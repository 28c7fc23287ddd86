"""Typed shapes of the REST create bodies (for editors), and the live read model cut back to them.

The bodies stay plain dicts in camelCase so any documented example pastes in unchanged; these TypedDicts only
help editors and type checkers. The full field list, limits and change rules live in `providers/schema.py`.
"""
from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "EnvironmentSetting", "ExitConditions", "ExitOptions", "JobConstraints", "JobManagerTask",
    "JobPreparationTask", "JobReleaseTask", "JobSpec", "MetadataItem", "PoolInfo", "ResourceFile",
    "TaskConstraints", "TaskContainerSettings", "TaskDependencies", "TaskSpec", "UserIdentity",
    "live_job_spec", "live_task_spec",
]


class EnvironmentSetting(TypedDict, total=False):
    """`{name, value}`; the task's value wins over the job's `commonEnvironmentSettings`."""

    name: str
    value: str


class MetadataItem(TypedDict):
    """Opaque name/value pair."""

    name: str
    value: str


class ResourceFile(TypedDict, total=False):
    """Exactly one of autoStorageContainerName / storageContainerUrl / httpUrl."""

    autoStorageContainerName: str
    storageContainerUrl: str
    httpUrl: str
    blobPrefix: str
    filePath: str
    fileMode: str
    identityReference: dict[str, str]


class TaskConstraints(TypedDict, total=False):
    """Durations are ISO 8601 (`PT1H`)."""

    maxWallClockTime: str
    retentionTime: str
    maxTaskRetryCount: int


class JobConstraints(TypedDict, total=False):
    """`maxWallClockTime` counts from job creation."""

    maxWallClockTime: str
    maxTaskRetryCount: int


class AutoUser(TypedDict, total=False):
    """The auto user a task runs as."""

    scope: Literal["task", "pool"]
    elevationLevel: Literal["nonadmin", "admin"]


class UserIdentity(TypedDict, total=False):
    """Exactly one of username / autoUser."""

    username: str
    autoUser: AutoUser


class TaskContainerSettings(TypedDict, total=False):
    """Run the task in a container (the pool must have a container configuration)."""

    imageName: str
    containerRunOptions: str
    registry: dict[str, Any]
    workingDirectory: Literal["taskWorkingDirectory", "containerImageDefault"]
    containerHostBatchBindMounts: list[dict[str, Any]]


class ExitOptions(TypedDict, total=False):
    """What a matching exit does to the job and to dependent tasks."""

    jobAction: Literal["none", "disable", "terminate"]
    dependencyAction: Literal["satisfy", "block"]


class ExitConditions(TypedDict, total=False):
    """Exit codes, ranges and error kinds mapped to ExitOptions."""

    exitCodes: list[dict[str, Any]]
    exitCodeRanges: list[dict[str, Any]]
    preProcessingError: ExitOptions
    fileUploadError: ExitOptions
    default: ExitOptions


class TaskDependencies(TypedDict, total=False):
    """Parents by id and by inclusive integer ranges."""

    taskIds: list[str]
    taskIdRanges: list[dict[str, int]]


class _TaskCommon(TypedDict, total=False):
    containerSettings: TaskContainerSettings
    resourceFiles: list[ResourceFile]
    environmentSettings: list[EnvironmentSetting]
    userIdentity: UserIdentity


class JobManagerTask(_TaskCommon, total=False):
    """Runs first and, by default, ends the job when it completes."""

    id: str
    displayName: str
    commandLine: str
    outputFiles: list[dict[str, Any]]
    constraints: TaskConstraints
    requiredSlots: int
    killJobOnCompletion: bool
    runExclusive: bool
    applicationPackageReferences: list[dict[str, str]]
    allowLowPriorityNode: bool
    authenticationTokenSettings: dict[str, Any]


class JobPreparationTask(_TaskCommon, total=False):
    """Runs once per node before the job's tasks there."""

    id: str
    commandLine: str
    constraints: TaskConstraints
    waitForSuccess: bool
    rerunOnNodeRebootAfterSuccess: bool


class JobReleaseTask(_TaskCommon, total=False):
    """Runs on each node where the preparation task ran, when the job ends."""

    id: str
    commandLine: str
    maxWallClockTime: str
    retentionTime: str


class PoolInfo(TypedDict, total=False):
    """Exactly one of poolId / autoPoolSpecification."""

    poolId: str
    autoPoolSpecification: dict[str, Any]


class JobSpec(TypedDict, total=False):
    """Body of POST /jobs (BatchJobCreateOptions, api-version 2025-06-01)."""

    id: str
    displayName: str
    usesTaskDependencies: bool
    priority: int
    allowTaskPreemption: bool
    maxParallelTasks: int
    constraints: JobConstraints
    jobManagerTask: JobManagerTask
    jobPreparationTask: JobPreparationTask
    jobReleaseTask: JobReleaseTask
    commonEnvironmentSettings: list[EnvironmentSetting]
    poolInfo: PoolInfo
    onAllTasksComplete: Literal["noaction", "terminatejob"]
    onTaskFailure: Literal["noaction", "performexitoptionsjobaction"]
    networkConfiguration: dict[str, Any]
    metadata: list[MetadataItem]


class TaskSpec(TypedDict, total=False):
    """Body of POST /jobs/{jobId}/tasks (BatchTaskCreateOptions, api-version 2025-06-01)."""

    id: str
    displayName: str
    commandLine: str
    exitConditions: ExitConditions
    containerSettings: TaskContainerSettings
    resourceFiles: list[ResourceFile]
    outputFiles: list[dict[str, Any]]
    environmentSettings: list[EnvironmentSetting]
    affinityInfo: dict[str, str]
    constraints: TaskConstraints
    requiredSlots: int
    userIdentity: UserIdentity
    multiInstanceSettings: dict[str, Any]
    dependsOn: TaskDependencies
    applicationPackageReferences: list[dict[str, str]]
    authenticationTokenSettings: dict[str, Any]


def live_job_spec(live: dict[str, Any]) -> dict[str, Any]:
    """The create-body fields of a live job (what refresh stores as inputs when the job drifted)."""
    return {k: v for k, v in live.items() if k in JobSpec.__annotations__}


def live_task_spec(live: dict[str, Any]) -> dict[str, Any]:
    """The create-body fields of a live task."""
    return {k: v for k, v in live.items() if k in TaskSpec.__annotations__}
