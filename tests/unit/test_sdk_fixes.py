"""The SDK workarounds send exactly what the SDK itself would (providers/sdk_fixes.py)."""
from __future__ import annotations

import os

import pulumi
import pulumi.runtime.resource as pulumi_runtime_resource
import pytest

import providers  # noqa: F401  (installs the fixes)
from providers import sdk_fixes


class _Base:
    def __init__(self, capture: list[object]) -> None:
        capture.append(pulumi_runtime_resource._get_stack_trace())
        capture.append(sdk_fixes.sdk_stack_trace())

class _Middle(_Base):
    def __init__(self, capture: list[object]) -> None:
        super().__init__(capture)

class _Concrete(_Middle):
    def __init__(self, capture: list[object]) -> None:
        super().__init__(capture)

def _user_code(capture: list[object]) -> None:
    _Concrete(capture)

def test_fast_stack_trace_equals_the_sdks_trace_for_a_resource_constructor() -> None:
    capture: list[object] = []
    _user_code(capture)
    fast, sdk = capture
    assert fast == sdk
    assert len(fast.frames) > 2  # type: ignore[attr-defined]
    assert fast.frames[0].pc.uri.endswith("test_sdk_fixes.py")  # type: ignore[attr-defined]

def test_fast_stack_trace_is_empty_like_the_sdks_outside_a_constructor() -> None:
    assert pulumi_runtime_resource._get_stack_trace() == sdk_fixes.sdk_stack_trace()


def test_every_patched_sdk_function_still_has_the_code_its_fix_was_written_for() -> None:
    # After an SDK upgrade this names each function whose fix must be re-checked, with its new fingerprint.
    assert sdk_fixes.changed_sdk_functions() == {}


def test_a_changed_sdk_function_leaves_its_fix_out_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    target = "pulumi.runtime.stack:wait_for_rpcs"
    saved = sdk_fixes.EXPECTED_CODE[target]
    sdk_fixes.EXPECTED_CODE[target] = "0000000000000000"
    try:
        assert sdk_fixes.unchanged(target) is False
        assert sdk_fixes.changed_sdk_functions() == {target: saved}
    finally:
        sdk_fixes.EXPECTED_CODE[target] = saved
        sdk_fixes._warned.discard(target)
    assert f"the Pulumi SDK's {target} changed" in capsys.readouterr().err


def test_the_fingerprint_follows_the_code_not_the_file_it_was_loaded_from() -> None:
    source = "def f(x):\n    return [y + 1 for y in x]\n"
    first = compile(source, "/one/place.py", "exec").co_consts[0]
    moved = compile("\n\n" + source, "/another/place.py", "exec").co_consts[0]
    edited = compile(source.replace("+ 1", "+ 2"), "/one/place.py", "exec").co_consts[0]
    assert sdk_fixes.code_fingerprint(first) == sdk_fixes.code_fingerprint(moved)
    assert sdk_fixes.code_fingerprint(first) != sdk_fixes.code_fingerprint(edited)


def test_the_program_waits_for_its_registrations_through_the_settled_wait() -> None:
    import pulumi.runtime.stack as pulumi_runtime_stack

    assert getattr(pulumi_runtime_stack.wait_for_rpcs, "__wrapped_sdk__", None) is not None


def test_every_fix_is_guarded_by_a_fingerprint_of_the_sdk_code_it_relies_on() -> None:
    import inspect

    installer = inspect.getsource(sdk_fixes.install_sdk_fixes)
    for fix in ("install_serialization_fix", "install_resource_types_cache", "install_quiet_registration_debug",
                "install_fast_stack_trace", "install_settled_wait"):
        guard = installer.split(f"{fix}()")[0].rsplit("\n", 2)[-2]
        assert guard.strip().startswith("if unchanged("), (fix, guard)
    assert "pulumi.runtime.resource:register_resource" in sdk_fixes.EXPECTED_CODE
    assert "pulumi.runtime.rpc_manager:RPCManager.do_rpc" in sdk_fixes.EXPECTED_CODE


def test_the_fingerprint_of_a_set_literal_does_not_depend_on_the_hash_seed() -> None:
    import subprocess
    import sys

    probe = ("from providers.sdk_fixes import code_fingerprint\n"
             "def f(x):\n    return x in {'alpha', 'beta', 'gamma', 'delta', 'epsilon'}\n"
             "print(code_fingerprint(f.__code__))\n")
    prints = {subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                             capture_output=True, text=True, check=True).stdout for seed in range(1, 6)}
    assert len(prints) == 1, prints


def test_the_sdks_registration_path_sends_no_debug_lines_and_keeps_the_rest() -> None:
    import pulumi.log as pulumi_log
    import pulumi.runtime.rpc_manager as pulumi_rpc_manager

    for module in (pulumi_runtime_resource, pulumi_rpc_manager):
        quiet = module.log  # type: ignore[attr-defined]
        assert quiet is not pulumi_log and quiet.debug is not pulumi_log.debug
        assert quiet.debug("dropped") is None
        assert (quiet.info, quiet.warn, quiet.error) == (pulumi_log.info, pulumi_log.warn, pulumi_log.error)
    assert pulumi_log.debug.__module__ == "pulumi.log"  # a program's own pulumi.log.debug is untouched


def test_a_dynamic_resource_classs_output_types_are_computed_once_and_equal_the_sdks() -> None:
    import pulumi._types as pulumi_types

    from providers import BatchJob, BatchTask

    cached = pulumi_types.resource_types
    sdk = cached.__wrapped_sdk__  # type: ignore[attr-defined]
    for cls in (BatchJob, BatchTask):
        first = cached(cls)
        assert first == sdk(cls) and first  # the SDK's answer...
        assert cached(cls) is first  # ...computed once per class


class _Plain(pulumi.CustomResource):
    size: pulumi.Output[int]


def test_a_plain_class_still_gets_the_sdks_answer_every_time() -> None:
    import pulumi._types as pulumi_types

    Plain = _Plain
    assert pulumi_types.resource_types(Plain) == {"size": int}
    assert pulumi_types.resource_types(Plain) is not pulumi_types.resource_types(Plain)
