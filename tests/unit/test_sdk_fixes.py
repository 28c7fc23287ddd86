"""The SDK workarounds send exactly what the SDK itself would (providers/sdk_fixes.py)."""
from __future__ import annotations

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
