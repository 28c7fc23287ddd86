"""Schema tables for tasks and what they share with the job's JM/JP/JR tasks (reference 3.4-3.10)."""
from __future__ import annotations

from providers.schema.durations import UNLIMITED_TEXT
from providers.schema.model import (
    REPLACE,
    UPDATE,
    ObjectType,
    OneOf,
    array,
    boolean,
    duration,
    enum,
    ident,
    integer,
    obj,
    string,
)

ELEVATION = ("nonadmin", "admin")

IDENTITY_REFERENCE = ObjectType("BatchNodeIdentityReference", (string("resourceId"),))

ENVIRONMENT_SETTING = ObjectType("EnvironmentSetting", (
    string("name", required=True, length=(1, None)),
    string("value", secret=True, note="environment values may carry credentials"),
))

METADATA_ITEM = ObjectType("BatchMetadataItem", (
    string("name", required=True, length=(1, None), note="an empty name is EmptyMetadataKey (3.9)"),
    string("value", required=True),
))

# 3.7: exactly one source; the URLs may carry a SAS query string, so they are secret.
RESOURCE_FILE = ObjectType("ResourceFile", (
    string("autoStorageContainerName"),
    string("storageContainerUrl", secret=True),
    string("httpUrl", secret=True),
    string("blobPrefix"),
    string("filePath"),
    string("fileMode", pattern=r"0?[0-7]{3}", default="0770"),
    obj("identityReference", IDENTITY_REFERENCE),
), one_of=(OneOf(("autoStorageContainerName", "storageContainerUrl", "httpUrl")),),
    checks=("relative-file-path", "http-url-needs-file-path", "blob-prefix-needs-container"))

AUTO_USER = ObjectType("AutoUserSpecification", (
    enum("scope", ("task", "pool"), default="pool"),
    enum("elevationLevel", ELEVATION, default="nonadmin"),
))

USER_IDENTITY = ObjectType("UserIdentity", (
    string("username"),
    obj("autoUser", AUTO_USER),
), one_of=(OneOf(("username", "autoUser")),))

# 3.10 / 5.3: an omitted userIdentity is a non-admin auto-user unique to the task; the service may echo
# it with either scope, so both are accepted as "the default".
DEFAULT_IDENTITY = {"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}}
DEFAULT_IDENTITY_ALTERNATIVES = ({"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},)


CONTAINER_REGISTRY = ObjectType("ContainerRegistryReference", (
    string("username"),
    string("password", secret=True, write_only=True),
    string("registryServer", default="docker.io"),
    obj("identityReference", IDENTITY_REFERENCE),
))

BIND_MOUNT = ObjectType("ContainerHostBatchBindMountEntry", (
    enum("source", ("Shared", "Startup", "VfsMounts", "Task", "JobPrep", "Applications")),
    boolean("isReadOnly", default=False),
))

CONTAINER_SETTINGS = ObjectType("BatchTaskContainerSettings", (
    string("containerRunOptions"),
    string("imageName", required=True, length=(1, None)),
    obj("registry", CONTAINER_REGISTRY),
    enum("workingDirectory", ("taskWorkingDirectory", "containerImageDefault"), default="taskWorkingDirectory"),
    # 3.9: absent = the whole Batch root is mounted, [] = nothing is: the two differ.
    array("containerHostBatchBindMounts", BIND_MOUNT, empty_is_absent=False),
))

TASK_CONSTRAINTS = ObjectType("BatchTaskConstraints", (
    duration("maxWallClockTime", duration=("PT0S", None), default=UNLIMITED_TEXT),
    # 3.5 / 5.3: docs say 7 days, an old example shows "unlimited": unset and unlimited both mean P7D.
    duration("retentionTime", duration=("PT0S", None), default="P7D"),
    integer("maxTaskRetryCount", range=(-1, None), inherit="constraints.maxTaskRetryCount",
            note="an omitted value is the job's constraints.maxTaskRetryCount"),
))

APPLICATION_PACKAGE = ObjectType("BatchApplicationPackageReference", (
    string("applicationId", required=True, length=(1, None)),
    string("version"),
))

AUTH_TOKEN_SETTINGS = ObjectType("AuthenticationTokenSettings", (
    array("access", "enum", enum=("job",)),
))

UPLOAD_HEADER = ObjectType("OutputFileUploadHeader", (
    string("name", required=True, length=(1, None)),
    string("value"),
))

BLOB_CONTAINER_DESTINATION = ObjectType("OutputFileBlobContainerDestination", (
    string("path"),
    string("containerUrl", required=True, secret=True, note="usually carries a write SAS"),
    obj("identityReference", IDENTITY_REFERENCE),
    array("uploadHeaders", UPLOAD_HEADER),
))

OUTPUT_FILE = ObjectType("OutputFile", (
    string("filePattern", required=True, length=(1, None)),
    obj("destination", ObjectType("OutputFileDestination", (
        obj("container", BLOB_CONTAINER_DESTINATION, required=True),
    )), required=True),
    obj("uploadOptions", ObjectType("OutputFileUploadConfiguration", (
        enum("uploadCondition", ("tasksuccess", "taskfailure", "taskcompletion"), required=True),
    )), required=True),
))

EXIT_OPTIONS = ObjectType("ExitOptions", (
    enum("jobAction", ("none", "disable", "terminate")),
    enum("dependencyAction", ("satisfy", "block")),
))

EXIT_CONDITIONS = ObjectType("ExitConditions", (
    array("exitCodes", ObjectType("ExitCodeMapping", (
        integer("code", required=True),
        obj("exitOptions", EXIT_OPTIONS, required=True),
    ))),
    array("exitCodeRanges", ObjectType("ExitCodeRangeMapping", (
        integer("start", required=True),
        integer("end", required=True),
        obj("exitOptions", EXIT_OPTIONS, required=True),
    ), checks=("range-order",))),
    obj("preProcessingError", EXIT_OPTIONS),
    obj("fileUploadError", EXIT_OPTIONS),
    obj("default", EXIT_OPTIONS),
))

MULTI_INSTANCE = ObjectType("MultiInstanceSettings", (
    integer("numberOfInstances", range=(1, None), default=1),
    string("coordinationCommandLine", required=True, length=(1, None)),
    array("commonResourceFiles", RESOURCE_FILE),
))

TASK_DEPENDENCIES = ObjectType("BatchTaskDependencies", (
    array("taskIds", "id"),
    array("taskIdRanges", ObjectType("BatchTaskIdRange", (
        integer("start", required=True, range=(0, None)),
        integer("end", required=True, range=(0, None)),
    ), checks=("range-order",))),
), checks=("task-ids-total-length",))

_NOT_AFTER_CREATE = "a task cannot change after creation, except its constraints (4.2)"

# 3.4 BatchTaskCreateOptions: every field replaces the task except constraints (PUT constraints, 4.2).
TASK = ObjectType("BatchTaskCreateOptions", (
    ident("id", required=True, change=REPLACE, note="ids are fixed"),
    string("displayName", length=(0, 1024), change=REPLACE, note=_NOT_AFTER_CREATE),
    string("commandLine", required=True, length=(1, None), change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("exitConditions", EXIT_CONDITIONS, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("containerSettings", CONTAINER_SETTINGS, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("resourceFiles", RESOURCE_FILE, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("outputFiles", OUTPUT_FILE, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name", change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("affinityInfo", ObjectType("BatchAffinityInfo", (string("affinityId", required=True),)),
        change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("constraints", TASK_CONSTRAINTS, default={}, change=UPDATE,
        note="task constraints are updated in place with PUT (4.2)"),
    integer("requiredSlots", range=(1, None), default=1, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES,
        change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("multiInstanceSettings", MULTI_INSTANCE, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("dependsOn", TASK_DEPENDENCIES, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("applicationPackageReferences", APPLICATION_PACKAGE, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("authenticationTokenSettings", AUTH_TOKEN_SETTINGS, change=REPLACE, note=_NOT_AFTER_CREATE),
), checks=("multi-instance-slots", "depends-on-needs-task-dependencies", "job-action-needs-exit-options",
           "task-id-reserved", "container-settings-match-pool"))

# 3.10: JM, JP and JR tasks. Their change rule comes from the job table (they are immutable).
JOB_MANAGER_TASK = ObjectType("BatchJobManagerTask", (
    ident("id", required=True),
    string("displayName", length=(0, 1024)),
    string("commandLine", required=True, length=(1, None)),
    obj("containerSettings", CONTAINER_SETTINGS),
    array("resourceFiles", RESOURCE_FILE),
    array("outputFiles", OUTPUT_FILE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name"),
    obj("constraints", TASK_CONSTRAINTS, default={}),
    integer("requiredSlots", range=(1, None), default=1),
    boolean("killJobOnCompletion", default=True),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES),
    boolean("runExclusive", default=True),
    array("applicationPackageReferences", APPLICATION_PACKAGE),
    boolean("allowLowPriorityNode", default=True),
    obj("authenticationTokenSettings", AUTH_TOKEN_SETTINGS),
))

JOB_PREPARATION_TASK = ObjectType("BatchJobPreparationTask", (
    ident("id", default="jobpreparation"),
    string("commandLine", required=True, length=(1, None)),
    obj("containerSettings", CONTAINER_SETTINGS),
    array("resourceFiles", RESOURCE_FILE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name"),
    obj("constraints", TASK_CONSTRAINTS, default={}),
    boolean("waitForSuccess", default=True),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES),
    boolean("rerunOnNodeRebootAfterSuccess", default=True),
))

JOB_RELEASE_TASK = ObjectType("BatchJobReleaseTask", (
    ident("id", default="jobrelease"),
    string("commandLine", required=True, length=(1, None)),
    obj("containerSettings", CONTAINER_SETTINGS),
    array("resourceFiles", RESOURCE_FILE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name"),
    # 3.10: at most 15 minutes (more is 400 InvalidPropertyValue), 15 minutes when omitted.
    duration("maxWallClockTime", duration=("PT0S", "PT15M"), default="PT15M"),
    duration("retentionTime", duration=("PT0S", None), default="P7D"),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES),
))
