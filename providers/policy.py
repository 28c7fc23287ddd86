"""Policy on content: rules a team sets per stack, enforced in check() so a violating preview is refused.

Pulumi's policy packs need a policy analyzer plugin our offline toolchain cannot build, so the rules live in
stack config `batch:policy` (a JSON object; environment variable BATCH_POLICY is the fallback) and are
evaluated by the providers' check() next to the schema rules. Supported rules:

- `requireMaxWallClockTime: true` — every job sets `constraints.maxWallClockTime` (a job's limit bounds all of
  its tasks, so tasks are not required to set their own).
- `forbidAdminElevation: true` — no `userIdentity.autoUser.elevationLevel: admin` anywhere in a job or task.
- `allowedVmSizes: [..]` — auto-pool `vmSize` must be one of these (compared case-insensitively).
- `priorityRange: [min, max]` — a job's priority (default 0, batch-api.md job fields) lies in the range.
- `maxTaskRetryCountLimit: N` — every `maxTaskRetryCount` is at most N; -1 (unlimited retries) violates it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from providers import _base
from providers.schema.model import is_unknown

__all__ = ["POLICY_CONFIG_KEY", "POLICY_ENV", "RULES", "load_policy", "policy_failures"]

POLICY_CONFIG_KEY = "batch:policy"
POLICY_ENV = "BATCH_POLICY"

Leaf = tuple[str, Any]
Rule = Callable[[str, dict[str, Any], Any], list[str]]


def load_policy(config: Any = None, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The stack's rule set: config key batch:policy wins, BATCH_POLICY is the fallback, else no rules."""
    raw = config.get(POLICY_CONFIG_KEY) if config is not None else None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raw = environ.get(POLICY_ENV)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    value = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, dict):
        raise TypeError("must be a JSON object of rules")
    return value


def _walk(value: Any, path: list[str]) -> Iterator[Leaf]:
    """Every (dotted path, value) pair of a spec, list items shown as [i]."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, [*path, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, [*path[:-1], f"{path[-1]}[{index}]"] if path else [f"[{index}]"])
    elif not is_unknown(value):  # an unknown (preview) value is judged once it is known
        yield ".".join(path), value


def _leaves(spec: dict[str, Any], suffix: str) -> list[Leaf]:
    return [(path, value) for path, value in _walk(spec, ["spec"]) if path.endswith("." + suffix)]


def _require_max_wall_clock_time(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    constraints = spec.get("constraints") or {}
    if kind != "job" or setting is not True or not isinstance(constraints, dict) \
            or constraints.get("maxWallClockTime"):
        return []
    return ["spec.constraints.maxWallClockTime is not set; this stack requires every job to have one"]


def _forbid_admin_elevation(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    if setting is not True:
        return []
    return [f"{path} is admin; this stack does not allow admin tasks"
            for path, value in _leaves(spec, "userIdentity.autoUser.elevationLevel")
            if str(value).lower() == "admin"]


def _allowed_vm_sizes(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    allowed = {str(size).lower() for size in setting}
    return [f"{path} is {value!r}; allowed: {', '.join(sorted(allowed))}"
            for path, value in _leaves(spec, "autoPoolSpecification.pool.vmSize")
            if str(value).lower() not in allowed]


def _priority_range(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    low, high = setting
    priority = spec.get("priority", 0)
    if kind != "job" or is_unknown(priority) or (isinstance(priority, int) and low <= priority <= high):
        return []
    return [f"spec.priority is {priority!r}; this stack allows {low} to {high}"]


def _max_task_retry_count_limit(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    problems = []
    for path, value in _leaves(spec, "maxTaskRetryCount"):
        if value == -1:
            problems.append(f"{path} is -1 (unlimited retries); this stack allows at most {setting}")
        elif isinstance(value, int) and value > setting:
            problems.append(f"{path} is {value}; this stack allows at most {setting}")
    return problems


RULES: dict[str, tuple[Rule, Callable[[Any], bool], str]] = {
    "requireMaxWallClockTime": (_require_max_wall_clock_time, lambda v: isinstance(v, bool), "true or false"),
    "forbidAdminElevation": (_forbid_admin_elevation, lambda v: isinstance(v, bool), "true or false"),
    "allowedVmSizes": (_allowed_vm_sizes, lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
                       "a list of VM size names"),
    "priorityRange": (_priority_range, lambda v: isinstance(v, list) and len(v) == 2
                      and all(isinstance(n, int) and not isinstance(n, bool) for n in v) and v[0] <= v[1],
                      "[min, max] integers with min <= max"),
    "maxTaskRetryCountLimit": (_max_task_retry_count_limit,
                               lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                               "a non-negative integer"),
}


def policy_failures(kind: str, spec: dict[str, Any], policy: Mapping[str, Any] | None = None) -> list[CheckFailure]:
    """Check failures for every policy rule `spec` (a job or task create body) violates; [] without a policy."""
    if policy is None:
        try:
            policy = load_policy(_base._stack_config)
        except (ValueError, TypeError) as error:
            return [CheckFailure("", f"policy: stack config '{POLICY_CONFIG_KEY}' / {POLICY_ENV} is not "
                                     f"valid: {error}")]
    failures: list[CheckFailure] = []
    for name, setting in policy.items():
        if name not in RULES:
            failures.append(CheckFailure("", f"policy: unknown rule {name!r}; known rules: {', '.join(RULES)}"))
            continue
        rule, valid, expected = RULES[name]
        if not valid(setting):
            failures.append(CheckFailure("", f"policy {name}: the setting must be {expected}"))
            continue
        failures.extend(CheckFailure("", f"policy {name}: {message}") for message in rule(kind, spec, setting))
    return failures
