"""Each enum is spelled once, in the rule table: the typed inputs in specs.py offer exactly the table's values."""
from __future__ import annotations

import ast
import inspect
from typing import ForwardRef

from batch_api import JOB, JOB_SCHEDULE, TASK
from batch_api.model import ObjectType
from providers import specs
from providers.waiting import SUCCESS_RULES


def _enums(otype: ObjectType, found: dict[str, set[tuple[str, ...]]]) -> dict[str, set[tuple[str, ...]]]:
    """Field name → the enum value lists the tables give fields of that name."""
    for f in otype.fields:
        if f.enum:
            found.setdefault(f.name, set()).add(tuple(sorted(v.lower() for v in f.enum)))
        if f.object_type is not None:
            _enums(f.object_type, found)
    return found


def _literals(annotation: str) -> list[tuple[str, ...]]:
    """Every Literal inside an annotation such as `Input[Literal["task", "pool"]]`, read from its source text
    (the SDK's `Input` holds a forward reference that does not evaluate outside its own module)."""
    found: list[tuple[str, ...]] = []
    for node in ast.walk(ast.parse(annotation, mode="eval")):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            found.append(tuple(str(ast.literal_eval(item)) for item in items))
    return found


def _typed_literals() -> dict[tuple[str, str], tuple[str, ...]]:
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, value in vars(specs).items():
        if isinstance(value, type) and value.__module__ == specs.__name__:
            for field, annotation in inspect.get_annotations(value).items():
                # A TypedDict keeps each annotation as a ForwardRef holding its source text.
                text = annotation.__forward_arg__ if isinstance(annotation, ForwardRef) else str(annotation)
                for literal in _literals(text):
                    found[(name, field)] = literal
    return found


def test_every_literal_of_the_typed_inputs_is_an_enum_of_the_rule_table() -> None:
    tables: dict[str, set[tuple[str, ...]]] = {}
    for otype in (JOB, TASK, JOB_SCHEDULE):
        _enums(otype, tables)
    literals = _typed_literals()
    checked = 0
    for (owner, field), values in literals.items():
        if owner == "WaitForCompletion":
            continue  # ours, not Batch's: checked below
        assert tuple(sorted(v.lower() for v in values)) in tables.get(field, set()), f"{owner}.{field}"
        checked += 1
    assert checked >= 6  # the test reads the real annotations (scope, elevationLevel, jobAction, …)


def test_the_wait_success_rules_are_the_typed_inputs_values() -> None:
    assert _typed_literals()[("WaitForCompletion", "success")] == SUCCESS_RULES
