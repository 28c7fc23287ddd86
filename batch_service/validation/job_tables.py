"""Schema tables for jobs, tasks and job schedules (§3.1, §3.2, §3.4–§3.11, §4) and their shared sub-objects.

One entry per REST object type of api-version 2025-06-01; the pool specification lives in
pool_tables.py. Object-level rules sit next to the table that names them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from batch_service.validation.core import (
    Field,
    ObjectSpec,
    as_int,
    choice,
    duration,
    flag,
    ident,
    integer,
    join,
    many,
    obj,
    reject,
    text,
    timestamp,
)

ELEVATION = ("nonadmin", "admin")
ALL_TASKS_COMPLETE = ("noaction", "terminatejob")
TASK_FAILURE = ("noaction", "performexitoptionsjobaction")
# §3.9: the combined length of dependsOn.taskIds is capped at 64000 characters (TaskDependencyListTooLong).
DEPENDENCY_IDS_MAX_CHARS = 64000
# §3.9 documents "too many ranges" without a number; 1000 matches the service's other per-request caps.
DEPENDENCY_RANGES_MAX = 1000
_ESCAPING_PATH = re.compile(r"^([/\\]|[A-Za-z]:)|(^|[/\\])\.\.([/\\]|$)")
_POOL_PREFIX = r"[A-Za-z0-9_-]*"


def _metadata_key_not_empty(item: Mapping[str, Any], path: str) -> None:
    """An empty metadata name has its own code (§3.9, EmptyMetadataKey)."""
    if item["name"] == "":
        raise reject("EmptyMetadataKey", join(path, "name"), "metadata names must not be empty")


def _file_path_stays_inside(resource_file: Mapping[str, Any], path: str) -> None:
    """filePath is relative to the working directory and cannot break out of it (§3.7)."""
    file_path = resource_file.get("filePath")
    if isinstance(file_path, str) and _ESCAPING_PATH.search(file_path):
        raise reject("InvalidPropertyValue", join(path, "filePath"),
                     "must be a relative path that stays inside the task working directory")


def _start_not_after_end(range_: Mapping[str, Any], path: str) -> None:
    """Ranges (exit codes, task IDs) are inclusive and must run upwards (§3.6, §3.9)."""
    start, end = as_int(range_["start"]), as_int(range_["end"])
    if start is not None and end is not None and start > end:
        raise reject("InvalidPropertyValue", join(path, "end"), "must not be less than start")


def _dependency_limits(depends_on: Mapping[str, Any], path: str) -> None:
    """The taskIds list is capped by total characters and the ranges list by count (§3.9)."""
    task_ids = depends_on.get("taskIds") or []
    if sum(len(task_id) for task_id in task_ids) > DEPENDENCY_IDS_MAX_CHARS:
        raise reject("TaskDependencyListTooLong", join(path, "taskIds"),
                     f"the combined length of the task IDs must not exceed {DEPENDENCY_IDS_MAX_CHARS} "
                     "characters; use taskIdRanges instead")
    if len(depends_on.get("taskIdRanges") or []) > DEPENDENCY_RANGES_MAX:
        raise reject("TaskDependencyRangesTooLong", join(path, "taskIdRanges"),
                     f"a task may depend on at most {DEPENDENCY_RANGES_MAX} task ID ranges")


def _multi_instance_single_slot(task: Mapping[str, Any], path: str) -> None:
    """A multi-instance task must take exactly one slot per node (§3.4 requiredSlots)."""
    slots = as_int(task.get("requiredSlots"))
    if task.get("multiInstanceSettings") is not None and slots is not None and slots != 1:
        raise reject("InvalidPropertyValue", join(path, "requiredSlots"),
                     "must be 1 for multi-instance tasks")


_RESOURCE_FILES = many(obj("ResourceFile"))
_ENVIRONMENT = many(obj("EnvironmentSetting"), unique="name")
_METADATA = many(obj("BatchMetadataItem"), unique="name")
_APP_PACKAGES = many(obj("BatchApplicationPackageReference"))
_DISPLAY_NAME = text(max_len=1024)
_PRIORITY = integer(low=-1000, high=1000)
_MAX_PARALLEL = integer(low=-1, reserved=((0, 0),), note="must be -1 or greater than 0")
_IDENTITY = obj("BatchNodeIdentityReference")

# The job-level fields BatchJobCreateOptions and BatchJobSpecification share, in schema order (§3.1, §3.11).
_JOB_SETTINGS: dict[str, Field] = {
    "displayName": _DISPLAY_NAME,
    "usesTaskDependencies": flag(),
    "priority": _PRIORITY,
    "allowTaskPreemption": flag(),
    "maxParallelTasks": _MAX_PARALLEL,
    "constraints": obj("BatchJobConstraints"),
    "jobManagerTask": obj("BatchJobManagerTask"),
    "jobPreparationTask": obj("BatchJobPreparationTask"),
    "jobReleaseTask": obj("BatchJobReleaseTask"),
    "commonEnvironmentSettings": _ENVIRONMENT,
    "poolInfo": obj("BatchPoolInfo", required=True),
    "onAllTasksComplete": choice(ALL_TASKS_COMPLETE),
    "onTaskFailure": choice(TASK_FAILURE),
    "networkConfiguration": obj("BatchJobNetworkConfiguration"),
    "metadata": _METADATA,
}
# §3.10: a Job Release Task cannot be specified without a Job Preparation Task.
_RELEASE_NEEDS_PREPARATION = (("jobReleaseTask", "jobPreparationTask"),)

JOB_TABLES: dict[str, ObjectSpec] = {
    "BatchJobCreateOptions": ObjectSpec({"id": ident(), **_JOB_SETTINGS},
                                        requires=_RELEASE_NEEDS_PREPARATION),
    "BatchJobSpecification": ObjectSpec(_JOB_SETTINGS, requires=_RELEASE_NEEDS_PREPARATION),
    "BatchJobUpdateOptions": ObjectSpec({  # PATCH (§4.1)
        "priority": _PRIORITY,
        "allowTaskPreemption": flag(),
        "maxParallelTasks": _MAX_PARALLEL,
        "constraints": obj("BatchJobConstraints"),
        "poolInfo": obj("BatchPoolInfo"),
        "onAllTasksComplete": choice(ALL_TASKS_COMPLETE),
        "metadata": _METADATA,
        "networkConfiguration": obj("BatchJobNetworkConfiguration"),
    }),
    "BatchJobReplaceOptions": ObjectSpec({  # PUT: the writable part of BatchJob (§4.1)
        "priority": _PRIORITY,
        "allowTaskPreemption": flag(),
        "maxParallelTasks": _MAX_PARALLEL,
        "constraints": obj("BatchJobConstraints"),
        "poolInfo": obj("BatchPoolInfo", required=True),
        "onAllTasksComplete": choice(ALL_TASKS_COMPLETE),
        "metadata": _METADATA,
    }),
    "BatchJobConstraints": ObjectSpec({"maxWallClockTime": duration(), "maxTaskRetryCount": integer(low=-1)}),
    "BatchJobNetworkConfiguration": ObjectSpec({
        "subnetId": text(required=True),
        "skipWithdrawFromVNet": flag(),
    }),
    "BatchPoolInfo": ObjectSpec({
        "poolId": text(min_len=1),
        "autoPoolSpecification": obj("BatchAutoPoolSpecification"),
    }, exactly_one=(("poolId", "autoPoolSpecification"),)),
    "BatchAutoPoolSpecification": ObjectSpec({
        "autoPoolIdPrefix": text(max_len=20, pattern=_POOL_PREFIX,
                                 note="may contain only letters, digits, hyphens and underscores"),
        "poolLifetimeOption": choice(("jobschedule", "job"), required=True),
        "keepAlive": flag(),
        "pool": obj("BatchPoolSpecification"),
    }),
    "BatchJobManagerTask": ObjectSpec({
        "id": ident(),
        "displayName": _DISPLAY_NAME,
        "commandLine": text(required=True),
        "containerSettings": obj("BatchTaskContainerSettings"),
        "resourceFiles": _RESOURCE_FILES,
        "outputFiles": many(obj("OutputFile")),
        "environmentSettings": _ENVIRONMENT,
        "constraints": obj("BatchTaskConstraints"),
        "requiredSlots": integer(low=1),
        "killJobOnCompletion": flag(),
        "userIdentity": obj("UserIdentity"),
        "runExclusive": flag(),
        "applicationPackageReferences": _APP_PACKAGES,
        "authenticationTokenSettings": obj("AuthenticationTokenSettings"),  # in the REST spec only (§3.10)
        "allowLowPriorityNode": flag(),
    }),
    "BatchJobPreparationTask": ObjectSpec({
        "id": ident(required=False),
        "commandLine": text(required=True),
        "containerSettings": obj("BatchTaskContainerSettings"),
        "resourceFiles": _RESOURCE_FILES,
        "environmentSettings": _ENVIRONMENT,
        "constraints": obj("BatchTaskConstraints"),
        "waitForSuccess": flag(),
        "userIdentity": obj("UserIdentity"),
        "rerunOnNodeRebootAfterSuccess": flag(),
    }),
    "BatchJobReleaseTask": ObjectSpec({
        "id": ident(required=False),
        "commandLine": text(required=True),
        "containerSettings": obj("BatchTaskContainerSettings"),
        "resourceFiles": _RESOURCE_FILES,
        "environmentSettings": _ENVIRONMENT,
        # §3.10: at most 15 minutes; a longer timeout is rejected with 400.
        "maxWallClockTime": duration(longest=timedelta(minutes=15),
                                     note="must not be longer than 15 minutes"),
        "retentionTime": duration(),
        "userIdentity": obj("UserIdentity"),
    }),
    "BatchTaskCreateOptions": ObjectSpec({
        "id": ident(),
        "displayName": _DISPLAY_NAME,
        "exitConditions": obj("ExitConditions"),
        "commandLine": text(required=True),
        "containerSettings": obj("BatchTaskContainerSettings"),
        "resourceFiles": _RESOURCE_FILES,
        "outputFiles": many(obj("OutputFile")),
        "environmentSettings": _ENVIRONMENT,
        "affinityInfo": obj("BatchAffinityInfo"),
        "constraints": obj("BatchTaskConstraints"),
        "requiredSlots": integer(low=1),
        "userIdentity": obj("UserIdentity"),
        "multiInstanceSettings": obj("MultiInstanceSettings"),
        "dependsOn": obj("BatchTaskDependencies"),
        "applicationPackageReferences": _APP_PACKAGES,
        "authenticationTokenSettings": obj("AuthenticationTokenSettings"),  # REST 2025-06-01 has it (§3.4)
    }, rules=(_multi_instance_single_slot,)),
    "BatchTaskGroup": ObjectSpec({"value": many(obj("BatchTaskCreateOptions"), required=True, max_len=100)}),
    "BatchTaskUpdateOptions": ObjectSpec({"constraints": obj("BatchTaskConstraints")}),
    "BatchTaskConstraints": ObjectSpec({
        "maxWallClockTime": duration(),
        "retentionTime": duration(),
        "maxTaskRetryCount": integer(low=-1),
    }),
    "ExitConditions": ObjectSpec({
        "exitCodes": many(obj("ExitCodeMapping")),
        "exitCodeRanges": many(obj("ExitCodeRangeMapping")),
        "preProcessingError": obj("ExitOptions"),
        "fileUploadError": obj("ExitOptions"),
        "default": obj("ExitOptions"),
    }),
    "ExitCodeMapping": ObjectSpec({
        "code": integer(required=True),
        "exitOptions": obj("ExitOptions", required=True),
    }),
    "ExitCodeRangeMapping": ObjectSpec({
        "start": integer(required=True),
        "end": integer(required=True),
        "exitOptions": obj("ExitOptions", required=True),
    }, rules=(_start_not_after_end,)),
    "ExitOptions": ObjectSpec({
        "jobAction": choice(("none", "disable", "terminate")),
        "dependencyAction": choice(("satisfy", "block")),
    }),
    "BatchTaskContainerSettings": ObjectSpec({
        "containerRunOptions": text(),
        "imageName": text(required=True),
        "registry": obj("ContainerRegistryReference"),
        "workingDirectory": choice(("taskWorkingDirectory", "containerImageDefault")),
        "containerHostBatchBindMounts": many(obj("ContainerHostBatchBindMountEntry")),
    }),
    "ContainerRegistryReference": ObjectSpec({
        "username": text(),
        "password": text(),
        "registryServer": text(),
        "identityReference": _IDENTITY,
    }, at_most_one=(("username", "identityReference"),),
        requires=(("username", "password"), ("password", "username"))),
    "ContainerHostBatchBindMountEntry": ObjectSpec({
        # PascalCase in 2025-06-01, unlike almost every other enum (§3.9).
        "source": choice(("Shared", "Startup", "VfsMounts", "Task", "JobPrep", "Applications")),
        "isReadOnly": flag(),
    }),
    "BatchNodeIdentityReference": ObjectSpec({"resourceId": text()}),
    "ResourceFile": ObjectSpec({
        "autoStorageContainerName": text(min_len=1),
        "storageContainerUrl": text(min_len=1),
        "httpUrl": text(min_len=1),
        "blobPrefix": text(),
        "filePath": text(),
        "fileMode": text(pattern=r"0?[0-7]{3}", note="must be an octal file mode such as 0770"),
        "identityReference": _IDENTITY,
    }, exactly_one=(("autoStorageContainerName", "storageContainerUrl", "httpUrl"),),
        requires=(("httpUrl", "filePath"),),
        excludes=(("httpUrl", "blobPrefix"),),
        rules=(_file_path_stays_inside,)),
    "OutputFile": ObjectSpec({
        "filePattern": text(required=True),
        "destination": obj("OutputFileDestination", required=True),
        "uploadOptions": obj("OutputFileUploadConfiguration", required=True),
    }),
    # `container` is the only destination kind, so a destination without it could never upload anything.
    "OutputFileDestination": ObjectSpec({
        "container": obj("OutputFileBlobContainerDestination", required=True),
    }),
    "OutputFileBlobContainerDestination": ObjectSpec({
        "path": text(),
        "containerUrl": text(required=True),
        "identityReference": _IDENTITY,
        "uploadHeaders": many(obj("OutputFileUploadHeader")),
    }),
    "OutputFileUploadHeader": ObjectSpec({"name": text(required=True), "value": text()}),
    "OutputFileUploadConfiguration": ObjectSpec({
        "uploadCondition": choice(("tasksuccess", "taskfailure", "taskcompletion"), required=True),
    }),
    "EnvironmentSetting": ObjectSpec({"name": text(required=True), "value": text()}),
    "BatchMetadataItem": ObjectSpec({
        "name": text(required=True, min_len=0),  # empty names get EmptyMetadataKey from the rule
        "value": text(required=True, min_len=0),
    }, rules=(_metadata_key_not_empty,)),
    "UserIdentity": ObjectSpec({"username": text(min_len=1), "autoUser": obj("AutoUserSpecification")},
                               exactly_one=(("username", "autoUser"),)),
    "AutoUserSpecification": ObjectSpec({
        "scope": choice(("task", "pool")),
        "elevationLevel": choice(ELEVATION),
    }),
    "BatchApplicationPackageReference": ObjectSpec({"applicationId": text(required=True), "version": text()}),
    "BatchAffinityInfo": ObjectSpec({"affinityId": text(required=True)}),
    "MultiInstanceSettings": ObjectSpec({
        "numberOfInstances": integer(low=1),
        "coordinationCommandLine": text(required=True),
        "commonResourceFiles": _RESOURCE_FILES,
    }),
    "BatchTaskDependencies": ObjectSpec({
        "taskIds": many(text(required=True)),
        "taskIdRanges": many(obj("BatchTaskIdRange")),
    }, rules=(_dependency_limits,)),
    "BatchTaskIdRange": ObjectSpec({"start": integer(required=True), "end": integer(required=True)},
                                   rules=(_start_not_after_end,)),
    "AuthenticationTokenSettings": ObjectSpec({"access": many(choice(("job",)))}),
    "BatchJobScheduleCreateOptions": ObjectSpec({
        "id": ident(),
        "displayName": _DISPLAY_NAME,
        "schedule": obj("BatchJobScheduleConfiguration", required=True),
        "jobSpecification": obj("BatchJobSpecification", required=True),
        "metadata": _METADATA,
    }),
    "BatchJobScheduleConfiguration": ObjectSpec({
        "doNotRunUntil": timestamp(),
        "doNotRunAfter": timestamp(),
        # §3.11: both intervals have a 1-minute minimum.
        "startWindow": duration(shortest=timedelta(minutes=1), note="must be at least 1 minute"),
        "recurrenceInterval": duration(shortest=timedelta(minutes=1), note="must be at least 1 minute"),
    }),
    "BatchJobDisableOptions": ObjectSpec({
        "disableTasks": choice(("requeue", "terminate", "wait"), required=True),
    }),
    "BatchJobTerminateOptions": ObjectSpec({"terminateReason": text()}),
}
