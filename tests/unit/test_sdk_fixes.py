"""The SDK workarounds send exactly what the SDK itself would (providers/sdk_fixes.py)."""
from __future__ import annotations

import pulumi.runtime.resource as pulumi_runtime_resource

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
