"""Pure diff of a desired create body against the live object: normalise, deepdiff, map each path to its rule.

Every decision comes from the schema tables (`providers.schema`): which fields exist, their defaults, how
they compare, whether they are secret, and what a change means (PATCH, disable+PATCH, PUT constraints,
replace, or refused).
"""
from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from providers.schema import (
    NO_DEFAULT,
    ONE_WAY,
    PATCH,
    PATCH_WHEN_DISABLED,
    REDACTED,
    REPLACE,
    UPDATE,
    ObjectType,
    Problem,
    RuleMatch,
    coerce_numbers,
    redact_value,
    root_type,
    rule_for,
)
from providers.schema.durations import format_duration
from providers.schema.model import is_unknown, join
from providers.schema.normalise import normalise_body

REFUSED = "refused"
_TASK_RETRY = "constraints.maxTaskRetryCount"


@dataclass(frozen=True)
class FieldChange:
    """One property that differs from live, what `up` will do about it, and why (values redacted if secret)."""

    path: str  # property path inside the spec, e.g. "jobManagerTask.commandLine" or "metadata[owner].value"
    rule: str  # "patch" | "patch-when-disabled" | "update" | "replace" | "refused"
    desired: object  # None when the desired spec does not have it
    live: object  # None when the live object does not have it
    reason: str
    secret: bool


@dataclass
class DiffPlan:
    """The changes between a desired spec and the live object (or that the live object is gone)."""

    changes: list[FieldChange]
    gone: bool = False
    kind: str = "job"
    # Values the normalised desired spec took from the job or the service for omitted task constraints.
    filled: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_changes(self) -> bool:
        """True when any property differs from live."""
        return bool(self.changes)

    @property
    def replaces(self) -> list[str]:
        """Property paths (prefixed "spec.") whose change forces a replacement."""
        return list(dict.fromkeys(f"spec.{c.path}" for c in self.changes if c.rule == REPLACE))

    @property
    def refused(self) -> list[FieldChange]:
        """Changes the service would refuse (e.g. onAllTasksComplete terminatejob → noaction)."""
        return [c for c in self.changes if c.rule == REFUSED]

    @property
    def needs_disable(self) -> bool:
        """True when the job must be disabled around the PATCH (a poolInfo.poolId change, reference 4.1)."""
        return any(c.rule == PATCH_WHEN_DISABLED for c in self.changes)

    def patch_body(self, desired_spec: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH body for a job: only changed patchable top-level fields, each one whole (never a subset PUT)."""
        if self.kind != "job":
            return {}
        spec = coerce_numbers("job", dict(desired_spec))
        otype = root_type("job")
        body: dict[str, Any] = {}
        for change in self.changes:
            if change.rule not in (PATCH, PATCH_WHEN_DISABLED):
                continue
            top = _top_name(change.path)
            f = otype.field(top)
            if f is None or top in body:
                continue
            value = spec.get(top)
            if value is None:
                # Omitted in the spec: send the service default, so PATCH really resets it (4.1).
                value = [] if f.kind == "list" else copy.deepcopy(f.default)
            if f.object_type is not None and f.default is not NO_DEFAULT and isinstance(value, dict):
                value = _complete(f.object_type, value, {})  # 4.1: send the complete constraints object
            body[top] = value
        return body

    def task_constraints(self, desired_spec: Mapping[str, Any]) -> dict[str, Any] | None:
        """The complete constraints object to PUT for a task, or None when constraints did not change."""
        if self.kind != "task" or not any(c.rule == UPDATE for c in self.changes):
            return None
        spec = coerce_numbers("task", dict(desired_spec))
        given = spec.get("constraints")
        constraints: dict[str, Any] = given if isinstance(given, dict) else {}
        f = root_type("task").field("constraints")
        assert f is not None and f.object_type is not None
        # A PUT resets what it omits (4.2): every member is sent, with the job's retry count if inherited.
        return _complete(f.object_type, constraints, self.filled)

    def describe(self) -> list[str]:
        """Human lines for preview; secret values (and environment values) are never printed."""
        if self.gone:
            return [f"+ the {self.kind} no longer exists in the service: it will be created"]
        replacing = any(c.rule == REPLACE for c in self.changes)
        return [describe_change(c, replacing) for c in self.changes]


def _top_name(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _complete(otype: ObjectType, value: Mapping[str, Any], filled: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(value)
    for f in otype.fields:
        if out.get(f.name) is not None or f.read_only:
            continue
        if f.name in filled and filled[f.name] is not None:
            out[f.name] = filled[f.name]
        elif f.default is not NO_DEFAULT:
            out[f.name] = copy.deepcopy(f.default)
    return out


def normalise_job(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """A job body or GET result in comparable form (read-only fields dropped, defaults filled, reference 5.3)."""
    normalised = normalise_body(root_type("job"), dict(body or {}))
    return _drop_generated_pool_id(normalised)


def normalise_task(body: Mapping[str, Any] | None, job_constraints: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A task body or GET result in comparable form; `job_constraints` supplies the inherited retry count."""
    return normalise_body(root_type("task"), dict(body or {}), _inherited(job_constraints, None))


def _drop_generated_pool_id(job: dict[str, Any]) -> dict[str, Any]:
    # An auto-pool job's real pool id is the service's (executionInfo.poolId, 5.1); if a service echoes it
    # in poolInfo too, it is not something the spec could have asked for.
    pool_info = job.get("poolInfo")
    if isinstance(pool_info, dict) and "autoPoolSpecification" in pool_info:
        pool_info.pop("poolId", None)
    return job


def _inherited(job_constraints: Mapping[str, Any] | None, retry_count: object) -> dict[str, Any]:
    if retry_count is None and job_constraints is not None:
        retry_count = job_constraints.get("maxTaskRetryCount", 0)  # the job's default is 0 (3.1)
    if isinstance(retry_count, float) and retry_count.is_integer():
        retry_count = int(retry_count)
    return {} if retry_count is None else {_TASK_RETRY: retry_count}


def diff_job(desired_spec: Mapping[str, Any], live_job: Mapping[str, Any] | None) -> DiffPlan:
    """What differs between the desired job spec and the live job, and what each difference means."""
    if live_job is None:
        return DiffPlan([], gone=True, kind="job")
    live = normalise_job(live_job)
    desired = _drop_generated_pool_id(normalise_body(root_type("job"), dict(desired_spec), live=live))
    return DiffPlan(_changes("job", desired, live), kind="job")


def check_transition(kind: str, old_spec: object, new_spec: object) -> list[Problem]:
    """Problems of going from old_spec to new_spec in place (e.g. onAllTasksComplete terminatejob → noaction)."""
    root_type(kind)
    if kind != "job" or not isinstance(old_spec, dict) or not isinstance(new_spec, dict):
        return []
    plan = diff_job(new_spec, old_spec)
    return [Problem(change.path, ONE_WAY, change.reason) for change in plan.refused]


def diff_task(desired_spec: Mapping[str, Any], live_task: Mapping[str, Any] | None,
              job_constraints: Mapping[str, Any] | None = None, *,
              job_max_task_retry_count: int | None = None) -> DiffPlan:
    """What differs between the desired task spec and the live task (constraints update, the rest replaces).

    An omitted constraints.maxTaskRetryCount means the job's (from `job_constraints` or
    `job_max_task_retry_count`); when neither is known, the live value is accepted.
    """
    if live_task is None:
        return DiffPlan([], gone=True, kind="task")
    otype = root_type("task")
    live = normalise_body(otype, dict(live_task))
    inherited = _inherited(job_constraints, job_max_task_retry_count)
    desired = normalise_body(otype, dict(desired_spec), inherited, live)
    filled = {}
    given = desired_spec.get("constraints")
    if not isinstance(given, Mapping) or given.get("maxTaskRetryCount") is None:
        filled["maxTaskRetryCount"] = desired.get("constraints", {}).get("maxTaskRetryCount")
    return DiffPlan(_changes("task", desired, live), kind="task", filled=filled)


def _changes(kind: str, desired: dict[str, Any], live: dict[str, Any]) -> list[FieldChange]:
    if desired == live:
        return []  # the common no-op case, without deepdiff's cost (it dominates a 10,000-task preview)

    # deepdiff is imported only here: a provider process whose diffs all match never loads it (~60 ms).
    from deepdiff import DeepDiff

    def keyed(level: Any) -> bool:
        parts = level.path(output_format="list")
        match = rule_for(kind, parts) if parts else None
        return match is not None and match.leaf is not None and match.leaf.keyed_by is not None \
            and not isinstance(parts[-1], int)

    # threshold_to_diff_deeper=0: always report the precise leaves, never a whole object "changed".
    tree = DeepDiff(live, desired, ignore_order_func=keyed, view="tree", threshold_to_diff_deeper=0)
    changes = [_field_change(kind, level) for levels in tree.values() for level in levels]
    if any(c.rule == REPLACE for c in changes):
        # The replacement is created with the desired value, so a one-way field is no obstacle then.
        changes = [FieldChange(c.path, PATCH, c.desired, c.live, "set when the job is created again", c.secret)
                   if c.rule == REFUSED else c for c in changes]
    return sorted(changes, key=lambda c: c.path)


def _field_change(kind: str, level: Any) -> FieldChange:
    from deepdiff.helper import notpresent

    parts = level.path(output_format="list")
    match = rule_for(kind, parts)
    path = _display_path(kind, level)
    live_value = None if level.t1 is notpresent else level.t1
    desired_value = None if level.t2 is notpresent else level.t2
    rule, reason = _rule_and_reason(match, path, desired_value, live_value)
    return FieldChange(path, rule, _safe(match, desired_value), _safe(match, live_value), reason, match.secret)


def _rule_and_reason(match: RuleMatch, path: str, desired: Any, live: Any) -> tuple[str, str]:
    owner = match.owner_field
    note = owner.note if owner is not None and owner.note else f"{match.owner} cannot change after creation"
    if match.rule == ONE_WAY and owner is not None:
        transition = (str(live).lower(), str(desired if desired is not None else owner.default).lower())
        if transition in owner.refuse:
            return REFUSED, (f"{match.owner} cannot go from {transition[0]} back to {transition[1]}: the service "
                             f"refuses it (4.1); give the job a new id to start over with {transition[1]}")
        return PATCH, note
    if match.rule == REPLACE:
        return REPLACE, note if path == match.owner else f"{note}; {path} differs"
    return match.rule, note


def _safe(match: RuleMatch, value: Any) -> Any:
    """The value as a FieldChange may hold it: secret values masked, objects with secret members redacted."""
    if value is None:
        return None
    if match.secret:
        return REDACTED
    leaf = match.leaf
    return redact_value(leaf.object_type if leaf is not None else None, value)


def _display_path(kind: str, level: Any) -> str:
    """Dotted path with list indices; items of name-keyed lists are shown by name (e.g. metadata[owner])."""
    chain = []
    node = level.all_up
    while node is not None:
        chain.append(node)
        node = node.down
    parts = level.path(output_format="list")
    text = ""
    for i, part in enumerate(parts):
        if not isinstance(part, int):
            text = join(text, str(part))
            continue
        item = _item_at(chain, i + 1)
        match = rule_for(kind, parts[:i])
        key = match.leaf.keyed_by if match.leaf is not None else None
        name = item.get(key) if key is not None and isinstance(item, dict) else None
        text += f"[{name}]" if isinstance(name, str) else f"[{part}]"
    return text


def _item_at(chain: list[Any], depth: int) -> Any:
    from deepdiff.helper import notpresent

    if depth >= len(chain):
        return None
    node = chain[depth]
    return node.t2 if node.t2 is not notpresent else node.t1


_HOW = {
    PATCH: "update in place: PATCH",
    PATCH_WHEN_DISABLED: "update in place: disable the job, PATCH, enable",
    UPDATE: "update in place: PUT constraints",
}


def describe_change(change: FieldChange, replacing: bool) -> str:
    """One preview line for a change; values only for non-secret scalars."""
    where = f"spec.{change.path}"
    if change.rule == REPLACE:
        return f"+- {where} {_verb(change)} (replace: {change.reason})"
    if change.rule == REFUSED:
        return f"! {where}: {_values(change)} (refused: {change.reason})"
    how = "set when it is created again" if replacing else _HOW.get(change.rule, change.rule)
    return f"~ {where}: {_values(change)} ({how})"


def _verb(change: FieldChange) -> str:
    if change.live is None:
        return "added"
    return "removed" if change.desired is None else "changed"


def _values(change: FieldChange) -> str:
    if change.secret:
        return "(secret value changed)"
    return f"{value_text(change.live)} → {value_text(change.desired)}"


def value_text(value: object) -> str:
    """A short rendering of a (normalised, already redacted) value for preview lines."""
    if value is None:
        return "(unset)"
    if is_unknown(value):
        return "(known after apply)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=value_text, sort_keys=True)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)
