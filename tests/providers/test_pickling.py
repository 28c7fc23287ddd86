"""The provider objects reach the Pulumi state pickled by reference to their module path; refresh and destroy
unpickle them later, so those paths (and the names older states were written with) must keep loading."""
from __future__ import annotations

import base64
import pickle

import dill
import pulumi.dynamic.dynamic as pulumi_dynamic
import pytest

import providers  # noqa: F401  (installs the SDK fixes the real program runs with)

# (module, class the state names today, name older states were written with)
PROVIDERS = [
    ("providers.job", "_BatchJobProvider", "BatchJobProvider"),
    ("providers.task", "_BatchTaskProvider", "BatchTaskProvider"),
    ("providers.collection", "_BatchTaskCollectionProvider", "BatchTaskCollectionProvider"),
    ("providers.schedule", "_BatchJobScheduleProvider", "BatchJobScheduleProvider"),
]


def _state_pickle(module: str, name: str) -> bytes:
    """What a state holds for an attribute-less provider, written opcode by opcode as the SDK writes it
    (protocol 4: module, class name, STACK_GLOBAL, NEWOBJ with no arguments), for any class name."""
    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode() + b"\x94"

    return b"\x80\x04" + text(module) + text(name) + b"\x93\x94)\x81\x94."


@pytest.mark.parametrize(("module", "current", "older"), PROVIDERS)
def test_the_sdk_pickles_the_provider_by_its_module_path(module: str, current: str, older: str) -> None:
    provider = getattr(__import__(module, fromlist=[current]), current)()
    raw = base64.b64decode(pulumi_dynamic.serialize_provider(provider))
    assert module.encode() in raw and current.encode() in raw
    loaded = dill.loads(raw)
    assert type(loaded).__module__ == module and type(loaded).__name__ == current


@pytest.mark.parametrize(("module", "current", "older"), PROVIDERS)
def test_a_state_written_with_the_older_class_name_still_loads(module: str, current: str, older: str) -> None:
    assert type(pickle.loads(_state_pickle(module, current))).__name__ == current  # the writer is faithful
    loaded = dill.loads(_state_pickle(module, older))
    assert type(loaded).__name__ == current and type(loaded).__module__ == module
