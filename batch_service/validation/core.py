"""The generic half of request-body validation: field kinds, schema-table types and the one walker over them.

The tables themselves live in job_tables.py and pool_tables.py;
batch_service.validation.bodies is the public entry point. Error values never echo what the client sent (secrets hide
in URLs, keys and environment values); they name the property path and, for enums and ranges, the limits.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import isodate

from batch_service.durations import parse_duration

API_VERSION = "2025-06-01"
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# .NET TimeSpan.MaxValue, which the service returns for "unlimited" (§1.1); isodate rounds the 7th digit up.
DURATION_MAX = timedelta(days=10675199, hours=2, minutes=48, seconds=5, microseconds=477581)
# Edm.Duration as OData writes it: days and time parts only (no years, months or weeks), never negative here.
_DURATION_SHAPE = re.compile(r"P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_ID_CHARS = re.compile(r"[A-Za-z0-9_-]+")

# The wording of the real service's messages for each code (§7.2); details go into `values`.
_WORDING = {
    "InvalidRequestBody": "The request body is not syntactically valid.",
    "MissingRequiredProperty": "A required property was not specified in the request body.",
    "InvalidPropertyValue": "The value provided for one of the properties in the request body is invalid.",
    "EmptyMetadataKey": "The key for one of the metadata key-value pairs is empty.",
    "TaskDependenciesNotSpecifiedOnJob":
        "The Task depends on other Tasks but the Job does not use task dependencies.",
    "TaskDependencyListTooLong": "The combined length of the Task IDs this Task depends on is too long.",
    "TaskDependencyRangesTooLong": "The Task depends on too many Task ID ranges.",
    "TaskIdSameAsJobPreparationTask": "The specified Task ID is the same as the Job Preparation Task ID.",
    "TaskIdSameAsJobReleaseTask": "The specified Task ID is the same as the Job Release Task ID.",
}


class ValidationError(Exception):
    """A request body the service rejects before storing anything, with the parts of a Batch error (§7.1)."""

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


def join(path: str, name: str) -> str:
    """The dotted path of a child property."""
    return f"{path}.{name}" if path else name


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


def as_duration(value: object) -> timedelta | None:
    """A non-negative ISO-8601 day/time duration as a timedelta, or None when it is not one."""
    if not isinstance(value, str) or not _DURATION_SHAPE.fullmatch(value):
        return None
    try:
        parsed = parse_duration(value)
    except (ValueError, OverflowError):
        return None
    if parsed > DURATION_MAX:
        return None
    return parsed


def is_timestamp(value: object) -> bool:
    """An ISO-8601 date-time with a UTC offset (Edm.DateTimeOffset)."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        return isodate.parse_datetime(value).tzinfo is not None
    except (isodate.ISO8601Error, ValueError, OverflowError):
        return False


Rule = Callable[[Mapping[str, Any], str], None]


@dataclass(frozen=True)
class Field:
    """One property of a schema table: its JSON kind and the limits the service enforces."""

    kind: str  # string | id | int | bool | duration | datetime | enum | object | list | map
    required: bool = False
    ref: str = ""  # object type name, for kind == "object"
    item: Field | None = None  # element field, for kind == "list"
    enum: tuple[str, ...] = ()  # the 2025-06-01 spellings, for kind == "enum"
    low: int | None = None
    high: int | None = None
    reserved: tuple[tuple[int, int], ...] = ()  # inclusive integer ranges that are not allowed
    shortest: timedelta | None = None
    longest: timedelta | None = None
    min_len: int = 0  # characters for strings
    max_len: int | None = None  # characters for strings, items for lists
    pattern: re.Pattern[str] | None = None
    unique: str = ""  # lists of objects: the key whose values must not repeat
    note: str = ""  # the Reason given when a range or pattern check fails


@dataclass(frozen=True)
class ObjectSpec:
    """One object type: its fields in schema order, its one-of groups and its object-level rules."""

    fields: Mapping[str, Field]
    exactly_one: tuple[tuple[str, ...], ...] = ()
    at_most_one: tuple[tuple[str, ...], ...] = ()
    requires: tuple[tuple[str, str], ...] = ()  # (when this is present, that is required)
    excludes: tuple[tuple[str, str], ...] = ()  # (when this is present, that is not allowed)
    rules: tuple[Rule, ...] = ()


Schemas = Mapping[str, ObjectSpec]


def text(required: bool = False, max_len: int | None = None, pattern: str = "", note: str = "",
         min_len: int | None = None) -> Field:
    """A string; a required string must also be non-empty unless min_len says otherwise."""
    shortest = (1 if required else 0) if min_len is None else min_len
    return Field("string", required, min_len=shortest, max_len=max_len,
                 pattern=re.compile(pattern) if pattern else None, note=note)


def ident(required: bool = True) -> Field:
    """An ID: letters, digits, hyphens and underscores, at most 64 characters (§3.1)."""
    return Field("id", required)


def integer(required: bool = False, low: int | None = None, high: int | None = None,
            reserved: tuple[tuple[int, int], ...] = (), note: str = "") -> Field:
    """An int32, optionally limited to [low, high] minus reserved ranges."""
    return Field("int", required, low=low, high=high, reserved=reserved, note=note)


def flag(required: bool = False) -> Field:
    """A JSON boolean."""
    return Field("bool", required)


def duration(required: bool = False, shortest: timedelta | None = None, longest: timedelta | None = None,
             note: str = "") -> Field:
    """An ISO-8601 duration, optionally limited to [shortest, longest]."""
    return Field("duration", required, shortest=shortest, longest=longest, note=note)


def timestamp(required: bool = False) -> Field:
    """An ISO-8601 date-time with offset."""
    return Field("datetime", required)


def choice(values: tuple[str, ...], required: bool = False) -> Field:
    """An enum; any letter case is accepted, the listed spelling is the canonical one."""
    return Field("enum", required, enum=values)


def obj(ref: str, required: bool = False) -> Field:
    """A nested object of the named table."""
    return Field("object", required, ref=ref)


def many(item: Field, required: bool = False, max_len: int | None = None, unique: str = "") -> Field:
    """A JSON array whose elements are all `item`."""
    return Field("list", required, item=item, max_len=max_len, unique=unique)


def strmap() -> Field:
    """A JSON object of free-form keys with string values (extension settings)."""
    return Field("map")


def unknown_paths(schemas: Schemas, type_name: str, value: object, path: str) -> list[str]:
    """Every property path in `value` that the type (or a nested type) does not declare."""
    if not isinstance(value, dict):
        return []
    spec = schemas[type_name]
    found: list[str] = []
    for name, child in value.items():
        field = spec.fields.get(name)
        if field is None:
            # OData annotations (odata.metadata and the like) are not properties.
            if not name.startswith("odata."):
                found.append(join(path, name))
            continue
        found.extend(_unknown_in_field(schemas, field, child, join(path, name)))
    return found


def _unknown_in_field(schemas: Schemas, field: Field, value: object, path: str) -> list[str]:
    if field.kind == "object":
        return unknown_paths(schemas, field.ref, value, path)
    if field.kind == "list" and field.item is not None and isinstance(value, list):
        found: list[str] = []
        for index, element in enumerate(value):
            found.extend(_unknown_in_field(schemas, field.item, element, f"{path}[{index}]"))
        return found
    return []


def check_body(schemas: Schemas, type_name: str, body: object, path: str = "") -> None:
    """Validate a whole request body: a JSON object, no unknown properties, then the schema walk."""
    if not isinstance(body, dict):
        raise reject("InvalidRequestBody", path, "the request body must be a JSON object")
    unknown = unknown_paths(schemas, type_name, body, path)
    if unknown:
        raise reject_unknown(unknown)
    check_object(schemas, type_name, body, path)


def check_object(schemas: Schemas, type_name: str, value: object, path: str) -> None:
    """Walk one object in schema order: groups, then each field, then the object's own rules."""
    if not isinstance(value, dict):
        raise reject("InvalidPropertyValue", path, "must be a JSON object")
    spec = schemas[type_name]
    _check_groups(spec, value, path)
    for name, field in spec.fields.items():
        item = value.get(name)
        if item is None:  # absent, or JSON null: the same for optional properties (see `present`)
            if field.required:
                raise reject("MissingRequiredProperty", join(path, name), "required property is missing")
            continue
        check_value(schemas, field, item, join(path, name))
    for rule in spec.rules:
        rule(value, path)


def _check_groups(spec: ObjectSpec, value: Mapping[str, Any], path: str) -> None:
    for group in spec.exactly_one + spec.at_most_one:
        given = [name for name in group if present(value, name)]
        if len(given) > 1:
            raise reject("InvalidPropertyValue", join(path, given[1]),
                         f"only one of {', '.join(group)} may be specified")
    for group in spec.exactly_one:
        if not any(present(value, name) for name in group):
            raise reject("MissingRequiredProperty", join(path, group[0]),
                         f"exactly one of {', '.join(group)} must be specified")
    for when, needed in spec.requires:
        if present(value, when) and not present(value, needed):
            raise reject("MissingRequiredProperty", join(path, needed), f"required when {when} is specified")
    for when, banned in spec.excludes:
        if present(value, when) and present(value, banned):
            raise reject("InvalidPropertyValue", join(path, banned), f"not allowed when {when} is specified")


def check_value(schemas: Schemas, field: Field, value: object, path: str) -> None:
    """Check one present (non-null) value against its field."""
    if field.kind == "object":
        check_object(schemas, field.ref, value, path)
    elif field.kind == "list":
        _check_list(schemas, field, value, path)
    elif field.kind == "map":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise reject("InvalidPropertyValue", path, "must be a JSON object with string values")
    elif field.kind == "bool":
        if not isinstance(value, bool):
            raise reject("InvalidPropertyValue", path, "must be a boolean")
    elif field.kind == "int":
        _check_int(field, value, path)
    elif field.kind == "enum":
        if canonical_enum(field, value) is None:
            raise reject("InvalidPropertyValue", path, f"must be one of: {', '.join(field.enum)}")
    elif field.kind == "duration":
        _check_duration(field, value, path)
    elif field.kind == "datetime":
        if not is_timestamp(value):
            raise reject("InvalidPropertyValue", path, "must be an ISO-8601 date-time with a UTC offset")
    elif field.kind == "id":
        _check_id(value, path)
    else:
        _check_string(field, value, path)


def _check_list(schemas: Schemas, field: Field, value: object, path: str) -> None:
    if not isinstance(value, list):
        raise reject("InvalidPropertyValue", path, "must be a JSON array")
    if field.max_len is not None and len(value) > field.max_len:
        raise reject("InvalidPropertyValue", path, f"must not have more than {field.max_len} items")
    assert field.item is not None
    seen: set[str] = set()
    for index, element in enumerate(value):
        item_path = f"{path}[{index}]"
        if element is None:
            raise reject("InvalidPropertyValue", item_path, "must not be null")
        check_value(schemas, field.item, element, item_path)
        if field.unique:
            key = element.get(field.unique)
            if key in seen:
                raise reject("InvalidPropertyValue", join(item_path, field.unique),
                             f"each {field.unique} must be unique within the list")
            seen.add(key)


def _check_int(field: Field, value: object, path: str) -> None:
    number = as_int(value)
    if number is None:
        raise reject("InvalidPropertyValue", path, "must be an integer")
    low = INT32_MIN if field.low is None else field.low
    high = INT32_MAX if field.high is None else field.high
    bad = not low <= number <= high or any(a <= number <= b for a, b in field.reserved)
    if bad:
        raise reject("InvalidPropertyValue", path, field.note or f"must be between {low} and {high}")


def _check_duration(field: Field, value: object, path: str) -> None:
    parsed = as_duration(value)
    if parsed is None:
        raise reject("InvalidPropertyValue", path,
                     "must be a non-negative ISO-8601 duration in days, hours, minutes and seconds")
    too_short = field.shortest is not None and parsed < field.shortest
    too_long = field.longest is not None and parsed > field.longest
    if too_short or too_long:
        raise reject("InvalidPropertyValue", path, field.note or "duration is out of range")


def _check_id(value: object, path: str) -> None:
    if not isinstance(value, str):
        raise reject("InvalidPropertyValue", path, "must be a string")
    if not value or len(value) > 64:
        raise reject("InvalidPropertyValue", path, "must be 1 to 64 characters long")
    if not _ID_CHARS.fullmatch(value):
        raise reject("InvalidPropertyValue", path,
                     "may contain only letters, digits, hyphens and underscores")


def _check_string(field: Field, value: object, path: str) -> None:
    if not isinstance(value, str):
        raise reject("InvalidPropertyValue", path, "must be a string")
    if len(value) < field.min_len:
        raise reject("InvalidPropertyValue", path, "must not be empty")
    if field.max_len is not None and len(value) > field.max_len:
        raise reject("InvalidPropertyValue", path, f"must be at most {field.max_len} characters long")
    if field.pattern is not None and not field.pattern.fullmatch(value):
        raise reject("InvalidPropertyValue", path, field.note or "has an invalid format")


def canonical_enum(field: Field, value: object) -> str | None:
    """The 2025-06-01 spelling of an enum value matched case-insensitively, or None."""
    if not isinstance(value, str):
        return None
    for allowed in field.enum:
        if allowed.lower() == value.lower():
            return allowed
    return None


def with_canonical_enums(schemas: Schemas, type_name: str, value: object) -> Any:
    """A deep copy of `value` with every recognised enum value in its canonical spelling."""
    result = copy.deepcopy(value)
    _canonicalise_object(schemas, type_name, result)
    return result


def _canonicalise_object(schemas: Schemas, type_name: str, value: object) -> None:
    if not isinstance(value, dict):
        return
    for name, field in schemas[type_name].fields.items():
        if name in value:
            value[name] = _canonicalise(schemas, field, value[name])


def _canonicalise(schemas: Schemas, field: Field, value: Any) -> Any:
    if field.kind == "enum":
        return canonical_enum(field, value) or value
    if field.kind == "object":
        _canonicalise_object(schemas, field.ref, value)
    elif field.kind == "list" and field.item is not None and isinstance(value, list):
        return [_canonicalise(schemas, field.item, element) for element in value]
    return value


def comparable_form(schemas: Schemas, type_name: str, value: object) -> Any:
    """`value` reduced for equality: canonical enums, durations as timedeltas, integral ints, no nulls."""
    return _comparable(schemas, obj(type_name), value)


def _comparable(schemas: Schemas, field: Field, value: Any) -> Any:
    if field.kind == "object" and isinstance(value, dict):
        fields = schemas[field.ref].fields
        reduced = {}
        for name, child in value.items():
            child_field = fields.get(name)
            kept = child if child_field is None else _comparable(schemas, child_field, child)
            # An absent list and an empty one mean the same thing to the service (§5.3 rule d).
            if kept is not None and kept != []:
                reduced[name] = kept
        return reduced
    if field.kind == "list" and field.item is not None and isinstance(value, list):
        return [_comparable(schemas, field.item, element) for element in value]
    if field.kind == "enum":
        return canonical_enum(field, value) or value
    if field.kind == "duration":
        parsed = as_duration(value)
        return value if parsed is None else parsed
    if field.kind == "int":
        number = as_int(value)
        return value if number is None else number
    return value
