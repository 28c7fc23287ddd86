"""Tables of tasks and of what they share with the job's manager, preparation and release tasks
(reference 3.4-3.10). Defaults are the values the service reports for an omitted field (reference 5.3)."""
from __future__ import annotations

from batch_api import rules
from batch_api.model import (
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
from batch_api.normal import UNLIMITED_TEXT
from batch_api.pool_rules import PASSWORD_NEEDS_USERNAME, USERNAME_NEEDS_PASSWORD

ELEVATION = ("nonadmin", "admin")
NON_EMPTY = (1, None)

IDENTITY_REFERENCE = ObjectType("BatchNodeIdentityReference", (string("resourceId"),))

ENVIRONMENT_SETTING = ObjectType("EnvironmentSetting", (
    string("name", required=True, length=NON_EMPTY),
    string("value", secret=True, note="environment values may carry credentials"),
))

METADATA_ITEM = ObjectType("BatchMetadataItem", (
    string("name", required=True, length=NON_EMPTY, code="EmptyMetadataKey",
           note="an empty name is EmptyMetadataKey (3.9)"),
    string("value", required=True),
))

# 3.7: exactly one source; the URLs may carry a SAS query string, so they are secret.
RESOURCE_FILE = ObjectType("ResourceFile", (
    string("autoStorageContainerName", length=NON_EMPTY),
    string("storageContainerUrl", secret=True, length=NON_EMPTY),
    string("httpUrl", secret=True, length=NON_EMPTY),
    string("blobPrefix"),
    string("filePath"),
    string("fileMode", pattern=r"0?[0-7]{3}", reason="must be an octal file mode such as 0770", default="0770",
           reported=False),
    obj("identityReference", IDENTITY_REFERENCE),
), one_of=(OneOf(("autoStorageContainerName", "storageContainerUrl", "httpUrl")),),
    rules=(rules.HTTP_URL_NEEDS_FILE_PATH, rules.BLOB_PREFIX_NEEDS_CONTAINER, rules.relative_file_path))

AUTO_USER = ObjectType("AutoUserSpecification", (
    enum("scope", ("task", "pool"), default="pool"),
    enum("elevationLevel", ELEVATION, default="nonadmin"),
))

USER_IDENTITY = ObjectType("UserIdentity", (
    string("username", length=NON_EMPTY),
    obj("autoUser", AUTO_USER),
), one_of=(OneOf(("username", "autoUser")),))

# 3.10 / 5.3: an omitted userIdentity is a non-admin auto-user. The service reports it with pool scope;
# the reference calls the user "unique to the task", so a task scope read back is accepted as the default too.
DEFAULT_IDENTITY = {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
DEFAULT_IDENTITY_ALTERNATIVES = ({"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}},)

CONTAINER_REGISTRY = ObjectType("ContainerRegistryReference", (
    string("username"),
    string("password", secret=True, write_only=True),
    string("registryServer", default="docker.io", reported=False),
    obj("identityReference", IDENTITY_REFERENCE),
), one_of=(OneOf(("username", "identityReference"), exactly=False),),
    rules=(USERNAME_NEEDS_PASSWORD, PASSWORD_NEEDS_USERNAME))

BIND_MOUNT = ObjectType("ContainerHostBatchBindMountEntry", (
    # PascalCase in 2025-06-01, unlike almost every other enum (3.9).
    enum("source", ("Shared", "Startup", "VfsMounts", "Task", "JobPrep", "Applications")),
    boolean("isReadOnly", default=False, reported=False),
))

CONTAINER_SETTINGS = ObjectType("BatchTaskContainerSettings", (
    string("containerRunOptions"),
    string("imageName", required=True, length=NON_EMPTY),
    obj("registry", CONTAINER_REGISTRY),
    enum("workingDirectory", ("taskWorkingDirectory", "containerImageDefault"), default="taskWorkingDirectory",
         reported=False),
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
    string("applicationId", required=True, length=NON_EMPTY),
    string("version"),
))

AUTH_TOKEN_SETTINGS = ObjectType("AuthenticationTokenSettings", (
    array("access", "enum", enum=("job",)),
))

UPLOAD_HEADER = ObjectType("OutputFileUploadHeader", (
    string("name", required=True, length=NON_EMPTY),
    string("value"),
))

BLOB_CONTAINER_DESTINATION = ObjectType("OutputFileBlobContainerDestination", (
    string("path"),
    string("containerUrl", required=True, length=NON_EMPTY, secret=True, note="usually carries a write SAS"),
    obj("identityReference", IDENTITY_REFERENCE),
    array("uploadHeaders", UPLOAD_HEADER),
))

OUTPUT_FILE = ObjectType("OutputFile", (
    string("filePattern", required=True, length=NON_EMPTY),
    # `container` is the only destination kind, so a destination without it could never upload anything.
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
    ), rules=(rules.range_order,))),
    obj("preProcessingError", EXIT_OPTIONS),
    obj("fileUploadError", EXIT_OPTIONS),
    obj("default", EXIT_OPTIONS),
))

MULTI_INSTANCE = ObjectType("MultiInstanceSettings", (
    integer("numberOfInstances", range=(1, None), default=1),
    string("coordinationCommandLine", required=True, length=NON_EMPTY),
    array("commonResourceFiles", RESOURCE_FILE),
))

TASK_DEPENDENCIES = ObjectType("BatchTaskDependencies", (
    array("taskIds", "id"),
    array("taskIdRanges", ObjectType("BatchTaskIdRange", (
        integer("start", required=True, range=(0, None)),
        integer("end", required=True, range=(0, None)),
    ), rules=(rules.range_order,))),
), rules=(rules.task_dependency_limits,))

_NOT_AFTER_CREATE = "a task cannot change after creation, except its constraints (4.2)"

# 3.4 BatchTaskCreateOptions: every field replaces the task except constraints (PUT constraints, 4.2).
TASK = ObjectType("BatchTaskCreateOptions", (
    ident("id", required=True, change=REPLACE, note="ids are fixed"),
    string("displayName", length=(0, 1024), change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("exitConditions", EXIT_CONDITIONS, change=REPLACE, note=_NOT_AFTER_CREATE),
    string("commandLine", required=True, length=NON_EMPTY, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("containerSettings", CONTAINER_SETTINGS, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("resourceFiles", RESOURCE_FILE, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("outputFiles", OUTPUT_FILE, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name", change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("affinityInfo", ObjectType("BatchAffinityInfo", (string("affinityId", required=True, length=NON_EMPTY),)),
        change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("constraints", TASK_CONSTRAINTS, default={}, change=UPDATE,
        note="task constraints are updated in place with PUT (4.2)"),
    integer("requiredSlots", range=(1, None), default=1, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES,
        change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("multiInstanceSettings", MULTI_INSTANCE, change=REPLACE, note=_NOT_AFTER_CREATE),
    obj("dependsOn", TASK_DEPENDENCIES, change=REPLACE, note=_NOT_AFTER_CREATE),
    array("applicationPackageReferences", APPLICATION_PACKAGE, change=REPLACE, note=_NOT_AFTER_CREATE),
    # In the 2025-06-01 REST reference, not in the azure-batch 15.1.0 SDK models.
    obj("authenticationTokenSettings", AUTH_TOKEN_SETTINGS, change=REPLACE, note=_NOT_AFTER_CREATE),
), rules=(rules.multi_instance_slots, rules.depends_on_needs_task_dependencies,
          rules.job_action_needs_exit_options, rules.job_action_none_needs_exit_options,
          rules.task_id_reserved, rules.container_settings_match_pool))

# What the job preparation and release tasks (and the pool's start task) run, and with which files.
COMMAND = (
    string("commandLine", required=True, length=NON_EMPTY),
    obj("containerSettings", CONTAINER_SETTINGS),
    array("resourceFiles", RESOURCE_FILE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name"),
)

# 3.10: JM, JP and JR tasks. Their change rule comes from the job table (they are immutable).
JOB_MANAGER_TASK = ObjectType("BatchJobManagerTask", (
    ident("id", required=True),
    string("displayName", length=(0, 1024)),
    string("commandLine", required=True, length=NON_EMPTY),
    obj("containerSettings", CONTAINER_SETTINGS),
    array("resourceFiles", RESOURCE_FILE),
    array("outputFiles", OUTPUT_FILE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name"),
    obj("constraints", TASK_CONSTRAINTS, default={}, reported=False),
    integer("requiredSlots", range=(1, None), default=1),
    boolean("killJobOnCompletion", default=True),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES,
        reported=False),
    boolean("runExclusive", default=True),
    array("applicationPackageReferences", APPLICATION_PACKAGE),
    boolean("allowLowPriorityNode", default=True),
    obj("authenticationTokenSettings", AUTH_TOKEN_SETTINGS),
))

# A job preparation task's omitted retry count is 0, not the job's: the real service reported 0 under a job
# whose constraints.maxTaskRetryCount was 3 (recorded job GET), with the constraints and identity filled in.
JOB_PREPARATION_CONSTRAINTS = ObjectType("BatchJobPreparationTaskConstraints", (
    *(f for f in TASK_CONSTRAINTS.fields if f.name != "maxTaskRetryCount"),
    integer("maxTaskRetryCount", range=(-1, None), default=0),
))

JOB_PREPARATION_TASK = ObjectType("BatchJobPreparationTask", (
    ident("id", default="jobpreparation"),
    *COMMAND,
    obj("constraints", JOB_PREPARATION_CONSTRAINTS, default={}),
    boolean("waitForSuccess", default=True),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES),
    boolean("rerunOnNodeRebootAfterSuccess", default=True),
))

JOB_RELEASE_TASK = ObjectType("BatchJobReleaseTask", (
    ident("id", default="jobrelease"),
    *COMMAND,
    # 3.10: at most 15 minutes (more is 400 InvalidPropertyValue), 15 minutes when omitted.
    duration("maxWallClockTime", duration=("PT0S", "PT15M"), reason="must not be longer than 15 minutes",
             default="PT15M"),
    duration("retentionTime", duration=("PT0S", None), default="P7D"),
    obj("userIdentity", USER_IDENTITY, default=DEFAULT_IDENTITY, also_default=DEFAULT_IDENTITY_ALTERNATIVES),
))

# PUT /jobs/{job}/tasks/{task}: only the constraints are writable (4.2).
TASK_UPDATE = ObjectType("BatchTaskUpdateOptions", (obj("constraints", TASK_CONSTRAINTS),))
# POST /jobs/{job}/addtaskcollection: at most 100 tasks (2.5).
TASK_GROUP = ObjectType("BatchTaskGroup", (array("value", TASK, required=True, length=(0, 100)),))
