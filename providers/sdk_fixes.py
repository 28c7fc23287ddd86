"""Workarounds for the pinned Pulumi Python SDK (3.259.0), each minimal and installed only on that version.

Every patch here replaces one SDK function with an equivalent that is correct for the programs we run and
avoids a cost we measured (benchmarks/bench_collections.py, issue 6); see each function for why.
"""
from __future__ import annotations

import pickle
import types
from collections.abc import Callable
from typing import Any

import pulumi._types as pulumi_types
import pulumi.dynamic.dynamic as pulumi_dynamic
import pulumi.runtime.resource as pulumi_runtime_resource
import pulumi.runtime.rpc_manager as pulumi_rpc_manager
from pulumi import log as pulumi_log
from pulumi._version import _VERSION as SDK_VERSION
from pulumi.dynamic import Resource as DynamicResource
from pulumi.dynamic import ResourceProvider

# The SDK these patches were written against and checked on; any other version runs unpatched.
PINNED_SDK_VERSION = "3.259.0"


def install_sdk_fixes() -> None:
    """Install every workaround below, once, if the SDK is the pinned version."""
    if SDK_VERSION != PINNED_SDK_VERSION:
        return
    install_serialization_fix()
    install_resource_types_cache()
    install_quiet_registration_debug()


def install_serialization_fix() -> None:
    """Work around the SDK's RecursionError after ~300 dynamic resources (pulumi-dynamic.md §3.3).

    `serialize_provider` wraps `pickle._Pickler._batch_setitems` again on every call and never restores it.
    We restore the pickler after each call and reuse the pickled form of attribute-less providers, which are
    identical for every resource of a class (that also makes a 1,000-resource program linear, not quadratic).
    """
    original: Callable[[ResourceProvider], str] = pulumi_dynamic.serialize_provider
    if getattr(original, "_batch_fix", False):
        return
    saved = (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)  # type: ignore[attr-defined]
    cache: dict[type, str] = {}

    def serialize(provider: ResourceProvider) -> str:
        key = type(provider)
        if not vars(provider) and key in cache:
            return cache[key]
        pickler = pickle.Pickler
        try:
            result = original(provider)
        finally:
            pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = saved  # type: ignore[attr-defined]
            pickle.Pickler = pickler  # type: ignore[misc]
        if not vars(provider):
            cache[key] = result
        return result

    serialize._batch_fix = True  # type: ignore[attr-defined]
    pulumi_dynamic.serialize_provider = serialize


def install_resource_types_cache() -> None:
    """Compute a dynamic resource class's output types once, not once per resource.

    `resolve_outputs` calls `_types.resource_types(cls)` for every registered resource, and with postponed
    annotations that re-evaluates every `pulumi.Output[...]` string of the class with `get_type_hints`: ~1 ms
    per BatchTask. The answer depends only on the class (its annotations never change after it is defined) and
    the only caller reads it, so dynamic resource classes share one cached dict.
    """
    original: Callable[[type], dict[str, type]] = pulumi_types.resource_types
    if getattr(original, "_cached", False):
        return
    cache: dict[type, dict[str, type]] = {}

    def resource_types(resource_cls: type) -> dict[str, type]:
        if not issubclass(resource_cls, DynamicResource):
            return original(resource_cls)
        if resource_cls not in cache:
            cache[resource_cls] = original(resource_cls)
        return cache[resource_cls]

    resource_types._cached = True  # type: ignore[attr-defined]
    pulumi_types.resource_types = resource_types


def _no_debug(*_args: Any, **_kwargs: Any) -> None:
    """Drop an SDK-internal debug line (see install_quiet_registration_debug)."""


def install_quiet_registration_debug() -> None:
    """Stop the SDK's own registration path from sending ~5 debug lines per resource to the engine.

    Each `log.debug` there is a blocking Log RPC; the engine turns it into a diagnostic event that it streams
    back to the Automation API (parsed as JSON in this process) and shows only under `--debug`: together ~4 ms
    of CPU per resource over the three processes. Only `pulumi.runtime.resource` and its RPC manager lose
    their debug lines; `pulumi.log.debug` called by a program, and every info/warning/error, are untouched.
    """
    for module in (pulumi_runtime_resource, pulumi_rpc_manager):
        patched: Any = module  # typed Any: mypy does not see these modules' own `log` import
        if isinstance(patched.log, types.SimpleNamespace):
            continue
        quiet = types.SimpleNamespace(**{name: getattr(pulumi_log, name) for name in ("info", "warn", "error")})
        quiet.debug = _no_debug
        patched.log = quiet
