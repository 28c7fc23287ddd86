"""The bodies of compute-node operations (2025-06-01): node users, the service-log upload, reimage and deallocate.

Nothing here is created by the providers; the local service validates these bodies with the same walker as the
pool, job and task bodies.
"""
from __future__ import annotations

from batch_api.model import ObjectType, boolean, enum, obj, string, timestamp

# The options of reimage and deallocate: what happens to the tasks running on the node.
NODE_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")

NODE_USER_CREATE = ObjectType("BatchNodeUserCreateOptions", (
    # The longest user name a Linux and a Windows node both accept.
    string("name", required=True, length=(1, 20), pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
           reason="letters, digits, '_', '.' and '-', not starting with '.' or '-'"),
    boolean("isAdmin"),
    timestamp("expiryTime"),
    string("password", secret=True, write_only=True),
    string("sshPublicKey"),
))

NODE_USER_UPDATE = ObjectType("BatchNodeUserUpdateOptions", (
    string("password", secret=True, write_only=True),
    timestamp("expiryTime"),
    string("sshPublicKey"),
))

NODE_IDENTITY_REFERENCE = ObjectType("BatchNodeIdentityReference", (string("resourceId"),))

UPLOAD_SERVICE_LOGS = ObjectType("UploadBatchServiceLogsOptions", (
    string("containerUrl", required=True, secret=True, pattern=r"(?i)https?://.+",
           reason="The container URL must be an http or https URL."),
    timestamp("startTime", required=True),
    timestamp("endTime"),
    obj("identityReference", NODE_IDENTITY_REFERENCE),
))

NODE_REIMAGE = ObjectType("BatchNodeReimageOptions", (enum("nodeReimageOption", NODE_OPTIONS),))
NODE_DEALLOCATE = ObjectType("BatchNodeDeallocateOptions", (enum("nodeDeallocateOption", NODE_OPTIONS),))
