"""What the engine plans per resource: the steps of a preview (or up) by resource name, from its event stream."""
from __future__ import annotations

from collections.abc import Callable

from pulumi import automation as auto

from tests.support.stacks import StackRun

# A replacement shows as several steps (create-replacement, replace, delete-replaced); "replace" names them all.
_REPLACE_STEPS = {"replace", "create-replacement", "delete-replaced"}


class StepLog:
    """Collects the engine's step events (`on_event`) and sums them up per resource name."""

    def __init__(self) -> None:
        self.steps: dict[str, set[str]] = {}

    def __call__(self, event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is None or pre.metadata.type.startswith(("pulumi:pulumi:", "pulumi:providers:")):
            return
        op = pre.metadata.op
        name = pre.metadata.urn.rsplit("::", 1)[-1]
        self.steps.setdefault(name, set()).add(op.value if hasattr(op, "value") else str(op))

    def plan(self) -> dict[str, str]:
        """One word per resource: replace, create, update, delete, same, …"""
        return {name: "replace" if ops & _REPLACE_STEPS else "/".join(sorted(ops))
                for name, ops in self.steps.items()}


def preview_plan(run: StackRun, program: Callable[[], None]) -> dict[str, str]:
    """Preview `program` on the stack and return what the engine would do to each resource."""
    log = StepLog()
    run.preview(program, on_event=log)
    return log.plan()


def up_plan(run: StackRun, program: Callable[[], None]) -> dict[str, str]:
    """`pulumi up` with `program`; what the engine did to each resource."""
    log = StepLog()
    result = run.stack.up(on_output=run.log, on_event=log, color="never", program=program)
    assert result.summary.result == "succeeded"
    return log.plan()
