"""The service's walk over the API tables of `batch_api`: the first problem of a request body becomes a Batch
error (section 7). The tables (fields, limits, one-of groups, cross-field rules) live in `batch_api`; this
module only decides the service's wording, error codes and order: first one error naming every unknown
property, then each object's one-of groups, its fields in table order, and the rules the service enforces.

Error values never echo what the client sent (secrets hide in URLs, keys and environment values); they name
the property path and, for enums and ranges, the limits.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from batch_api import API_VERSION
from batch_api.model import (
    ID_PATTERN,
    INVALID_VALUE,
    MISSING,
    SERVICE,
    Field,
    ObjectType,
    RuleContext,
    join,
)
from batch_api.normal import canonical_enum, parse_timestamp, wire_duration

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# The wording of the real service's messages for each code (section 7.2); details go into `values`.
_WORDING = {
    "InvalidRequestBody": "The request body is not syntactically valid.",
    MISSING: "A required property was not specified in the request body.",
    INVALID_VALUE: "The value provided for one of the properties in the request body is invalid.",
    "EmptyMetadataKey": "The key for one of the metadata key-value pairs is empty.",
    "TaskDependenciesNotSpecifiedOnJob":
        "The Task depends on other Tasks but the Job does not use task dependencies.",
    "TaskDependencyListTooLong": "The combined length of the Task IDs this Task depends on is too long.",
    "TaskDependencyRangesTooLong": "The Task depends on too many Task ID ranges.",
    "TaskIdSameAsJobPreparationTask": "The specified Task ID is the same as the Job Preparation Task ID.",
    "TaskIdSameAsJobReleaseTask": "The specified Task ID is the same as the Job Release Task ID.",
}


class ValidationError(Exception):
    """A request body the service rejects before storing anything, with the parts of a Batch error (7.1)."""

    def __init__(self, status: int, code: str, message: str, values: list[dict[str, str]]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.values = values


def reject(code: str, path: str, reason: str, status: int = 400) -> ValidationError:
    """Build the error for one property; `reason` must never contain a value the client sent."""
    values = [{"key": "PropertyName", "value": path}] if path else []
    values.append({"key": "Reason", "value": reason})
    return ValidationError(status, code, _WORDING[code], values)


def reject_unknown(paths: list[str]) -> ValidationError:
    """The single error naming every property the api-version does not have."""
    listed = ", ".join(paths)
    message = f"The request body contains properties that api-version {API_VERSION} does not have: {listed}"
    values = [{"key": "PropertyName", "value": listed},
              {"key": "Reason", "value": f"not a property of api-version {API_VERSION}"}]
    return ValidationError(400, "InvalidRequestBody", message, values)


def present(obj: Mapping[str, Any], name: str) -> bool:
    """JSON null counts as absent, as it does for the service's optional properties."""
    return obj.get(name) is not None


def as_int(value: object) -> int | None:
    """The integer a JSON number stands for; booleans are not numbers, integral floats like 3.0 are."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def unknown_paths(otype: ObjectType, value: object, path: str) -> list[str]:
    """Every property path in `value` that the type (or a nested type) does not declare."""
    if not isinstance(value, dict):
        return []
    found: list[str] = []
    for name, child in value.items():
        f = otype.field(name)
        if f is None:
            # OData annotations (odata.metadata and the like) are not properties.
            if not name.startswith("odata."):
                found.append(join(path, name))
            continue
        sub = f.object_type
        if sub is None:
            continue
        if f.kind == "object":
            found.extend(unknown_paths(sub, child, join(path, name)))
        elif isinstance(child, list):
            for index, element in enumerate(child):
                found.extend(unknown_paths(sub, element, f"{join(path, name)}[{index}]"))
    return found


def check_body(otype: ObjectType, body: object, ctx: RuleContext, path: str = "") -> None:
    """Validate a whole request body: a JSON object, no unknown properties, then the table walk."""
    if not isinstance(body, dict):
        raise reject("InvalidRequestBody", path, "the request body must be a JSON object")
    unknown = unknown_paths(otype, body, path)
    if unknown:
        raise reject_unknown(unknown)
    check_object(otype, body, path, ctx)


def check_object(otype: ObjectType, value: object, path: str, ctx: RuleContext) -> None:
    """Walk one object in table order: one-of groups, then each field, then the rules the service enforces."""
    if not isinstance(value, dict):
        raise reject(INVALID_VALUE, path, "must be a JSON object")
    _check_groups(otype, value, path)
    for f in otype.fields:
        item = value.get(f.name)
        if item is None:  # absent, or JSON null: the same for optional properties (see `present`)
            if f.required:
                raise reject(MISSING, join(path, f.name), "required property is missing")
            continue
        check_value(f, item, join(path, f.name), ctx)
    for rule in otype.rules:
        if rule.enforced_by == SERVICE:
            for violation in rule.check(value, ctx):
                raise reject(violation.code, join(path, violation.path), violation.message, violation.status)


def _check_groups(otype: ObjectType, value: Mapping[str, Any], path: str) -> None:
    for group in otype.one_of:
        given = [name for name in group.names if present(value, name)]
        if len(given) > 1:
            raise reject(INVALID_VALUE, join(path, given[1]),
                         f"only one of {', '.join(group.names)} may be specified")
        if group.exactly and not given:
            raise reject(MISSING, join(path, group.names[0]),
                         f"exactly one of {', '.join(group.names)} must be specified")


def check_value(f: Field, value: object, path: str, ctx: RuleContext) -> None:
    """Check one present (non-null) value against its field."""
    otype = f.object_type
    if f.kind == "object" and otype is not None:
        check_object(otype, value, path, ctx)
    elif f.kind == "list":
        _check_list(f, value, path, ctx)
    elif f.kind == "map":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise reject(INVALID_VALUE, path, "must be a JSON object with string values")
    elif f.kind == "bool":
        if not isinstance(value, bool):
            raise reject(INVALID_VALUE, path, "must be a boolean")
    elif f.kind == "int":
        _check_int(f, value, path)
    elif f.kind == "enum":
        if canonical_enum(f.enum, value) is None:
            raise reject(INVALID_VALUE, path, f"must be one of: {', '.join(f.enum)}")
    elif f.kind == "duration":
        _check_duration(f, value, path)
    elif f.kind == "datetime":
        if parse_timestamp(value) is None:
            raise reject(INVALID_VALUE, path, "must be an ISO-8601 date-time with a UTC offset")
    elif f.kind == "id":
        _check_id(f, value, path)
    else:
        _check_string(f, value, path)


def _item_field(f: Field) -> Field:
    """The field each scalar item of a list is checked against: strings in a list are never empty."""
    kind = str(f.item)
    return Field(f.name, kind, enum=f.enum, pattern=f.pattern, reason=f.reason,
                 length=(1, None) if kind == "str" else None)


def _check_list(f: Field, value: object, path: str, ctx: RuleContext) -> None:
    if not isinstance(value, list):
        raise reject(INVALID_VALUE, path, "must be a JSON array")
    if f.length is not None and f.length[1] is not None and len(value) > f.length[1]:
        raise reject(INVALID_VALUE, path, f"must not have more than {f.length[1]} items")
    otype = f.object_type
    item = _item_field(f) if otype is None else None
    seen: set[object] = set()
    key = f.unique_key
    for index, element in enumerate(value):
        item_path = f"{path}[{index}]"
        if element is None:
            raise reject(INVALID_VALUE, item_path, "must not be null")
        if otype is not None:
            check_object(otype, element, item_path, ctx)
        else:
            assert item is not None
            check_value(item, element, item_path, ctx)
        if key is not None and isinstance(element, dict):
            if element.get(key) in seen:
                raise reject(INVALID_VALUE, join(item_path, key), f"each {key} must be unique within the list")
            seen.add(element.get(key))


def _check_int(f: Field, value: object, path: str) -> None:
    number = as_int(value)
    if number is None:
        raise reject(INVALID_VALUE, path, "must be an integer")
    low, high = f.range if f.range is not None else (None, None)
    low = INT32_MIN if low is None else low
    high = INT32_MAX if high is None else high
    if not low <= number <= high or any(a <= number <= b for a, b in f.excluded):
        raise reject(f.code, path, f.reason or f"must be between {low} and {high}")


def _bound(text: str | None) -> timedelta | None:
    return wire_duration(text) if text is not None else None


def _check_duration(f: Field, value: object, path: str) -> None:
    parsed = wire_duration(value)
    if parsed is None:
        raise reject(INVALID_VALUE, path,
                     "must be a non-negative ISO-8601 duration in days, hours, minutes and seconds")
    low, high = (_bound(f.duration[0]), _bound(f.duration[1])) if f.duration is not None else (None, None)
    if (low is not None and parsed < low) or (high is not None and parsed > high):
        raise reject(f.code, path, f.reason or "duration is out of range")


def _check_id(f: Field, value: object, path: str) -> None:
    if not isinstance(value, str):
        raise reject(INVALID_VALUE, path, "must be a string")
    low, high = f.length or (1, 64)
    if not low <= len(value) <= (high or len(value)):
        raise reject(INVALID_VALUE, path, f"must be {low} to {high} characters long")
    if not re.fullmatch(f.pattern or ID_PATTERN, value):
        raise reject(INVALID_VALUE, path, "may contain only letters, digits, hyphens and underscores")


def _check_string(f: Field, value: object, path: str) -> None:
    if not isinstance(value, str):
        raise reject(INVALID_VALUE, path, "must be a string")
    low, high = f.length if f.length is not None else (0, None)
    if len(value) < low:
        raise reject(f.code, path, "must not be empty")
    if high is not None and len(value) > high:
        raise reject(f.code, path, f"must be at most {high} characters long")
    if f.pattern is not None and not re.fullmatch(f.pattern, value):
        raise reject(f.code, path, f.reason or "has an invalid format")


def with_canonical_enums(otype: ObjectType, value: object) -> Any:
    """A deep copy of `value` with every recognised enum value in its canonical spelling."""
    result = copy.deepcopy(value)
    _canonicalise_object(otype, result)
    return result


def _canonicalise_object(otype: ObjectType, value: object) -> None:
    if not isinstance(value, dict):
        return
    for f in otype.fields:
        if f.name in value:
            value[f.name] = _canonicalise(f, value[f.name])


def _canonicalise(f: Field, value: Any) -> Any:
    otype = f.object_type
    if f.kind == "enum" or (f.kind == "list" and f.item == "enum"):
        if isinstance(value, list):
            return [canonical_enum(f.enum, element) or element for element in value]
        return canonical_enum(f.enum, value) or value
    if otype is not None and f.kind == "object":
        _canonicalise_object(otype, value)
    elif otype is not None and isinstance(value, list):
        for element in value:
            _canonicalise_object(otype, element)
    return value


def comparable_form(otype: ObjectType, value: object) -> Any:
    """`value` reduced for equality: canonical enums, durations as timedeltas, integral ints, no nulls."""
    if not isinstance(value, dict):
        return value
    reduced = {}
    for name, child in value.items():
        f = otype.field(name)
        kept = child if f is None else _comparable(f, child)
        # An absent list and an empty one mean the same thing to the service (section 5.3 rule d).
        if kept is not None and kept != []:
            reduced[name] = kept
    return reduced


def _comparable(f: Field, value: Any) -> Any:
    otype = f.object_type
    if otype is not None and f.kind == "object":
        return comparable_form(otype, value)
    if f.kind == "list" and isinstance(value, list):
        if otype is not None:
            return [comparable_form(otype, element) for element in value]
        return [_scalar_comparable(str(f.item), f, element) for element in value]
    return _scalar_comparable(f.kind, f, value)


def _scalar_comparable(kind: str, f: Field, value: Any) -> Any:
    if kind == "enum":
        return canonical_enum(f.enum, value) or value
    if kind == "duration":
        parsed = wire_duration(value)
        return value if parsed is None else parsed
    if kind == "int":
        number = as_int(value)
        return value if number is None else number
    return value
