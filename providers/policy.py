"""Policy on content: the rules a platform team sets for jobs and tasks, written once and run two ways.

- Stack config `batch:policy` (a JSON object; environment variable BATCH_POLICY is the fallback): the providers'
  check() evaluates it next to the schema rules, so a violating preview is refused naming the rule and field.
- The Pulumi policy pack in `policies/` (`pulumi preview --policy-pack policies`): each rule below is one
  policy of the pack, with an enforcement level and a parameter set in `--policy-pack-config`.

Both call the same check functions in this module (RULES); only how a rule gets its setting differs.

| batch:policy key | pack policy | setting |
|---|---|---|
| `maxWallClockTime: "PT24H"` | `max-wall-clock-time` (`maximum`) | every job sets `constraints.maxWallClockTime`, at most this; a task's own limit too |
| `requireMaxWallClockTime: true` | – | every job sets `constraints.maxWallClockTime` (a job's limit bounds its tasks) |
| `forbidAdminElevation: true` | `no-admin-in-production` (`productionStacks`) | no `userIdentity.autoUser.elevationLevel: admin` anywhere |
| `allowedVmSizes: [..]` | `allowed-vm-sizes` (`allowedVmSizes`) | auto-pool `vmSize` is one of these (case-insensitively) |
| `priorityRange: [min, max]` | `priority-range` (`minimum`, `maximum`) | a job's priority (default 0) lies in the range |
| `requiredMetadataKeys: [..]` | `required-metadata-keys` (`keys`) | a job's `metadata` has an entry with each of these names |
| `maxTaskRetryCountLimit: N` | `retry-limit` (`maximum`) | every `maxTaskRetryCount` is at most N; -1 (unlimited) violates it |
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.dynamic import CheckFailure

from providers import _base
from providers.schema.durations import DurationError, parse_duration
from providers.schema.model import is_unknown

__all__ = ["POLICY_CONFIG_KEY", "POLICY_ENV", "RULES", "PolicyRule", "collection_policy_failures", "load_policy",
           "policy_failures", "rule_violations"]

POLICY_CONFIG_KEY = "batch:policy"
POLICY_ENV = "BATCH_POLICY"

Leaf = tuple[str, Any]
Check = Callable[[str, dict[str, Any], Any], list[str]]


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


def _is_duration(value: Any) -> bool:
    try:
        return isinstance(value, str) and parse_duration(value) is not None
    except DurationError:
        return False


def _wall_clock(kind: str, spec: dict[str, Any], maximum: str | None) -> list[str]:
    """A job must set constraints.maxWallClockTime; with `maximum`, no job or task limit may exceed it."""
    constraints = spec.get("constraints") or {}
    if not isinstance(constraints, dict):
        return []
    value = constraints.get("maxWallClockTime")
    if kind == "job" and not value:
        return ["spec.constraints.maxWallClockTime is not set; this stack requires every job to have one"]
    if maximum is None or not isinstance(value, str) or is_unknown(value):
        return []
    try:
        limit = parse_duration(value)
    except DurationError:
        return []  # the schema check reports a malformed duration
    ceiling = parse_duration(maximum)
    if limit is None or (ceiling is not None and limit > ceiling):
        return [f"spec.constraints.maxWallClockTime is {value}; this stack allows at most {maximum}"]
    return []


def _require_max_wall_clock_time(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    return _wall_clock(kind, spec, None) if setting is True else []


def _max_wall_clock_time(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    return _wall_clock(kind, spec, str(setting))


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


def _required_metadata_keys(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    metadata = spec.get("metadata") or []
    if kind != "job" or is_unknown(metadata) or not isinstance(metadata, list):
        return []
    names = {str(entry.get("name")) for entry in metadata if isinstance(entry, dict)}
    if any(is_unknown(entry) or is_unknown(entry.get("name")) for entry in metadata if isinstance(entry, dict)):
        return []
    return [f"spec.metadata has no entry named {key!r}; this stack requires {', '.join(map(repr, setting))}"
            for key in setting if key not in names]


def _max_task_retry_count_limit(kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    problems = []
    for path, value in _leaves(spec, "maxTaskRetryCount"):
        if value == -1:
            problems.append(f"{path} is -1 (unlimited retries); this stack allows at most {setting}")
        elif isinstance(value, int) and value > setting:
            problems.append(f"{path} is {value}; this stack allows at most {setting}")
    return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass(frozen=True)
class PolicyRule:
    """One rule: its check, its `batch:policy` key and, when it is one of the pack's policies, how the pack
    names it, describes it, takes its parameter (`schema`, `defaults`) and turns that into the setting."""

    key: str
    check: Check
    valid: Callable[[Any], bool]
    expected: str
    policy: str = ""
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    # (the policy's config, the stack's name) -> the setting, or None where the rule does not apply.
    pack_setting: Callable[[Mapping[str, Any], str], Any] = lambda config, stack: None


def _production_only(config: Mapping[str, Any], stack: str) -> bool | None:
    return True if stack.lower() in {str(s).lower() for s in config["productionStacks"]} else None


_NAMES = {"type": "array", "items": {"type": "string"}}
RULE_LIST = [
    PolicyRule("requireMaxWallClockTime", _require_max_wall_clock_time, lambda v: isinstance(v, bool),
               "true or false"),
    PolicyRule("maxWallClockTime", _max_wall_clock_time, _is_duration, "an ISO-8601 duration such as PT24H",
               "max-wall-clock-time", "Every job bounds its run time with constraints.maxWallClockTime, and no "
               "job or task allows more than the maximum.", {"maximum": {"type": "string"}}, {"maximum": "P1D"},
               lambda config, stack: config["maximum"]),
    PolicyRule("forbidAdminElevation", _forbid_admin_elevation, lambda v: isinstance(v, bool), "true or false",
               "no-admin-in-production", "Production stacks run no task, start task or job manager as an admin "
               "auto-user.", {"productionStacks": _NAMES}, {"productionStacks": ["prod", "production"]},
               _production_only),
    PolicyRule("allowedVmSizes", _allowed_vm_sizes, _is_names, "a list of VM size names",
               "allowed-vm-sizes", "Auto-pools use one of the allowed VM sizes.", {"allowedVmSizes": _NAMES},
               {"allowedVmSizes": ["standard_d2s_v3", "standard_d4s_v3", "standard_d8s_v3"]},
               lambda config, stack: config["allowedVmSizes"]),
    PolicyRule("priorityRange", _priority_range,
               lambda v: isinstance(v, list) and len(v) == 2 and all(map(_is_int, v)) and v[0] <= v[1],
               "[min, max] integers with min <= max", "priority-range", "A job's priority lies in the range.",
               {"minimum": {"type": "integer"}, "maximum": {"type": "integer"}}, {"minimum": -100, "maximum": 100},
               lambda config, stack: [config["minimum"], config["maximum"]]),
    PolicyRule("requiredMetadataKeys", _required_metadata_keys, _is_names, "a list of metadata names",
               "required-metadata-keys", "Every job carries the required metadata entries.", {"keys": _NAMES},
               {"keys": ["owner"]}, lambda config, stack: config["keys"]),
    PolicyRule("maxTaskRetryCountLimit", _max_task_retry_count_limit, lambda v: _is_int(v) and v >= 0,
               "a non-negative integer", "retry-limit", "No task, start task or job retries more often than the "
               "limit (and never without limit).", {"maximum": {"type": "integer", "minimum": 0}}, {"maximum": 3},
               lambda config, stack: config["maximum"]),
]
RULES: dict[str, PolicyRule] = {rule.key: rule for rule in RULE_LIST}


def rule_violations(rule: PolicyRule, kind: str, spec: dict[str, Any], setting: Any) -> list[str]:
    """The violations of one rule by one job or task create body, each naming the field; [] when it complies
    or when the setting is malformed (callers check settings with `rule.valid` first)."""
    return rule.check(kind, spec, setting) if rule.valid(setting) else []


def _stack_policy() -> tuple[Mapping[str, Any], list[CheckFailure]]:
    """The stack's rule set, or the failure that says why it cannot be read."""
    try:
        return load_policy(_base._stack_config), []
    except (ValueError, TypeError) as error:
        return {}, [CheckFailure("", f"policy: stack config '{POLICY_CONFIG_KEY}' / {POLICY_ENV} is not "
                                     f"valid: {error}")]


def stack_policy_set() -> bool:
    """True when the stack has a rule set (or one that cannot be read): checks that skip unchanged inputs must
    still hold them to it, since the rules may have changed since those inputs were accepted."""
    policy, failures = _stack_policy()
    return bool(policy or failures)


def collection_policy_failures(tasks: list[Any]) -> list[CheckFailure]:
    """Check failures for the stack's rules over every task of a collection, each field named `tasks[i]...`."""
    policy, failures = _stack_policy()
    if not policy or failures:
        return failures
    failures = policy_failures("task", {}, policy)  # unknown rules and bad settings, said once
    if failures:
        return failures
    for index, task in enumerate(tasks):
        if isinstance(task, dict):
            failures += [CheckFailure("", f.reason.replace(": spec", f": tasks[{index}]", 1))
                         for f in policy_failures("task", task, policy)]
    return failures


def policy_failures(kind: str, spec: dict[str, Any], policy: Mapping[str, Any] | None = None) -> list[CheckFailure]:
    """Check failures for every policy rule `spec` (a job or task create body) violates; [] without a policy."""
    if policy is None:
        policy, unreadable = _stack_policy()
        if unreadable:
            return unreadable
    failures: list[CheckFailure] = []
    for name, setting in policy.items():
        if name not in RULES:
            failures.append(CheckFailure("", f"policy: unknown rule {name!r}; known rules: {', '.join(RULES)}"))
            continue
        rule = RULES[name]
        if not rule.valid(setting):
            failures.append(CheckFailure("", f"policy {name}: the setting must be {rule.expected}"))
            continue
        failures.extend(CheckFailure("", f"policy {name}: {message}") for message in rule.check(kind, spec, setting))
    return failures
