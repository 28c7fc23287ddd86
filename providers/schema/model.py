"""The vocabulary of the API tables, as the providers name it: batch_api's Field and ObjectType, plus the
Problem a preview check reports."""
from __future__ import annotations

from dataclasses import dataclass

from batch_api.model import (
    CHANGE_RULES,
    ID_PATTERN,
    KINDS,
    NO_DEFAULT,
    ONE_WAY,
    PATCH,
    PATCH_WHEN_DISABLED,
    REPLACE,
    RULE_STRENGTH,
    SERVER_DEFAULT,
    UPDATE,
    Field,
    ObjectType,
    OneOf,
    integer,
    is_unknown,
    join,
)

__all__ = [
    "CHANGE_RULES", "ID_PATTERN", "KINDS", "NO_DEFAULT", "ONE_WAY", "PATCH", "PATCH_WHEN_DISABLED", "REPLACE",
    "RULE_STRENGTH", "SERVER_DEFAULT", "UPDATE", "Field", "ObjectType", "OneOf", "Problem", "integer",
    "is_unknown", "join",
]


@dataclass(frozen=True)
class Problem:
    """One reason a spec is invalid: where (dotted path), which rule, and a value-free message."""

    path: str
    rule: str
    message: str
