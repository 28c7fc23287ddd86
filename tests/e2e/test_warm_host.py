"""Through the real engine: each command's provider host is the one deploy started next to it
(deploy/warm_host.py), with the same results as the SDK's own host, and none outlives its command."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from deploy.fast_stack import DeployStack
from providers import BatchJob, BatchTask
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e


def program() -> None:
    job = BatchJob("job", spec={"id": "warm-host", "poolInfo": {"poolId": "local"}})
    task = BatchTask("task", job=job, spec={"id": "t1", "commandLine": "/bin/echo warm"},
                     wait_for_completion={"timeout": "PT2M", "success": "exitCodeZero"})
    pulumi.export("stdout", task.stdout_tail)


def test_each_command_is_served_by_the_pre_started_host_and_the_sdks_host_agrees(
        tmp_path: Path, service: RunningService, monkeypatch: pytest.MonkeyPatch, sdk: Any) -> None:
    run = new_stack(tmp_path, service, program)
    stack = run.stack
    assert isinstance(stack, DeployStack)
    try:
        up = run.up()
        assert up.outputs["stdout"].value == "warm\n"
        assert sdk.get_task("warm-host", "t1").state == "completed"
        host = stack.last_warm_host
        assert host is not None and host.served  # it was the engine's provider host, and exited with 0
        assert host.process.returncode == 0

        preview = run.preview(expect_no_changes=True)
        assert stack.last_warm_host is not None and stack.last_warm_host.served
        monkeypatch.setenv("BATCH_WARM_HOST", "off")  # the SDK's own host, for comparison
        sdk_preview = run.preview(expect_no_changes=True)
        assert stack.last_warm_host is None
        assert sdk_preview.change_summary == preview.change_summary == {"same": 3}
    finally:
        monkeypatch.delenv("BATCH_WARM_HOST", raising=False)
        stack.destroy(color="never")
    assert [j.id for j in sdk.list_jobs() if j.id == "warm-host" and j.state != "deleting"] == []


def test_a_program_without_our_resources_leaves_its_host_unclaimed(tmp_path: Path, service: RunningService) -> None:
    run = new_stack(tmp_path, service, lambda: pulumi.export("nothing", 0))
    run.up()
    host = run.stack.last_warm_host
    assert host is not None and not host.served  # stopped by deploy after the command, never used
    assert host.process.returncode is not None
