"""batch_api against the official SDK's create models (azure-batch 15.1.0, azure.batch.models): every create
property of a job, task, job schedule and pool -- at every depth -- is in the tables, with the same enum
values and the same required-ness, and the tables hold nothing the SDK lacks except where the 2025-06-01
REST reference has it."""
from __future__ import annotations

import enum
import sys
import typing
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import azure.batch.models as sdk
import pytest

from batch_api import JOB, JOB_SCHEDULE, POOL, TASK
from batch_api.model import ObjectType

CREATE_MODELS = [(sdk.BatchJobCreateOptions, JOB), (sdk.BatchTaskCreateOptions, TASK),
                 (sdk.BatchJobScheduleCreateOptions, JOB_SCHEDULE), (sdk.BatchPoolCreateOptions, POOL)]

# Properties the 2025-06-01 REST reference (BatchService.json) has and the 15.1.0 SDK models lack.
IN_THE_REFERENCE_ONLY = {
    ("BatchTaskCreateOptions", "authenticationTokenSettings"),
    ("BatchJobManagerTask", "authenticationTokenSettings"),
}
# Optional in the SDK, required in the tables, each for a stated reason.
REQUIRED_HERE = {
    # cloudServiceConfiguration is gone in 2025-06-01, so a pool cannot exist without it.
    ("BatchPoolSpecification", "virtualMachineConfiguration"),
    ("BatchPoolCreateOptions", "virtualMachineConfiguration"),
    # `container` is the only destination kind: a destination without it could never upload anything.
    ("OutputFileDestination", "container"),
}

SdkField = tuple[str, Any, list[str] | None]  # REST name, type hint, visibility


def sdk_fields(model: type) -> dict[str, SdkField]:
    """The REST properties of an SDK model by REST name."""
    from azure.batch._utils.model_base import _RestField  # the SDK's own field descriptor

    module = sys.modules[model.__module__]
    hints = typing.get_type_hints(model, globalns={**vars(module), "_models": sdk})
    found: dict[str, SdkField] = {}
    for klass in reversed(model.__mro__):
        for attr, descriptor in vars(klass).items():
            if isinstance(descriptor, _RestField):
                name = descriptor._rest_name_input or attr
                found[name] = (name, hints.get(attr), descriptor._visibility)
    return found


def _find(hint: Any, wanted: typing.Callable[[Any], bool]) -> Any:
    if wanted(hint):
        return hint
    for arg in typing.get_args(hint):
        hit = _find(arg, wanted)
        if hit is not None:
            return hit
    return None


def _is_enum(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def _is_model(hint: Any) -> bool:
    return isinstance(hint, type) and hasattr(hint, "_is_model") and not _is_enum(hint)


def pairs(model: type, otype: ObjectType) -> Iterator[tuple[type, ObjectType]]:
    """Every (SDK model, table) pair reachable from a create model, each once."""
    seen: set[tuple[type, str]] = set()
    stack = [(model, otype)]
    while stack:
        model, otype = stack.pop()
        if (model, otype.name) in seen:
            continue
        seen.add((model, otype.name))
        yield model, otype
        fields = sdk_fields(model)
        for f in otype.fields:
            nested = _find(fields[f.name][1], _is_model) if f.name in fields else None
            if nested is not None and f.object_type is not None:
                stack.append((nested, f.object_type))


# Each (SDK model, table) pair once, though jobs, schedules and pools share many nested types.
ALL_PAIRS = list({(model.__name__, o.name): (model, o) for root, table in CREATE_MODELS
                  for model, o in pairs(root, table)}.values())


def test_the_installed_sdk_is_the_one_the_tables_are_checked_against() -> None:
    assert version("azure-batch") == "15.1.0"
    assert len(ALL_PAIRS) > 60  # the walk reached the nested types, not just the four bodies


@pytest.mark.parametrize(("model", "otype"), ALL_PAIRS, ids=[f"{o.name}" for _, o in ALL_PAIRS])
def test_every_create_property_is_known_and_none_invented(model: type, otype: ObjectType) -> None:
    create = {name for name, (_, _, seen_by) in sdk_fields(model).items() if seen_by is None or "create" in seen_by}
    table = {f.name for f in otype.fields if not f.read_only}
    assert sorted(create - table) == []
    assert sorted(table - create) == sorted(n for t, n in IN_THE_REFERENCE_ONLY if t == otype.name)


@pytest.mark.parametrize(("model", "otype"), ALL_PAIRS, ids=[f"{o.name}" for _, o in ALL_PAIRS])
def test_enum_values_and_required_fields_match_the_sdk(model: type, otype: ObjectType) -> None:
    fields = sdk_fields(model)
    for f in otype.fields:
        if f.name not in fields:
            continue
        hint = fields[f.name][1]
        values = _find(hint, _is_enum)
        if values is not None:
            assert {v.lower() for v in f.enum} == {e.value.lower() for e in values}, f.name
        optional = type(None) in typing.get_args(hint)
        expected = not optional or (otype.name, f.name) in REQUIRED_HERE
        assert f.required == expected, f.name


def test_a_table_with_an_invented_field_would_fail() -> None:
    from dataclasses import replace

    from batch_api.model import string

    invented = replace(JOB, fields=(*JOB.fields, string("inventedKnob")))
    create = {name for name, (_, _, seen_by) in sdk_fields(sdk.BatchJobCreateOptions).items()
              if seen_by is None or "create" in seen_by}
    assert {f.name for f in invented.fields} - create == {"inventedKnob"}
