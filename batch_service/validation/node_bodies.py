"""Bodies of the node operations that are not pool or job bodies: node users (create and replace), the log
upload and the reimage/deallocate options, checked against batch_api's tables with the same walker and error
form as bodies.py.
"""
from __future__ import annotations

from batch_api.model import ObjectType, RuleContext
from batch_api.nodes import (
    NODE_DEALLOCATE,
    NODE_REIMAGE,
    NODE_USER_CREATE,
    NODE_USER_UPDATE,
    UPLOAD_SERVICE_LOGS,
)
from batch_service.validation.core import check_body

NODE_BODY_TABLES: dict[str, ObjectType] = {
    otype.name: otype
    for otype in (NODE_USER_CREATE, NODE_USER_UPDATE, UPLOAD_SERVICE_LOGS, NODE_REIMAGE, NODE_DEALLOCATE)
}


def validate(type_name: str, body: object) -> None:
    """Check a node-operation body against its table; ValidationError (400) naming the property."""
    check_body(NODE_BODY_TABLES[type_name], body, RuleContext(type_name, None))


def validate_log_upload(body: object) -> None:
    """An upload body, whose containerUrl must be an http(s) URL (the table's pattern)."""
    validate(UPLOAD_SERVICE_LOGS.name, body)
