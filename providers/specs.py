"""Typed shapes of the REST create bodies (for editors), and the live read model cut back to them.

The bodies stay plain dicts in camelCase so any documented example pastes in unchanged; these TypedDicts only
help editors and type checkers. Scalar fields take a `pulumi.Input`, so a value from another resource's
output fits where a literal does. The full field list, limits and change rules live in `providers.schema`.
"""
from __future__ import annotations

from typing import Any, Literal, TypedDict

from pulumi import Input

__all__ = [
    "EnvironmentSetting", "ExitConditions", "ExitOptions", "JobConstraints", "JobManagerTask",
    "JobPreparationTask", "JobReleaseTask", "JobScheduleSpec", "JobSpec", "MetadataItem", "PoolInfo", "ResourceFile", "Schedule",
    "TaskConstraints", "TaskContainerSettings", "TaskDependencies", "TaskSpec", "UserIdentity", "WaitForCompletion",
    "live_job_spec", "live_task_spec",
]


class EnvironmentSetting(TypedDict, total=False):
    """`{name, value}`; the task's value wins over the job's `commonEnvironmentSettings`."""

    name: Input[str]
    value: Input[str]


class MetadataItem(TypedDict):
    """Opaque name/value pair."""

    name: Input[str]
    value: Input[str]


class ResourceFile(TypedDict, total=False):
    """Exactly one of autoStorageContainerName / storageContainerUrl / httpUrl."""

    autoStorageContainerName: Input[str]
    storageContainerUrl: Input[str]
    httpUrl: Input[str]
    blobPrefix: Input[str]
    filePath: Input[str]
    fileMode: Input[str]
    identityReference: dict[str, str]


class TaskConstraints(TypedDict, total=False):
    """Durations are ISO 8601 (`PT1H`)."""

    maxWallClockTime: Input[str]
    retentionTime: Input[str]
    maxTaskRetryCount: Input[int]


class JobConstraints(TypedDict, total=False):
    """`maxWallClockTime` counts from job creation."""

    maxWallClockTime: Input[str]
    maxTaskRetryCount: Input[int]


class AutoUser(TypedDict, total=False):
    """The auto user a task runs as."""

    scope: Input[Literal["task", "pool"]]
    elevationLevel: Input[Literal["nonadmin", "admin"]]


class UserIdentity(TypedDict, total=False):
    """Exactly one of username / autoUser."""

    username: Input[str]
    autoUser: AutoUser


class TaskContainerSettings(TypedDict, total=False):
    """Run the task in a container (the pool must have a container configuration)."""

    imageName: Input[str]
    containerRunOptions: Input[str]
    registry: dict[str, Any]
    workingDirectory: Input[Literal["taskWorkingDirectory", "containerImageDefault"]]
    containerHostBatchBindMounts: list[dict[str, Any]]


class ExitOptions(TypedDict, total=False):
    """What a matching exit does to the job and to dependent tasks."""

    jobAction: Input[Literal["none", "disable", "terminate"]]
    dependencyAction: Input[Literal["satisfy", "block"]]


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

    id: Input[str]
    displayName: Input[str]
    commandLine: Input[str]
    outputFiles: list[dict[str, Any]]
    constraints: TaskConstraints
    requiredSlots: Input[int]
    killJobOnCompletion: Input[bool]
    runExclusive: Input[bool]
    applicationPackageReferences: list[dict[str, str]]
    allowLowPriorityNode: Input[bool]
    authenticationTokenSettings: dict[str, Any]


class JobPreparationTask(_TaskCommon, total=False):
    """Runs once per node before the job's tasks there."""

    id: Input[str]
    commandLine: Input[str]
    constraints: TaskConstraints
    waitForSuccess: Input[bool]
    rerunOnNodeRebootAfterSuccess: Input[bool]


class JobReleaseTask(_TaskCommon, total=False):
    """Runs on each node where the preparation task ran, when the job ends."""

    id: Input[str]
    commandLine: Input[str]
    maxWallClockTime: Input[str]
    retentionTime: Input[str]


class PoolInfo(TypedDict, total=False):
    """Exactly one of poolId / autoPoolSpecification."""

    poolId: Input[str]
    autoPoolSpecification: dict[str, Any]


class JobSpec(TypedDict, total=False):
    """Body of POST /jobs (BatchJobCreateOptions, api-version 2025-06-01)."""

    id: Input[str]
    displayName: Input[str]
    usesTaskDependencies: Input[bool]
    priority: Input[int]
    allowTaskPreemption: Input[bool]
    maxParallelTasks: Input[int]
    constraints: JobConstraints
    jobManagerTask: JobManagerTask
    jobPreparationTask: JobPreparationTask
    jobReleaseTask: JobReleaseTask
    commonEnvironmentSettings: list[EnvironmentSetting]
    poolInfo: PoolInfo
    onAllTasksComplete: Input[Literal["noaction", "terminatejob"]]
    onTaskFailure: Input[Literal["noaction", "performexitoptionsjobaction"]]
    networkConfiguration: dict[str, Any]
    metadata: list[MetadataItem]


class TaskSpec(TypedDict, total=False):
    """Body of POST /jobs/{jobId}/tasks (BatchTaskCreateOptions, api-version 2025-06-01)."""

    id: Input[str]
    displayName: Input[str]
    commandLine: Input[str]
    exitConditions: ExitConditions
    containerSettings: TaskContainerSettings
    resourceFiles: list[ResourceFile]
    outputFiles: list[dict[str, Any]]
    environmentSettings: list[EnvironmentSetting]
    affinityInfo: dict[str, str]
    constraints: TaskConstraints
    requiredSlots: Input[int]
    userIdentity: UserIdentity
    multiInstanceSettings: dict[str, Any]
    dependsOn: TaskDependencies
    applicationPackageReferences: list[dict[str, str]]
    authenticationTokenSettings: dict[str, Any]


class Schedule(TypedDict, total=False):
    """When a job schedule creates jobs (durations ISO 8601, times ISO 8601 UTC)."""

    doNotRunUntil: Input[str]
    doNotRunAfter: Input[str]
    startWindow: Input[str]
    recurrenceInterval: Input[str]


class JobScheduleSpec(TypedDict, total=False):
    """Body of POST /jobschedules (BatchJobScheduleCreateOptions, api-version 2025-06-01)."""

    id: Input[str]
    displayName: Input[str]
    schedule: Schedule
    jobSpecification: dict[str, Any]
    metadata: list[MetadataItem]


class WaitForCompletion(TypedDict, total=False):
    """`wait_for_completion=`: `up` returns when the work has ended, and fails when it failed."""

    timeout: str  # ISO 8601 duration, default PT30M
    success: Literal["exitCodeZero", "completed"]  # default exitCodeZero: any failed task fails the `up`


def live_job_spec(live: dict[str, Any]) -> dict[str, Any]:
    """The create-body fields of a live job (what refresh stores as inputs when the job drifted)."""
    return {k: v for k, v in live.items() if k in JobSpec.__annotations__}


def live_task_spec(live: dict[str, Any]) -> dict[str, Any]:
    """The create-body fields of a live task."""
    return {k: v for k, v in live.items() if k in TaskSpec.__annotations__}
