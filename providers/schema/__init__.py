"""The providers' view of the API tables of `batch_api`: check a body, find the change rule of a path, coerce
numbers, redact secrets, render the README's change-rules table (reference sections 3-5).

The tables themselves (one per REST object type, with defaults, secrecy and change rules) live in `batch_api`;
here are the preview checks that read them (`check`, cross-field `rules`), the normal form of a body for the
diff (`normalise`), and the names the resource modules import (`model`, `job`, `durations`).

May import: batch_api, the standard library, isodate and its own modules only. Never `providers.diff`, the
client or a resource module: check, diff, update and the README all read the table, so it depends on none of them.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from batch_api import JOB, JOB_SCHEDULE, TASK
from batch_api.model import (
    CHANGE_RULES,
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
    join,
)
from providers.schema.check import check_spec
from providers.schema.model import Problem
from providers.schema.normalise import normalise_scalar

__all__ = [
    "CHANGE_RULES",
    "NO_DEFAULT",
    "ONE_WAY",
    "PATCH",
    "PATCH_WHEN_DISABLED",
    "REDACTED",
    "REPLACE",
    "RESOURCES",
    "SERVER_DEFAULT",
    "UPDATE",
    "Field",
    "ObjectType",
    "Problem",
    "RuleMatch",
    "change_rule_markdown",
    "check_job",
    "check_job_schedule",
    "check_task",
    "coerce_numbers",
    "redact",
    "root_type",
    "rule_for",
    "secret_paths",
]

RESOURCES: dict[str, ObjectType] = {"job": JOB, "task": TASK, "job_schedule": JOB_SCHEDULE}
REDACTED = "***"


def root_type(kind: str) -> ObjectType:
    """The table of one resource kind: "job", "task" or "job_schedule"."""
    try:
        return RESOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown resource kind {kind!r}; expected one of {', '.join(RESOURCES)}") from None


def check_job(spec: object) -> list[Problem]:
    """Every problem of a job create body (BatchJobCreateOptions)."""
    return check_spec("job", JOB, spec)


def check_task(spec: object, job: dict[str, Any] | None = None) -> list[Problem]:
    """Every problem of a task create body; `job` (the desired job spec) enables the job-dependent rules."""
    return check_spec("task", TASK, spec, job)


def check_job_schedule(spec: object) -> list[Problem]:
    """Every problem of a job schedule create body (BatchJobScheduleCreateOptions)."""
    return check_spec("job_schedule", JOB_SCHEDULE, spec)


def coerce_numbers(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of spec whose integral floats are ints wherever the table says int (Pulumi sends floats)."""
    return _coerce_object(root_type(kind), spec)


def _coerce_object(otype: ObjectType, value: dict[str, Any]) -> dict[str, Any]:
    out = dict(value)
    for key, item in value.items():
        f = otype.field(key)
        if f is not None:
            out[key] = _coerce_value(f, item)
    return out


def _coerce_value(f: Field, value: Any) -> Any:
    otype = f.object_type
    if otype is not None and isinstance(value, dict):
        return _coerce_object(otype, value)
    if f.kind == "list" and isinstance(value, list):
        return [_coerce_object(otype, v) if otype is not None and isinstance(v, dict) else _coerce_int(f.item, v)
                for v in value]
    return _coerce_int(f.kind, value)


def _coerce_int(kind: object, value: Any) -> Any:
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return normalise_scalar("int", value)
    return value


@dataclass(frozen=True)
class RuleMatch:
    """The change rule a property path falls under, and the table fields along the way."""

    rule: str
    owner: str  # dotted path of the field whose rule applies (e.g. "jobManagerTask")
    owner_field: Field | None
    leaf: Field | None  # the deepest table field on the path
    secret: bool  # the value at the path is secret (a secret field on the path)


def rule_for(kind: str, parts: Sequence[str | int]) -> RuleMatch:
    """Walk the table along a property path (list indices skipped); the outermost explicit rule decides."""
    otype: ObjectType | None = root_type(kind)
    chain: list[tuple[str, Field]] = []
    path = ""
    for part in parts:
        if isinstance(part, int):
            continue
        f = otype.field(part) if otype is not None else None
        if f is None:
            break
        path = join(path, part)
        chain.append((path, f))
        if f.kind == "map":
            break  # what follows are the map's own keys
        otype = f.object_type
    secret = any(f.secret for _, f in chain)
    leaf = chain[-1][1] if chain else None
    for owner, f in chain:
        if f.change is not None:
            return RuleMatch(f.change, owner, f, leaf, secret)
    if not chain:
        return RuleMatch(REPLACE, "", None, None, secret)
    owner, f = chain[-1]
    # A container without a rule of its own (poolInfo, autoPoolSpecification) is as strict as its
    # strictest field: adding or removing an auto-pool specification is a replace.
    return RuleMatch(_strictest(f) or REPLACE, owner, f, leaf, secret)


def _strictest(f: Field) -> str | None:
    if f.change is not None:
        return f.change
    otype = f.object_type
    rules = [r for c in otype.fields if (r := _strictest(c)) is not None] if otype is not None else []
    return max(rules, key=lambda r: RULE_STRENGTH[r]) if rules else None


def secret_paths(kind: str, spec: object) -> list[str]:
    """Dotted paths of every secret value present in a spec (for secret outputs and redaction)."""
    found: list[str] = []
    _walk_secrets(root_type(kind), spec, "", found)
    return found


def _walk_secrets(otype: ObjectType, value: object, path: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        f = otype.field(key)
        if f is None or item is None:
            continue
        here = join(path, key)
        sub = f.object_type
        if f.secret:
            found.append(here)
        elif sub is not None and f.kind == "list" and isinstance(item, list):
            for i, element in enumerate(item):
                _walk_secrets(sub, element, f"{here}[{i}]", found)
        elif sub is not None:
            _walk_secrets(sub, item, here, found)


def redact(kind: str, spec: object) -> Any:
    """A copy of spec with every secret value replaced by "***" (safe for messages and logs)."""
    return redact_value(root_type(kind), spec)


def redact_value(otype: ObjectType | None, value: Any) -> Any:
    """A copy of a value of the given object type (or of a list of them) with secret values masked."""
    if otype is None:
        return copy.deepcopy(value)
    if isinstance(value, list):
        return [redact_value(otype, v) for v in value]
    if not isinstance(value, dict):
        return copy.deepcopy(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        f = otype.field(key)
        if f is not None and f.secret and item is not None:
            out[key] = REDACTED
        else:
            out[key] = redact_value(f.object_type if f is not None else None, item)
    return out


_RULE_WORDS = {
    PATCH: "update in place (PATCH)",
    PATCH_WHEN_DISABLED: "update in place (disable the job, PATCH, enable)",
    UPDATE: "update in place (PUT constraints)",
    REPLACE: "**replace**",
}


def describe_rule(f: Field) -> str:
    """Human wording of a field's change rule."""
    if f.change == ONE_WAY:
        refused = "; ".join(f"{a} → {b} refused" for a, b in f.refuse)
        return f"update in place (PATCH); {refused}"
    return _RULE_WORDS.get(f.change or REPLACE, f.change or REPLACE)


def change_rule_markdown() -> str:
    """The README's "what replaces what" table, generated from the job, task and job schedule tables."""
    lines = ["| Resource | Property | On change | Why |", "|---|---|---|---|"]
    for label, otype in (("BatchJob", JOB), ("BatchTask", TASK), ("BatchJobSchedule", JOB_SCHEDULE)):
        for path, f in _ruled_fields(otype, ""):
            lines.append(f"| {label} | `{path}` | {describe_rule(f)} | {f.note} |")
    lines += [
        "",
        ("**replace** = delete, wait until the service has really removed it, create again under the same id "
        "(a replaced job loses its tasks). A change anywhere inside a property marked replace (e.g. "
        "`jobManagerTask.commandLine`) replaces the resource. Fields left out of a spec take the service's "
        "documented defaults, so they never show as drift. Section numbers refer to the Batch API reference."),
    ]
    return "\n".join(lines) + "\n"


def _ruled_fields(otype: ObjectType, prefix: str) -> list[tuple[str, Field]]:
    rows: list[tuple[str, Field]] = []
    for f in otype.fields:
        path = join(prefix, f.name)
        sub = f.object_type
        if f.change is not None:
            rows.append((path, f))
        elif sub is not None:
            rows.extend(_ruled_fields(sub, path))
    return rows
