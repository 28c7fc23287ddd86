"""Workarounds of Pulumi Python SDK internals, each minimal, each installed only while the SDK function it
replaces or relies on still has the code it was written against.

Every patch here replaces one SDK function with an equivalent that is correct for the programs we run and
avoids a failure or a cost we measured (benchmarks/bench_collections.py); see each function for why.
`EXPECTED_CODE` holds a fingerprint of each SDK function concerned (SDK 3.260.0): after an SDK upgrade that
changes one, its fix is left out (with a warning on stderr) and tests/unit/test_sdk_fixes.py fails naming the
function, so the fix is re-checked instead of silently dropped or silently applied to code it does not fit.
"""
from __future__ import annotations

import asyncio
import atexit
import hashlib
import importlib
import importlib.util
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
import pulumi.runtime.stack as pulumi_runtime_stack
from pulumi import log as pulumi_log
from pulumi.dynamic import Resource as DynamicResource
from pulumi.dynamic import ResourceProvider
from pulumi.runtime.proto import source_pb2

# "module:function" of every SDK function a fix replaces or relies on, and the fingerprint of its code in the
# SDK the fixes were written against (see code_fingerprint; tests/unit/test_sdk_fixes.py prints new ones).
EXPECTED_CODE = {
    "pulumi.dynamic.dynamic:serialize_provider": "005ce407c4156f65",
    "pulumi._types:resource_types": "b8f2fef918679b0f",
    "pulumi.runtime.resource:_get_stack_trace": "b7780f062e1468b4",
    "pulumi.runtime.stack:wait_for_rpcs": "31755e3d12185de3",
    "pulumi.runtime.stack:run_pulumi_func": "d9345c3a33d3b175",
    "pulumi.dynamic.__main__:main": "fefdcaecd169362f",
    "pulumi.runtime.resource:register_resource": "393931c6d13fd4bd",
    "pulumi.runtime.rpc_manager:RPCManager.do_rpc": "68be3cfc5f51d177",
    "pulumi.dynamic.__main__:_abort_with_traceback": "bb33d4b0c43c17b1",
}
_warned: set[str] = set()

# The SDK's own stack-trace builder, kept for comparison (tests/unit/test_sdk_fixes.py).
sdk_stack_trace: Callable[[], Any] = pulumi_runtime_resource._get_stack_trace


def code_fingerprint(code: types.CodeType) -> str:
    """A digest of a function's compiled code: instructions, names and constants, nested functions included;
    not its file's location nor its line numbers, so an SDK installed elsewhere gives the same digest."""
    digest = hashlib.sha256()

    def feed(code: types.CodeType) -> None:
        digest.update(code.co_code)
        digest.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                feed(constant)
            elif isinstance(constant, frozenset):  # `x in {...}`: its order changes with the hash seed
                digest.update(repr(sorted(constant, key=repr)).encode())
            else:
                digest.update(repr(constant).encode())

    feed(code)
    return digest.hexdigest()[:16]


def sdk_code(target: str) -> types.CodeType:
    """The code of the SDK's function "module:function" (the SDK's own where we patched it). A `__main__`
    module is never imported for this (importing `pulumi.dynamic.__main__` starts a host): its code is read
    from the running host's main module, or compiled from its file."""
    module_name, name = target.split(":")
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None) == module_name:
        module: Any = main
    elif module_name.endswith(".__main__"):
        spec = importlib.util.find_spec(module_name)
        loader: Any = spec.loader if spec is not None else None
        code = loader.get_code(module_name) if loader is not None else None
        for constant in code.co_consts if code is not None else ():
            if isinstance(constant, types.CodeType) and constant.co_name == name:
                return constant
        raise AttributeError(f"{target} not found")
    else:
        module = importlib.import_module(module_name)
    function: Any = module
    for part in name.split("."):  # "Class.method" names a method
        function = getattr(function, part)
    return getattr(function, "__wrapped_sdk__", function).__code__  # type: ignore[no-any-return]


def changed_sdk_functions() -> dict[str, str]:
    """The SDK functions whose code is no longer what the fixes expect: name -> its fingerprint now."""
    changed = {}
    for target, expected in EXPECTED_CODE.items():
        try:
            found = code_fingerprint(sdk_code(target))
        except (ImportError, AttributeError):
            found = "missing"
        if found != expected:
            changed[target] = found
    return changed


def unchanged(*targets: str) -> bool:
    """True when these SDK functions still have the expected code; otherwise warn once on stderr."""
    for target in targets:
        try:
            current = code_fingerprint(sdk_code(target))
        except (ImportError, AttributeError):
            current = "missing"
        if current != EXPECTED_CODE[target]:
            if target not in _warned:
                _warned.add(target)
                print(f"providers: the Pulumi SDK's {target} changed (code {current}); its workaround in "
                      "providers/sdk_fixes.py is not installed", file=sys.stderr)
            return False
    return True


def install_sdk_fixes() -> None:
    """Install every workaround below, once each, where its SDK function is the one it was written for."""
    if unchanged("pulumi.dynamic.dynamic:serialize_provider"):
        install_serialization_fix()
    if unchanged("pulumi._types:resource_types"):
        install_resource_types_cache()
    if unchanged("pulumi.runtime.resource:register_resource", "pulumi.runtime.rpc_manager:RPCManager.do_rpc"):
        install_quiet_registration_debug()
    if unchanged("pulumi.runtime.resource:_get_stack_trace"):
        install_fast_stack_trace()
    if unchanged("pulumi.runtime.stack:wait_for_rpcs", "pulumi.runtime.stack:run_pulumi_func"):
        install_settled_wait()
    if in_provider_host():
        install_host_fixes(engine_pid())


def install_host_fixes(engine: int | None) -> None:
    """The two fixes that belong in a dynamic-provider host and nowhere else: a fast exit, and an exit when
    `engine` (its pid, None when unknown) is gone. Called by install_sdk_fixes in the SDK's own host, and by
    providers/warm_host.py once a pre-started process has become the host."""
    if not unchanged("pulumi.dynamic.__main__:main"):
        return
    install_fast_host_exit()
    install_engine_watch(engine)


def debugging() -> bool:
    """True when the user asked for debugging output: PULUMI_DEBUG set, or `-v`/`--verbose`/`--debug` given
    to the engine (which passes `-v` on to a plugin only with `--logflow`, so its command line is read)."""
    if os.environ.get("PULUMI_DEBUG", "").lower() not in ("", "0", "false"):
        return True
    engine = engine_pid()
    try:
        engine_args = pathlib.Path(f"/proc/{engine}/cmdline").read_bytes().decode().split("\0") if engine else []
    except OSError:
        engine_args = []
    return any(arg in ("-v", "-d", "--debug") or arg.startswith(("-v=", "--verbose"))
               for arg in [*sys.argv[1:], *engine_args[1:]])


def install_error_paragraphs(describe: Callable[[BaseException, str, str], str | None]) -> None:
    """In the provider host only: an error the user must act on reaches the engine as one paragraph.

    The SDK's host wraps every provider call in `_abort_with_traceback`, which hands the engine
    `traceback.format_exc()` as the error text, so a refused create prints a page of Python frames from the
    provider host. This puts a `traceback` namespace in the host module whose `format_exc` asks `describe`
    (exception, resource label, operation) first and falls back to the full traceback when it returns None
    (a bug). The resource label is the provider class's, the operation the RPC's (`create`, `update`, ...).
    With `PULUMI_DEBUG` or `-v` nothing is changed. Called when the host configures our first provider (the
    host module is running then, in the SDK's host and in a pre-started one alike).
    """
    target = "pulumi.dynamic.__main__:_abort_with_traceback"
    host = sys.modules.get("__main__")
    sdk_traceback: Any = getattr(host, "traceback", None)
    if (host is None or not in_provider_host() or sdk_traceback is None or debugging()
            or hasattr(sdk_traceback, "__wrapped_sdk__") or not unchanged(target)):
        return

    def format_exc(*args: Any, **kwargs: Any) -> str:
        error, trace = sys.exc_info()[1:]
        if error is not None and trace is not None:
            text = describe(error, *failed_call(trace))
            if text is not None:
                return text
        return str(sdk_traceback.format_exc(*args, **kwargs))

    shim = types.SimpleNamespace(**vars(sdk_traceback))
    shim.format_exc = format_exc
    shim.__wrapped_sdk__ = sdk_traceback
    host.traceback = shim  # type: ignore[attr-defined]


def failed_call(trace: types.TracebackType) -> tuple[str, str]:
    """(resource label, operation) of a failed provider call: the class of the innermost provider method on
    the stack (`_BatchJobProvider` -> `BatchJob`) and the RPC the host's wrapper was running (`Create`)."""
    operation, resource = "", "resource"
    frame: types.TracebackType | None = trace
    while frame is not None:
        local = frame.tb_frame.f_locals
        wrapped = local.get("fn")
        if not operation and callable(wrapped):
            operation = getattr(wrapped, "__name__", "").lower()
        owner = local.get("self")
        if isinstance(owner, ResourceProvider):
            resource = type(owner).__name__.strip("_").removesuffix("Provider")
        frame = frame.tb_next
    return resource, operation or "call"


def install_settled_wait() -> None:
    """Let the program's registrations enter the SDK's list of outstanding RPCs before the SDK waits on it.

    `run_pulumi_func` calls `wait_for_rpcs` right after the program returns, before the registrations it
    queued have had one turn of the event loop to enter the list; finding the list empty, the SDK waits on
    every pending Output with `asyncio.wait(FIRST_COMPLETED)` instead, re-arming thousands of futures each time
    one resolves: quadratic, about 9 ms per resource of a 200-resource preview. One yield first lets the SDK
    await the registrations one by one. Same program, same order; only the waiting changes. Installed when
    the program imports `providers`, before it returns, so it holds for the CLI, the Automation API and
    inline programs alike.
    """
    original = pulumi_runtime_stack.wait_for_rpcs
    if hasattr(original, "__wrapped_sdk__"):
        return

    async def wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
        await asyncio.sleep(0)
        await original(await_all_outstanding_tasks)

    wait_for_rpcs.__wrapped_sdk__ = original  # type: ignore[attr-defined]
    pulumi_runtime_stack.wait_for_rpcs = wait_for_rpcs


def install_serialization_fix() -> None:
    """Work around the SDK's RecursionError after ~300 dynamic resources (pulumi-dynamic.md §3.3).

    `serialize_provider` wraps `pickle._Pickler._batch_setitems` again on every call and never restores it.
    We restore the pickler after each call and reuse the pickled form of attribute-less providers, which are
    identical for every resource of a class (that also makes a 1,000-resource program linear, not quadratic).
    """
    original: Callable[[ResourceProvider], str] = pulumi_dynamic.serialize_provider
    if hasattr(original, "__wrapped_sdk__"):
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

    serialize.__wrapped_sdk__ = original  # type: ignore[attr-defined]
    pulumi_dynamic.serialize_provider = serialize


def install_resource_types_cache() -> None:
    """Compute a dynamic resource class's output types once, not once per resource.

    `resolve_outputs` calls `_types.resource_types(cls)` for every registered resource, and with postponed
    annotations that re-evaluates every `pulumi.Output[...]` string of the class with `get_type_hints`: ~1 ms
    per BatchTask. The answer depends only on the class (its annotations never change after it is defined) and
    the only caller reads it, so dynamic resource classes share one cached dict.
    """
    original: Callable[[type], dict[str, type]] = pulumi_types.resource_types
    if hasattr(original, "__wrapped_sdk__"):
        return
    cache: dict[type, dict[str, type]] = {}

    def resource_types(resource_cls: type) -> dict[str, type]:
        if not issubclass(resource_cls, DynamicResource):
            return original(resource_cls)
        if resource_cls not in cache:
            cache[resource_cls] = original(resource_cls)
        return cache[resource_cls]

    resource_types.__wrapped_sdk__ = original  # type: ignore[attr-defined]
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
    if hasattr(original, "__wrapped_sdk__"):
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

    stack_trace.__wrapped_sdk__ = original  # type: ignore[attr-defined]
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
