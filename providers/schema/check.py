"""check(): walk a create body along its schema table and report Problems (values never echoed)."""
from __future__ import annotations

import difflib
import re
from typing import Any

from batch_api.model import ID_PATTERN, Field, ObjectType, is_unknown, join
from batch_api.normal import DurationError, parse_duration, parse_timestamp
from providers.schema.model import Problem
from providers.schema.rules import CheckContext, run_rules


def check_spec(kind: str, root: ObjectType, spec: object, job: object = None) -> list[Problem]:
    """All problems of one create body against its table."""
    if not isinstance(spec, dict):
        return [Problem("", "type", "the spec must be an object (the REST create body)")]
    ctx = CheckContext(kind, job if isinstance(job, dict) else None)
    problems: list[Problem] = []
    _check_object(root, spec, "", ctx, problems)
    return problems


def _check_object(otype: ObjectType, value: dict[str, Any], path: str, ctx: CheckContext,
                  problems: list[Problem]) -> None:
    for key, item in value.items():
        f = otype.field(key)
        if f is None:
            problems.append(_unknown_property(otype, str(key), path))
        elif f.read_only and item is not None:
            problems.append(Problem(join(path, key), "read-only", f"{key} is set by the service, not on create"))
        elif item is not None and not is_unknown(item):
            _check_value(f, item, join(path, key), ctx, problems)
    for f in otype.fields:
        if f.required and value.get(f.name) is None:
            problems.append(Problem(join(path, f.name), "required", f"{f.name} is required in {otype.name}"))
    for group in otype.one_of:
        given = [n for n in group.names if value.get(n) is not None]
        if len(given) > 1:
            problems.append(Problem(path, "one-of", f"{' and '.join(given)} cannot be given together"))
        elif not given and group.exactly:
            problems.append(Problem(path, "one-of", f"exactly one of {', '.join(group.names)} is required"))
    run_rules(otype, value, path, ctx, problems)


def _unknown_property(otype: ObjectType, key: str, path: str) -> Problem:
    message = f"unknown property {key} in {otype.name} (api-version 2025-06-01)"
    if key in otype.removed:
        message += "; older API versions had it, 2025-06-01 no longer does"
    lowered = {n.lower(): n for n in otype.names()}
    near = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.75)
    if near:
        message += f"; did you mean {lowered[near[0]]}?"
    return Problem(join(path, key), "unknown-property", message)


def _check_value(f: Field, value: Any, path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    otype = f.object_type
    if f.kind == "object" and otype is not None:
        if not isinstance(value, dict):
            problems.append(Problem(path, "type", f"{f.name} must be an object"))
        else:
            _check_object(otype, value, path, ctx, problems)
    elif f.kind == "list":
        _check_list(f, value, path, ctx, problems)
    elif f.kind == "map":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(Problem(path, "type", f"{f.name} must be an object of string values"))
    else:
        problem = scalar_problem(f, f.kind, value, path)
        if problem is not None:
            problems.append(problem)


def _check_list(f: Field, value: Any, path: str, ctx: CheckContext, problems: list[Problem]) -> None:
    if not isinstance(value, list):
        problems.append(Problem(path, "type", f"{f.name} must be a list"))
        return
    if f.length is not None and not _within(len(value), f.length):
        problems.append(Problem(path, "length", f"{f.name} must have {_bounds(f.length)} items"))
    otype = f.object_type
    for i, item in enumerate(value):
        item_path = f"{path}[{i}]"
        if is_unknown(item):
            continue
        if otype is not None:
            if isinstance(item, dict):
                _check_object(otype, item, item_path, ctx, problems)
            else:
                problems.append(Problem(item_path, "type", f"each {f.name} item must be an object"))
        else:
            problem = scalar_problem(f, str(f.item), item, item_path)
            if problem is not None:
                problems.append(problem)
    if f.unique_key is not None:
        problems.extend(_duplicates(f, value, path))


def _duplicates(f: Field, value: list[Any], path: str) -> list[Problem]:
    seen: dict[str, int] = {}
    found = []
    for i, item in enumerate(value):
        key = item.get(f.unique_key) if isinstance(item, dict) else None
        if not isinstance(key, str):
            continue
        if key in seen:
            found.append(Problem(f"{path}[{i}].{f.unique_key}", "duplicate-name",
                                 f"{f.unique_key} repeats the one of item [{seen[key]}]; names must be unique"))
        else:
            seen[key] = i
    return found


def scalar_problem(f: Field, kind: str, value: Any, path: str) -> Problem | None:
    """The problem with one scalar value of the given kind, or None when it is fine."""
    if kind in ("str", "id", "enum", "duration", "datetime") and not isinstance(value, str):
        return Problem(path, "type", f"{f.name} must be a string")
    if kind == "id":
        return _id_problem(f, value, path)
    if kind == "str":
        if f.length is not None and not _within(len(value), f.length):
            return Problem(path, "length", f"{f.name} must be {_bounds(f.length)} characters long")
        if f.pattern is not None and not re.fullmatch(f.pattern, value):
            return Problem(path, "format", f"{f.name} {f.reason}" if f.reason else f"{f.name} must match {f.pattern}")
        return None
    if kind == "enum":
        if value.lower() not in {v.lower() for v in f.enum}:
            return Problem(path, "enum", f"{f.name} must be one of: {', '.join(f.enum)}")
        return None
    if kind == "int":
        return _int_problem(f, value, path)
    if kind == "bool":
        return None if isinstance(value, bool) else Problem(path, "type", f"{f.name} must be true or false")
    if kind == "duration":
        return _duration_problem(f, value, path)
    if kind == "datetime" and parse_timestamp(value) is None:
        return Problem(path, "type", f"{f.name} must be an ISO-8601 date-time with a UTC offset")
    return None


def _id_problem(f: Field, value: str, path: str) -> Problem | None:
    # 3.1 / 3.4: letters, digits, hyphens and underscores, at most 64 characters (the table's limits).
    low, high = f.length or (1, 64)
    if not low <= len(value) <= (high or len(value)):
        return Problem(path, "id-format", f"{f.name} must be {low} to {high} characters long")
    if not re.fullmatch(f.pattern or ID_PATTERN, value):
        return Problem(path, "id-format", f"{f.name} may contain only letters, digits, '-' and '_'")
    return None


def _int_problem(f: Field, value: Any, path: str) -> Problem | None:
    # Pulumi delivers every number as a float (pulumi-dynamic 1.1): an integral float is an int.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Problem(path, "type", f"{f.name} must be an integer")
    if isinstance(value, float) and not value.is_integer():
        return Problem(path, "type", f"{f.name} must be a whole number")
    number = int(value)
    excluded = any(low <= number <= high for low, high in f.excluded)
    if (f.range is not None and not _within(number, f.range)) or excluded:
        allowed = _bounds(f.range) if f.range is not None else "an integer"
        if f.excluded:
            allowed += " except " + ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in f.excluded)
        return Problem(path, "range", f"{f.name} must be {allowed}")
    return None


def _duration_problem(f: Field, value: str, path: str) -> Problem | None:
    try:
        parsed = parse_duration(value)
    except DurationError as exc:
        return Problem(path, "type", f"{f.name}: {exc}")
    if f.duration is None or parsed is None:
        return None
    low = parse_duration(f.duration[0]) if f.duration[0] else None
    high = parse_duration(f.duration[1]) if f.duration[1] else None
    if (low is not None and parsed < low) or (high is not None and parsed > high):
        return Problem(path, "range", f"{f.name} must be {_bounds(f.duration)}")
    return None


def _within(number: int, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    return (low is None or number >= low) and (high is None or number <= high)


def _bounds(bounds: tuple[Any, Any]) -> str:
    low, high = bounds
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"
