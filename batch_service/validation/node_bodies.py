"""Bodies of the node operations that are not pool or job bodies: node users (create and replace), the log
upload and the reimage/deallocate options. Same walker and error form as bodies.py (`check_body`).

    BatchNodeUserCreateOptions   name*, isAdmin, expiryTime, password, sshPublicKey
    BatchNodeUserUpdateOptions   password, expiryTime, sshPublicKey
    UploadBatchServiceLogsOptions containerUrl*, startTime*, endTime, identityReference{resourceId}
    BatchNodeReimageOptions      nodeReimageOption     (requeue | terminate | taskcompletion | retaineddata)
    BatchNodeDeallocateOptions   nodeDeallocateOption  (requeue | terminate | taskcompletion | retaineddata)
"""
from __future__ import annotations

from batch_service.validation.core import (
    ObjectSpec,
    Schemas,
    check_body,
    choice,
    flag,
    obj,
    reject,
    text,
    timestamp,
)

NODE_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")
USER_NAME_LIMIT = 20  # the longest user name a Linux and a Windows node both accept

NODE_BODY_TABLES: Schemas = {
    "BatchNodeUserCreateOptions": ObjectSpec({
        "name": text(required=True, max_len=USER_NAME_LIMIT, pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
                     note="letters, digits, '_', '.' and '-', not starting with '.' or '-'"),
        "isAdmin": flag(), "expiryTime": timestamp(), "password": text(), "sshPublicKey": text(),
    }),
    "BatchNodeUserUpdateOptions": ObjectSpec({
        "password": text(), "expiryTime": timestamp(), "sshPublicKey": text(),
    }),
    "UploadBatchServiceLogsOptions": ObjectSpec({
        "containerUrl": text(required=True), "startTime": timestamp(required=True), "endTime": timestamp(),
        "identityReference": obj("BatchNodeIdentityReference"),
    }),
    "BatchNodeIdentityReference": ObjectSpec({"resourceId": text()}),
    "BatchNodeReimageOptions": ObjectSpec({"nodeReimageOption": choice(NODE_OPTIONS)}),
    "BatchNodeDeallocateOptions": ObjectSpec({"nodeDeallocateOption": choice(NODE_OPTIONS)}),
}


def validate(type_name: str, body: object) -> None:
    """Check a node-operation body against its table; ValidationError (400) naming the property."""
    check_body(NODE_BODY_TABLES, type_name, body)


def validate_log_upload(body: object) -> None:
    """An upload body, and a containerUrl that is an http(s) URL."""
    validate("UploadBatchServiceLogsOptions", body)
    url = str(body["containerUrl"]) if isinstance(body, dict) else ""
    if not url.lower().startswith(("http://", "https://")):
        raise reject("InvalidPropertyValue", "containerUrl", "The container URL must be an http or https URL.")
