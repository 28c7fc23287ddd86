"""BatchJob and BatchTask through the real engine against the local service."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi import automation as auto

from providers import BatchJob, BatchTask
from tests.support.service import RunningService
from tests.support.stacks import StackRun, new_stack

pytestmark = pytest.mark.e2e

WAIT = {"timeout": "PT2M", "success": "exitCodeZero"}


def job_spec(job_id: str, **changes: Any) -> dict[str, Any]:
    """A job on the service's always-present local pool."""
    return {"id": job_id, "priority": 5, "poolInfo": {"poolId": "local"},
            "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 0},
            "metadata": [{"name": "team", "value": "e2e"}], **changes}


def pipeline(job_id: str, job_changes: dict[str, Any] | None = None,
             echo: str = "hello") -> Callable[[], None]:
    """A job with two tasks that really run; outputs expose states and exit codes."""
    def program() -> None:
        job = BatchJob("job", spec=job_spec(job_id, **(job_changes or {})))
        first = BatchTask("first", job=job, spec={"id": "first", "commandLine": f"/bin/echo {echo}"},
                          wait_for_completion=WAIT)
        second = BatchTask("second", job=job, spec={
            "id": "second", "commandLine": "/bin/sh -c 'exit 0'",
            "constraints": {"maxWallClockTime": "PT10M", "maxTaskRetryCount": 1}}, wait_for_completion=WAIT)
        pulumi.export("job_state", job.state)
        pulumi.export("first", {"state": first.state, "exit": first.exit_code, "stdout": first.stdout_tail})
        pulumi.export("second_exit", second.exit_code)
    return program


@pytest.fixture()
def run(tmp_path: Path, service: RunningService) -> StackRun:
    """A fresh stack; destroyed at the end so jobs do not leak between tests."""
    stack_run = new_stack(tmp_path, service, pipeline("e2e-base"))
    yield stack_run  # type: ignore[misc]
    stack_run.stack.destroy(color="never")


def test_up_then_preview_and_refresh_show_no_changes(run: StackRun, sdk: Any) -> None:
    up = run.up(pipeline("e2e-steady"))
    assert up.summary.result == "succeeded"
    assert up.outputs["first"].value == {"state": "completed", "exit": 0, "stdout": "hello\n"}
    assert up.outputs["second_exit"].value == 0
    assert sdk.get_job("e2e-steady").priority == 5

    preview = run.preview(pipeline("e2e-steady"), expect_no_changes=True)
    assert set(preview.change_summary) == {"same"}
    refresh = run.stack.refresh(color="never", expect_no_changes=True)
    assert refresh.summary.result == "succeeded"


def test_priority_change_is_patched_in_place(run: StackRun, sdk: Any) -> None:
    run.up(pipeline("e2e-prio"))
    before = sdk.get_job("e2e-prio")
    preview = run.preview(pipeline("e2e-prio", {"priority": 100}))
    assert preview.change_summary.get("update") == 1 and "replace" not in preview.change_summary
    assert "spec.priority" in run.text and "PATCH" in run.text
    up = run.up(pipeline("e2e-prio", {"priority": 100}))
    assert up.summary.resource_changes.get("update") == 1
    after = sdk.get_job("e2e-prio")
    assert after.priority == 100
    assert after.creation_time == before.creation_time  # the same job, changed in place
    assert after.etag != before.etag


def test_command_line_change_replaces_the_task_under_the_same_id(run: StackRun, sdk: Any) -> None:
    run.up(pipeline("e2e-cmd"))
    created = sdk.get_task("e2e-cmd", "first").creation_time
    up = run.up(pipeline("e2e-cmd", echo="changed"))
    assert up.summary.resource_changes.get("replace") == 1
    task = sdk.get_task("e2e-cmd", "first")
    assert task.command_line == "/bin/echo changed" and task.creation_time > created
    assert up.outputs["first"].value["stdout"] == "changed\n"


def test_job_manager_change_replaces_the_job_and_its_tasks(run: StackRun, sdk: Any) -> None:
    manager = {"id": "jm", "commandLine": "/bin/true", "killJobOnCompletion": False, "runExclusive": False}
    run.up(pipeline("e2e-jm", {"jobManagerTask": manager}))
    created = sdk.get_job("e2e-jm").creation_time
    preview = run.preview(pipeline("e2e-jm", {"jobManagerTask": {**manager, "commandLine": "/bin/echo jm"}}))
    assert preview.change_summary.get("replace", 0) >= 1
    assert "jobManagerTask" in run.text and "replace" in run.text
    up = run.up(pipeline("e2e-jm", {"jobManagerTask": {**manager, "commandLine": "/bin/echo jm"}}))
    assert up.summary.result == "succeeded"
    job = sdk.get_job("e2e-jm")
    assert job.creation_time > created and job.job_manager_task.command_line == "/bin/echo jm"
    assert {t.id for t in sdk.list_tasks("e2e-jm")} >= {"first", "second"}


def test_out_of_band_change_shows_as_drift_and_up_restores_it(run: StackRun, sdk: Any) -> None:
    from azure.batch.models import BatchJobUpdateOptions

    run.up(pipeline("e2e-drift"))
    sdk.update_job("e2e-drift", BatchJobUpdateOptions(priority=-7))
    preview = run.preview(pipeline("e2e-drift"))
    assert preview.change_summary.get("update") == 1
    assert "spec.priority" in run.text and "-7" in run.text
    run.up(pipeline("e2e-drift"))
    assert sdk.get_job("e2e-drift").priority == 5


def test_job_deleted_out_of_band_is_recreated(run: StackRun, sdk: Any, service: RunningService) -> None:
    run.up(pipeline("e2e-gone"))
    sdk.begin_delete_job("e2e-gone", polling_interval=0.2).result()
    up = run.up(pipeline("e2e-gone"))
    assert up.summary.result == "succeeded"
    assert sdk.get_job("e2e-gone").priority == 5
    assert {t.id for t in sdk.list_tasks("e2e-gone")} == {"first", "second"}


def test_destroy_leaves_no_job_or_task(tmp_path: Path, service: RunningService, sdk: Any) -> None:
    stack_run = new_stack(tmp_path, service, pipeline("e2e-destroy"))
    stack_run.up()
    stack_run.stack.destroy(color="never")
    assert [j.id for j in sdk.list_jobs() if j.id == "e2e-destroy" and j.state != "deleting"] == []


def test_invalid_spec_is_refused_at_preview_naming_the_field(run: StackRun) -> None:
    def bad() -> None:
        BatchJob("job", spec=job_spec("e2e-bad", priority=5000, poolInfo={"poolId": "local", "poolid": "x"}))

    with pytest.raises(auto.errors.CommandError) as refused:
        run.preview(bad)
    assert "spec.priority" in str(refused.value) and "spec.poolInfo.poolid" in str(refused.value)


def test_secrets_never_reach_state_or_engine_output(tmp_path: Path, service: RunningService) -> None:
    password, sas, env_secret = "Registry-Pa55word-e2e", "sv=2025&sig=SAS-SIGNATURE-E2E", "env-secret-value-e2e"

    def program() -> None:
        job = BatchJob("job", spec=job_spec("e2e-secrets"))
        BatchTask("container", job=job, spec={
            "id": "container", "commandLine": "/bin/true",
            "containerSettings": {"imageName": "ubuntu", "registry": {
                "registryServer": "example.azurecr.io", "username": "u", "password": password}},
        })
        BatchTask("files", job=job, spec={
            "id": "files", "commandLine": "/bin/true",
            "resourceFiles": [{"httpUrl": f"http://127.0.0.1:9/blob.txt?{sas}", "filePath": "blob.txt"}],
            "environmentSettings": [{"name": "TOKEN", "value": pulumi.Output.secret(env_secret)}],
        })

    stack_run = new_stack(tmp_path, service, program)
    stack_run.up()
    stack_run.preview()
    stack_run.stack.refresh(on_output=stack_run.log, color="never")
    # The state file on disk (export_stack() would decrypt: the Automation API passes --show-secrets).
    state_files = [p for p in (tmp_path / "state").rglob("*.json") if p.is_file()]
    state = "".join(p.read_text(errors="replace") for p in state_files)
    assert '"ciphertext"' in state  # the secret parts are there, encrypted
    stack_run.stack.destroy(on_output=stack_run.log, color="never")
    logs = (service.data_dir / "service.log").read_text(errors="replace")
    for secret in (password, sas, env_secret):
        assert secret not in state
        assert secret not in stack_run.text
        assert secret not in logs
