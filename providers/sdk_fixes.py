"""Workarounds for the pinned Pulumi Python SDK (3.260.0), each minimal and installed only on that version.

Every patch here replaces one SDK function with an equivalent that is correct for the programs we run and
avoids a cost we measured (benchmarks/bench_collections.py, issue 6); see each function for why.
"""
from __future__ import annotations

import atexit
import logging
import os
import pathlib
import pickle
import select
import sys
import threading
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
from pulumi.runtime.proto import source_pb2

# The SDK these patches were written against and checked on; any other version runs unpatched.
PINNED_SDK_VERSION = "3.260.0"

# The SDK's own stack-trace builder, kept for comparison (tests/unit/test_sdk_fixes.py).
sdk_stack_trace: Callable[[], Any] = pulumi_runtime_resource._get_stack_trace


def install_sdk_fixes() -> None:
    """Install every workaround below, once, if the SDK is the pinned version."""
    if SDK_VERSION != PINNED_SDK_VERSION:
        return
    install_serialization_fix()
    install_resource_types_cache()
    install_quiet_registration_debug()
    install_fast_stack_trace()
    if in_provider_host():
        install_host_fixes(engine_pid())


def install_host_fixes(engine: int | None) -> None:
    """The two fixes that belong in a dynamic-provider host and nowhere else: a fast exit, and an exit when
    `engine` (its pid, None when unknown) is gone. Called by install_sdk_fixes in the SDK's own host, and by
    providers/warm_host.py once a pre-started process has become the host."""
    if SDK_VERSION != PINNED_SDK_VERSION:
        return
    install_fast_host_exit()
    install_engine_watch(engine)


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


def install_fast_stack_trace() -> None:
    """Build each registration's source stack trace without reading source files.

    `_get_stack_trace` runs `traceback.extract_stack()` for every resource, which looks up the text of every
    line on the stack (linecache) and turns every file name into a URI again (~0.23 ms for a 35-frame stack,
    more under the Automation API's deeper one), although only file and line are sent. This walks the same
    frames and sends the same StackTrace message (URIs cached per file) for a fifth of that.
    """
    original: Callable[[], Any] = pulumi_runtime_resource._get_stack_trace
    if getattr(original, "_fast", False):
        return
    uris: dict[str, str | None] = {}

    def position(filename: str, lineno: int | None) -> Any:
        if filename == "" or lineno is None:
            return None
        if filename not in uris:
            try:
                uris[filename] = pathlib.Path(filename).as_uri()
            except BaseException:  # noqa: BLE001  (as the SDK: any failure here means "no position")
                uris[filename] = None
        uri = uris[filename]
        return None if uri is None else source_pb2.SourcePosition(uri=uri, line=lineno)

    def stack_trace() -> Any:
        # The frames outside the third __init__ counted from here (Resource, Custom/ComponentResource, the
        # concrete class), innermost first: exactly the SDK's selection, with an empty trace if there is none.
        frame: types.FrameType | None = sys._getframe(1)
        inits = 0
        while frame is not None:
            if frame.f_code.co_name == "__init__":
                inits += 1
                if inits == 3:
                    break
            frame = frame.f_back
        if frame is None:
            return source_pb2.StackTrace()
        frames = []
        outer = frame.f_back
        while outer is not None:
            frames.append(source_pb2.StackFrame(pc=position(outer.f_code.co_filename, outer.f_lineno)))
            outer = outer.f_back
        return source_pb2.StackTrace(frames=frames)

    stack_trace._fast = True  # type: ignore[attr-defined]
    pulumi_runtime_resource._get_stack_trace = stack_trace


# The module the engine runs as the dynamic-provider host (`python -m pulumi.dynamic`).
PROVIDER_HOST_MAIN = "pulumi.dynamic.__main__"
_host_exit_installed = False


def in_provider_host() -> bool:
    """True in the dynamic-provider host process, False in a program, the CLI or a test."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == PROVIDER_HOST_MAIN


def install_fast_host_exit() -> None:
    """In the provider host only: once the engine has asked it to stop, leave without tearing down Python.

    At the end of every command the engine sends the host SIGINT and waits for it to exit. The SDK's host then
    stops its gRPC server and returns, and the interpreter's own finalization (modules, gRPC's C core, the
    garbage collector) takes 80-120 ms here, on the critical path of every preview, up and destroy. Every RPC
    has been answered by then and the host keeps no state, so nothing is left to save but buffered output:
    this hook flushes logging and the standard streams and exits with 0 (the host's only normal exit).
    It is registered when the first provider is unpickled, after the SDK's and gRPC's own hooks, so it runs
    first (atexit is last-in, first-out) and theirs are skipped; only a host registers it (install_host_fixes).
    """
    global _host_exit_installed
    if _host_exit_installed:
        return
    _host_exit_installed = True
    atexit.register(exit_now)


def exit_now() -> None:
    """Flush logging and the standard streams, then leave with 0 at once (no interpreter shutdown)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said on it
            pass
    os._exit(0)


# The engine's executable name, as the kernel reports it for the host's ancestors.
ENGINE_COMMAND = "pulumi"
_engine_watch_installed = False


def _parent_and_command(pid: int) -> tuple[int, str] | None:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    return int(rest[1]), command


def engine_pid(start: int | None = None) -> int | None:
    """The pid of the engine that started this process: the nearest ancestor running `pulumi` (the engine
    starts the host through a shell script), or None when there is none or /proc cannot tell. `start`: look
    from that process up instead of from this one's parent (a pre-started host asks for its client's engine)."""
    pid = os.getppid() if start is None else start
    for _ in range(4):  # host -> shell script -> engine; a little slack for wrappers
        found = _parent_and_command(pid)
        if found is None:
            return None
        parent, command = found
        if command == ENGINE_COMMAND:
            return pid
        if parent <= 1:
            return None
        pid = parent
    return None


def install_engine_watch(pid: int | None) -> None:
    """In the provider host only: exit when the engine that started it (`pid`) is gone.

    The engine stops its host with SIGINT when a command ends. An engine that is killed (SIGKILL, OOM, a CI
    runner tearing the job down) cannot, and the SDK's host would serve nobody forever, holding its sockets
    and the service connection. A daemon thread waits on a pidfd of the engine (no polling) and ends the host
    when the engine process exits. Nothing is lost: every RPC the host answered had already reached the engine.
    """
    global _engine_watch_installed
    if _engine_watch_installed or pid is None:
        return
    _engine_watch_installed = True
    # Nobody reads the host's output once the engine is gone: nothing to say first.
    when_process_exits(pid, exit_now, "engine-watch")


def when_process_exits(pid: int, action: Callable[[], None], name: str) -> None:
    """Run `action` on a daemon thread (`name`) once process `pid` has exited, or now if it already has. It
    waits on a pidfd (no polling); without pidfd support (old kernel, not Linux) it never runs."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        action()
        return
    except (AttributeError, OSError):
        return

    def wait() -> None:
        select.select([handle], [], [])  # a pidfd becomes readable when its process has exited
        action()

    threading.Thread(target=wait, name=name, daemon=True).start()
