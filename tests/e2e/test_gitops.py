"""GitOps gates through the real engine against the local service: drift gate, policy at preview, task logs."""
from __future__ import annotations

import gc
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from deploy.logs import run_logs, settings_for_stack, task_logs
from providers import BatchJob
from providers.client import BatchClient
from providers.client.settings import resolve_settings
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e

POLICY = {"requireMaxWallClockTime": True, "forbidAdminElevation": True, "allowedVmSizes": ["standard_d2s_v3"],
          "priorityRange": [-100, 100], "maxTaskRetryCountLimit": 5}


def one_job(job_id: str, **fields: Any) -> Callable[[], None]:
    """A program declaring one job on the service's always-present pool."""
    def program() -> None:
        BatchJob("job", spec={"id": job_id, "priority": 5, "poolInfo": {"poolId": "local"},
                              "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 1}, **fields})
    return program


def test_drift_gate_passes_after_up_fails_after_out_of_band_change_and_passes_after_up_again(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    from azure.batch.models import BatchJobUpdateOptions

    run = new_stack(tmp_path, service, one_job("gitops-drift"))
    try:
        run.up()
        gate = run.preview(refresh=True, expect_no_changes=True)
        assert set(gate.change_summary) == {"same"}

        sdk.update_job("gitops-drift", BatchJobUpdateOptions(priority=-7))
        with pytest.raises(auto.errors.CommandError) as refused:
            run.preview(refresh=True, expect_no_changes=True)
        assert "no changes were expected for preview but changes were proposed" in str(refused.value)
        assert "1 to update" in str(refused.value)

        run.up()
        assert sdk.get_job("gitops-drift").priority == 5
        assert set(run.preview(refresh=True, expect_no_changes=True).change_summary) == {"same"}
    finally:
        run.stack.destroy(color="never")


def violating_job() -> Callable[[], None]:
    """One job that breaks every rule of POLICY."""
    return one_job("gitops-policy", priority=500, constraints={"maxTaskRetryCount": -1}, jobManagerTask={
        "id": "jm", "commandLine": "/bin/true", "userIdentity": {"autoUser": {"elevationLevel": "admin"}}},
        poolInfo={"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": {
            "vmSize": "standard_nc24", "targetDedicatedNodes": 1, "virtualMachineConfiguration": {
                "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
                "nodeAgentSKUId": "batch.node.ubuntu 24.04"}}}})


def collect_aborted_program() -> None:
    """Collect the unclosed event loop and sockets the in-process inline-program server leaves behind after a
    preview refused in check, here rather than as a ResourceWarning failing whichever test runs next."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_policy_from_batch_policy_refuses_the_preview_and_the_same_program_passes_without_it(
        tmp_path: Path, service: RunningService) -> None:
    strict = new_stack(tmp_path / "strict", service, violating_job(), extra_env={"BATCH_POLICY": json.dumps(POLICY)})
    with pytest.raises(auto.errors.CommandError) as refused:
        strict.preview()
    text = strict.text + str(refused.value)
    assert ("policy forbidAdminElevation: spec.jobManagerTask.userIdentity.autoUser.elevationLevel is admin; "
            "this stack does not allow admin tasks") in text
    for rule in POLICY:
        assert f"policy {rule}: " in text
    compliant = strict.preview(one_job("gitops-policy"))
    assert compliant.change_summary == {"create": 2}

    relaxed = new_stack(tmp_path / "relaxed", service, violating_job())
    preview = relaxed.preview()
    assert preview.change_summary == {"create": 2}
    assert "policy " not in relaxed.text
    collect_aborted_program()


@pytest.fixture()
def logs_job(sdk: Any) -> str:
    """A job on the local pool for the logs tests."""
    from azure.batch import models

    job_id = f"gitops-logs-{time.monotonic_ns() % 10**8}"
    sdk.create_job(models.BatchJobCreateOptions({"id": job_id, "poolInfo": {"poolId": "local"}}))
    return job_id


def test_logs_print_stdout_and_stderr_of_a_completed_task(
        service: RunningService, sdk: Any, logs_job: str) -> None:
    from azure.batch import models

    sdk.create_task(logs_job, models.BatchTaskCreateOptions(
        id="done", command_line="/bin/sh -c 'echo out-line; echo err-line >&2'"))
    written: list[tuple[str, str]] = []
    with BatchClient(resolve_settings({}, service.env())) as client:
        assert task_logs(client, logs_job, "done", lambda s, t: written.append((s, t)), follow=True,
                         poll_seconds=0.2, timeout=30) == "completed"
        # While following a running task the two files are read one after the other, so a poll can
        # see stderr's line before the next poll sees stdout's: only each stream's text is fixed.
        assert sorted(written) == [("stderr", "err-line\n"), ("stdout", "out-line\n")]
        written.clear()
        task_logs(client, logs_job, "done", lambda s, t: written.append((s, t)))
    assert written == [("stdout", "out-line\n"), ("stderr", "err-line\n")]


def test_logs_follow_streams_output_while_the_task_runs_until_it_completes(
        service: RunningService, sdk: Any, logs_job: str) -> None:
    from azure.batch import models

    sdk.create_task(logs_job, models.BatchTaskCreateOptions(
        id="slow", command_line="/bin/sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.6; done'"))
    chunks: list[str] = []
    with BatchClient(resolve_settings({}, service.env())) as client:
        state = task_logs(client, logs_job, "slow", lambda _s, t: chunks.append(t), follow=True,
                          poll_seconds=0.2, timeout=30)
    assert state == "completed"
    assert "".join(chunks) == "tick 1\ntick 2\ntick 3\n"
    assert len(chunks) >= 2  # read in pieces while it ran, not once at the end


def test_logs_command_reads_the_connection_from_the_stack_config_with_its_secret_key(
        tmp_path: Path, service: RunningService, sdk: Any, logs_job: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    from azure.batch import models

    sdk.create_task(logs_job, models.BatchTaskCreateOptions(id="cfg", command_line="/bin/echo from-config"))
    stack = new_stack(tmp_path, service, lambda: None).stack
    stack.set_all_config({"batch:endpoint": auto.ConfigValue(service.endpoint),
                          "batch:accountName": auto.ConfigValue(service.account_name),
                          "batch:accountKey": auto.ConfigValue(service.account_key, secret=True)})
    settings = settings_for_stack(stack, environ={})
    assert (settings.endpoint, settings.account_key) == (service.endpoint, service.account_key)

    assert run_logs(f"{logs_job}/cfg", stack.name, True, lambda *_a, **_k: stack, {}) == 0
    captured = capsys.readouterr()
    assert captured.out == "from-config\n"
    assert f"task {logs_job}/cfg is completed" in captured.err
    assert run_logs(f"{logs_job}/missing", stack.name, False, lambda *_a, **_k: stack, {}) == 1
    assert "404 TaskNotFound" in capsys.readouterr().err
