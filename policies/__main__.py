"""The Batch policy pack: the rules of `providers.policy`, one policy each, run by the engine on every job,
task and task collection of a preview or update (`pulumi preview --policy-pack policies`).

Each policy is mandatory unless `--policy-pack-config` says otherwise and takes its parameter from there:
`{"retry-limit": {"enforcementLevel": "advisory", "maximum": 5}}`. A violation names the resource (the engine
prints it with the policy's name) and the field: `spec.constraints.maxTaskRetryCount is 9; this stack allows
at most 3`, or `tasks[12].constraints...` for a task of a collection.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from providers.policy import RULE_LIST, PolicyRule, rule_violations
from providers.schema import coerce_numbers

PACK_NAME = "batch-policies"
# The resource types of this project's dynamic providers and what each holds.
JOB, TASK, COLLECTION = "dynamic/batch:Job", "dynamic/batch:Task", "dynamic/batch:TaskCollection"


def stack_of(urn: str) -> str:
    """The stack name in a resource URN (`urn:pulumi:STACK::PROJECT::TYPE::NAME`)."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


# pulumi-policy marks a value not known at preview with one of these strings (pulumi_policy.proxy).
_UNKNOWN_MARKS = frozenset((UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE,
                            UNKNOWN_ARRAY_VALUE, UNKNOWN_OBJECT_VALUE))


def plain(value: Any) -> Any:
    """The inputs as plain dicts and lists (pulumi-policy hands over read-only proxies that raise on an unknown
    value), with an unknown value as the providers see one at preview: the rules skip what is not known yet,
    as check() does."""
    if type(value).__name__ in ("_DictProxy", "_ListProxy"):
        value = value["__target"]  # what the proxy wraps, read without its unknown check
    if isinstance(value, str) and value in _UNKNOWN_MARKS:
        return Unknown()  # type: ignore[no-untyped-call]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def specs_of(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, field prefix, create body) of each job or task a resource declares."""
    # The engine hands every number over as a float; the schema knows which are ints (as check() does).
    if resource_type.endswith(":" + JOB) and isinstance(props.get("spec"), Mapping):
        yield "job", "spec", coerce_numbers("job", dict(props["spec"]))
    elif resource_type.endswith(":" + TASK) and isinstance(props.get("spec"), Mapping):
        yield "task", "spec", coerce_numbers("task", dict(props["spec"]))
    elif resource_type.endswith(":" + COLLECTION):
        tasks = props.get("tasks")  # one JSON text (providers.collection.encode_tasks)
        bodies = json.loads(tasks) if isinstance(tasks, str) and tasks.startswith("[") else tasks
        for index, body in enumerate(bodies if isinstance(bodies, list) else []):
            if isinstance(body, dict):
                yield "task", f"tasks[{index}]", body


def _plain(value: Any) -> Any:
    """A config value with the integral floats the engine's JSON hands over (every number is one) as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _validator(rule: PolicyRule) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        specs = list(specs_of(args.resource_type, plain(args.props)))
        if not specs:
            return  # not a Batch job, task or collection
        config = {key: _plain(value) for key, value in {**rule.defaults, **(args.get_config() or {})}.items()}
        setting = rule.pack_setting(config, stack_of(args.urn))
        if setting is None:
            return
        if not rule.valid(setting):
            report_violation(f"the policy's configuration {config} is not valid: {rule.expected}", None)
            return
        for kind, prefix, spec in specs:
            for message in rule_violations(rule, kind, spec, setting):
                report_violation(prefix + message.removeprefix("spec") if message.startswith("spec") else message,
                                 None)
    return validate


def policies() -> list[Policy]:
    """One mandatory policy per rule that the pack carries."""
    return [ResourceValidationPolicy(
        name=rule.policy, description=rule.description, enforcement_level=EnforcementLevel.MANDATORY,
        validate=_validator(rule), config_schema=PolicyConfigSchema(properties={
            name: {**schema, "default": rule.defaults[name]} for name, schema in rule.schema.items()}))
        for rule in RULE_LIST if rule.policy]


if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
