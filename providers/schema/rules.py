"""The cross-field rules of batch_api, run at preview: each broken rule becomes a Problem (reference 3, 7.2).

The rules are written once in batch_api (rules, pool_rules) with who enforces them; the providers run every
rule a table attaches that is meant for preview, whether the service enforces it too or only the providers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batch_api import BODIES
from batch_api.model import ObjectType, Rule, RuleContext, join, walk_types
from providers.schema.model import Problem


@dataclass(frozen=True)
class CheckContext:
    """What a cross-field rule may look at besides the object it is attached to."""

    kind: str  # "job" | "task" | "job_schedule"
    job: dict[str, Any] | None  # the desired job spec, when checking a task and it is known


def run_rules(otype: ObjectType, value: dict[str, Any], path: str, ctx: CheckContext,
              problems: list[Problem]) -> None:
    """Every preview rule of the type, each violation as a Problem named "cross-field:<rule>" (or its label)."""
    context = RuleContext(ctx.kind, ctx.job)
    for rule in otype.rules:
        if not rule.preview:
            continue
        for violation in rule.check(value, context):
            problems.append(Problem(join(path, violation.path), violation.label or f"cross-field:{rule.name}",
                                    violation.message))


def _all_rules() -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for root in BODIES.values():
        for otype in walk_types(root):
            found.update({rule.name: rule for rule in otype.rules})
    return found


# Every cross-field rule of the API, by name.
CROSS_FIELD_RULES: dict[str, Rule] = _all_rules()
