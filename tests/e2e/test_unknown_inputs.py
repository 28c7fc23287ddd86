"""Values from other resources' outputs, unknown at preview whenever those resources have pending changes:
check accepts them, diff says what may change, and `up` does only what really changed."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from providers import BatchJob, BatchTask
from tests.support.plans import preview_plan, up_plan
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e


def program(priority: int) -> Callable[[], None]:
    """Job `a`; job `b` whose metadata holds a's state; a task of b whose command line holds a's id."""
    def run() -> None:
        a = BatchJob("a", spec={"id": "unknown-a", "priority": priority, "poolInfo": {"poolId": "local"}})
        b = BatchJob("b", spec={"id": "unknown-b", "poolInfo": {"poolId": "local"},
                                "metadata": [{"name": "a-state", "value": a.state}]})
        BatchTask("t", job=b, spec={
            "id": "t", "commandLine": a.job_id.apply(lambda job_id: f"/bin/echo {job_id}"),
            "environmentSettings": [{"name": "TOKEN", "value": pulumi.Output.secret("unknown-inputs-secret")}]})
    return run


def test_outputs_unknown_at_preview_may_change_and_up_changes_only_what_did(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    run = new_stack(tmp_path, service, program(1))
    assert up_plan(run, program(1)) == {"a": "create", "b": "create", "t": "create"}
    assert set(preview_plan(run, program(1)).values()) == {"same"}
    created = sdk.get_task("unknown-b", "t").creation_time

    # a's change makes its outputs unknown at preview: b's metadata may change (a PATCH), t's command line may
    # change (a replace). Neither check nor diff refuses them.
    assert preview_plan(run, program(2)) == {"a": "update", "b": "update", "t": "replace"}
    # Known at up: the values came out the same, so only a changes.
    assert up_plan(run, program(2)) == {"a": "update", "b": "same", "t": "same"}
    assert sdk.get_job("unknown-a").priority == 2
    assert sdk.get_task("unknown-b", "t").creation_time == created
    assert sdk.get_task("unknown-b", "t").command_line == "/bin/echo unknown-a"
    assert "unknown-inputs-secret" not in run.text
    run.stack.destroy(color="never")
