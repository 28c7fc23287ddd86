"""The bare `pulumi` CLI on a project, as a user runs it after `source toolchain/activate`: the engine built by the
toolchain runs the program through our language host, against the local Batch service."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli, write_project
from tests.support.service import RunningService

pytestmark = pytest.mark.e2e

TOKEN = "token-value-that-must-stay-secret-7f3a"

PROGRAM = """
import pulumi
from providers import BatchJob, BatchTask

config = pulumi.Config()
job = BatchJob("job", spec={"id": config.require("jobId"), "priority": config.get_int("priority") or 1,
                            "poolInfo": {"poolId": "local"}})
hello = BatchTask("hello", job=job, spec={
    "id": "hello", "commandLine": "/bin/sh -c 'echo hello from the cli'",
    "environmentSettings": [{"name": "TOKEN", "value": config.require_secret("token")}]},
    wait_for_completion={"timeout": "PT2M"})
if config.get_bool("fail"):
    raise ValueError("the program refuses to run: fail is set")
pulumi.export("job", job.job_id)
pulumi.export("hello", {"state": hello.state, "exitCode": hello.exit_code, "stdout": hello.stdout_tail})
"""


def configured(tmp_path: Path, service: RunningService, program: str = PROGRAM, job_id: str = "cli-job") -> Cli:
    """A project with a `test` stack whose connection and secrets were set with `pulumi config set`."""
    cli = Cli(write_project(tmp_path / "project", program), tmp_path / "state")
    cli.run("stack", "select", "--create", "test")
    cli.run("config", "set", "batch:endpoint", service.endpoint)
    cli.run("config", "set", "batch:accountName", service.account_name)
    cli.run("config", "set", "--secret", "batch:accountKey", service.account_key)
    cli.run("config", "set", "--secret", "token", TOKEN)
    cli.run("config", "set", "jobId", job_id)
    return cli


def state_text(cli: Cli) -> str:
    """Every file of the stack's backend, as text."""
    return "\n".join(p.read_text(errors="replace") for p in cli.state.rglob("*") if p.is_file())


def test_up_preview_drift_repair_outputs_and_destroy_with_the_bare_cli(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    from azure.batch.models import BatchJobUpdateOptions

    cli = configured(tmp_path, service)
    said = [cli.run("up", "--yes").stdout]
    assert "+ 3 created" in said[0]
    said.append(cli.run("preview", "--expect-no-changes").stdout)
    outputs = json.loads(cli.run("stack", "output", "--json").stdout)
    assert outputs["job"] == "cli-job"
    assert outputs["hello"] == {"state": "completed", "exitCode": 0, "stdout": "hello from the cli\n"}

    sdk.update_job("cli-job", BatchJobUpdateOptions(priority=-7))  # out of band
    drift = cli.run("preview", "--refresh", "--expect-no-changes", check=False)
    assert drift.returncode != 0
    assert "priority" in drift.stdout and "1 to update" in drift.stdout
    refreshed = cli.run("refresh", "--yes").stdout  # the state takes the live priority...
    assert "1 updated" in refreshed
    assert "1 to update" in cli.run("preview").stdout  # ...which the program still wants changed back
    said += [drift.stdout, refreshed, cli.run("up", "--yes").stdout]
    assert sdk.get_job("cli-job").priority == 1
    said.append(cli.run("preview", "--refresh", "--expect-no-changes").stdout)

    cli.run("config", "set", "priority", "5")
    said.append(cli.run("up", "--yes", "--skip-preview").stdout)
    assert sdk.get_job("cli-job").priority == 5

    for text in [*said, state_text(cli)]:
        assert TOKEN not in text and service.account_key not in text
    said.append(cli.run("destroy", "--yes").stdout)
    assert "- 3 deleted" in said[-1]
    assert cli.leftovers() == []


def test_a_program_that_raises_shows_its_traceback_once_and_fails(tmp_path: Path, service: RunningService) -> None:
    cli = configured(tmp_path, service, job_id="cli-raises")
    cli.run("config", "set", "fail", "true")
    done = cli.run("preview", check=False)
    assert done.returncode != 0
    assert done.stdout.count("Traceback (most recent call last)") == 1
    assert done.stdout.count("ValueError: the program refuses to run: fail is set") == 1
    assert '__main__.py", line 13, in <module>' in done.stdout  # the user's own frame, with its line
    assert cli.leftovers() == []


MANY_TASKS = """
from providers import BatchJob, BatchTask

job = BatchJob("job", spec={"id": "cli-ctrl-c", "poolInfo": {"poolId": "local"}})
for n in range(30):
    BatchTask(f"t{n}", job=job, spec={"id": f"t{n}", "commandLine": "/bin/sleep 0.2"},
              wait_for_completion={"timeout": "PT2M"})
"""


def test_ctrl_c_during_up_leaves_a_state_the_next_up_repairs_and_no_process_behind(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    cli = configured(tmp_path, service, program=MANY_TASKS)
    interrupted = cli.start("up", "--yes", "--skip-preview")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_task_ids(sdk, "cli-ctrl-c")) < 4:
            time.sleep(0.1)
        os.killpg(interrupted.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group
        output, _ = interrupted.communicate(timeout=120)
    finally:
        if interrupted.poll() is None:
            os.killpg(interrupted.pid, signal.SIGKILL)
            interrupted.wait()
    assert interrupted.returncode != 0, output
    assert "KeyboardInterrupt" not in output
    assert cli.leftovers() == []

    repaired = cli.run("up", "--yes")
    assert "KeyboardInterrupt" not in repaired.stdout
    assert sorted(_task_ids(sdk, "cli-ctrl-c")) == sorted(f"t{n}" for n in range(30))
    cli.run("preview", "--expect-no-changes")
    cli.run("destroy", "--yes")
    assert cli.leftovers() == []


def _task_ids(sdk: Any, job_id: str) -> list[str]:
    if not any(job.id == job_id for job in sdk.list_jobs()):
        return []
    return [task.id for task in sdk.list_tasks(job_id)]
