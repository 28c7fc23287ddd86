"""Tables of jobs and job schedules: the create bodies, the update bodies and their change rules
(reference 3.1, 3.11, 4.1, 4.3). Defaults are the values the service reports for an omitted field (5.3)."""
from __future__ import annotations

from dataclasses import replace

from batch_api import rules
from batch_api.model import (
    ONE_WAY,
    PATCH,
    REPLACE,
    Field,
    ObjectType,
    array,
    boolean,
    duration,
    enum,
    ident,
    integer,
    obj,
    string,
    timestamp,
)
from batch_api.normal import UNLIMITED_TEXT
from batch_api.pools import POOL_INFO
from batch_api.tasks import (
    ENVIRONMENT_SETTING,
    JOB_MANAGER_TASK,
    JOB_PREPARATION_TASK,
    JOB_RELEASE_TASK,
    METADATA_ITEM,
    NON_EMPTY,
)

JOB_CONSTRAINTS = ObjectType("BatchJobConstraints", (
    duration("maxWallClockTime", duration=("PT0S", None), default=UNLIMITED_TEXT),
    integer("maxTaskRetryCount", range=(-1, None), default=0),
))

JOB_NETWORK_CONFIGURATION = ObjectType("BatchJobNetworkConfiguration", (
    string("subnetId", required=True, length=NON_EMPTY),
    boolean("skipWithdrawFromVNet", default=False, reported=False),
))

_FIXED = "cannot change after creation (4.1)"
_PATCHED = "updated in place with PATCH (4.1)"

# 3.1 BatchJobCreateOptions with the change rules of 4.1.
JOB = ObjectType("BatchJobCreateOptions", (
    ident("id", required=True, change=REPLACE, note="ids are fixed"),
    string("displayName", length=(0, 1024), change=REPLACE, note=f"displayName {_FIXED}"),
    boolean("usesTaskDependencies", default=False, change=REPLACE, note=f"usesTaskDependencies {_FIXED}"),
    integer("priority", range=(-1000, 1000), default=0, change=PATCH, note=_PATCHED),
    boolean("allowTaskPreemption", default=False, change=PATCH, note=_PATCHED),
    integer("maxParallelTasks", range=(-1, None), excluded=((0, 0),), reason="must be -1 or greater than 0",
            default=-1, change=PATCH, note=_PATCHED),
    obj("constraints", JOB_CONSTRAINTS, default={}, change=PATCH, note="PATCH with the whole object (4.1)"),
    obj("jobManagerTask", JOB_MANAGER_TASK, change=REPLACE, note=f"jobManagerTask {_FIXED}"),
    obj("jobPreparationTask", JOB_PREPARATION_TASK, change=REPLACE, note=f"jobPreparationTask {_FIXED}"),
    obj("jobReleaseTask", JOB_RELEASE_TASK, change=REPLACE, note=f"jobReleaseTask {_FIXED}"),
    array("commonEnvironmentSettings", ENVIRONMENT_SETTING, keyed_by="name", change=REPLACE,
          note=f"commonEnvironmentSettings {_FIXED}"),
    obj("poolInfo", POOL_INFO, required=True),
    enum("onAllTasksComplete", ("noaction", "terminatejob"), default="noaction", change=ONE_WAY,
         refuse=(("terminatejob", "noaction"),),
         note="PATCH; the service refuses terminatejob → noaction (4.1)"),
    enum("onTaskFailure", ("noaction", "performexitoptionsjobaction"), default="noaction", change=REPLACE,
         note=f"onTaskFailure {_FIXED}"),
    # 4.1: PATCH takes it per schema, but whether the service applies it is unconfirmed: immutable here.
    obj("networkConfiguration", JOB_NETWORK_CONFIGURATION, change=REPLACE,
        note="networkConfiguration is treated as fixed (4.1: PATCH effect unconfirmed)"),
    array("metadata", METADATA_ITEM, keyed_by="name", change=PATCH, note="PATCH replaces the whole list (4.1)"),
), rules=(rules.release_needs_preparation, rules.container_settings_match_pool))

# 3.11: the job create fields without id; inside a schedule every one of them is patchable (4.3).
JOB_SPECIFICATION = ObjectType(
    "BatchJobSpecification",
    tuple(replace(f, change=None, refuse=()) for f in JOB.fields if f.name != "id"),
    rules=JOB.rules,
)


def _job_fields(names: tuple[str, ...], **changed: bool) -> tuple[Field, ...]:
    """The job table's fields of those names, `required` set as the update body says (name=True/False)."""
    return tuple(replace(f, required=changed.get(f.name, f.required)) for f in JOB.fields if f.name in names)


# 4.1: PATCH /jobs/{id} takes these (absent = unchanged); PUT takes the same but networkConfiguration, and
# resets an absent one to its default.
JOB_PATCHABLE = ("priority", "allowTaskPreemption", "maxParallelTasks", "constraints", "poolInfo",
                 "onAllTasksComplete", "networkConfiguration", "metadata")
JOB_UPDATE = ObjectType("BatchJobUpdateOptions", _job_fields(JOB_PATCHABLE, poolInfo=False))
JOB_REPLACE = ObjectType("BatchJob", _job_fields(tuple(n for n in JOB_PATCHABLE if n != "networkConfiguration")))

JOB_DISABLE = ObjectType("BatchJobDisableOptions", (
    enum("disableTasks", ("requeue", "terminate", "wait"), required=True),
))
JOB_TERMINATE = ObjectType("BatchJobTerminateOptions", (string("terminateReason"),))

JOB_SCHEDULE_CONFIGURATION = ObjectType("BatchJobScheduleConfiguration", (
    timestamp("doNotRunUntil"),
    timestamp("doNotRunAfter"),
    # 3.11: both intervals have a 1-minute minimum.
    duration("startWindow", duration=("PT1M", None), reason="must be at least 1 minute"),
    duration("recurrenceInterval", duration=("PT1M", None), reason="must be at least 1 minute"),
))

_SCHEDULE_PATCHED = "PATCH; affects jobs created after the update (4.3)"

JOB_SCHEDULE = ObjectType("BatchJobScheduleCreateOptions", (
    ident("id", required=True, change=REPLACE, note="ids are fixed"),
    string("displayName", length=(0, 1024), change=REPLACE, note="displayName cannot change (4.3)"),
    obj("schedule", JOB_SCHEDULE_CONFIGURATION, required=True, change=PATCH, note=_SCHEDULE_PATCHED),
    obj("jobSpecification", JOB_SPECIFICATION, required=True, change=PATCH, note=_SCHEDULE_PATCHED),
    array("metadata", METADATA_ITEM, keyed_by="name", change=PATCH, note=_SCHEDULE_PATCHED),
))
