"""The bare `pulumi` CLI on a project, as a user runs it after `source toolchain/activate`: the engine built by the
toolchain runs the program through our language host, against the local Batch service."""
from __future__ import annotations

import json
import os
import re
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
    BatchTask(f"t{n}", job=job, spec={"id": f"t{n}", "commandLine": "/bin/sleep 2"},
              wait_for_completion={"timeout": "PT2M"})
"""


def test_ctrl_c_during_up_leaves_a_state_the_next_up_repairs_and_no_process_behind(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    cli = configured(tmp_path, service, program=MANY_TASKS)
    interrupted = cli.start("up", "--yes", "--skip-preview")
    try:
        # The interrupt must land mid-run: sent while a task of this `up` is running.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _running(sdk, "cli-ctrl-c"):
            time.sleep(0.1)
        running = _running(sdk, "cli-ctrl-c")
        assert running, "no task of the up was seen running"
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
    # The interrupted `up` did not finish: the task it was waiting for was never recorded, so this one takes
    # it on (an identical task is adopted).
    created = re.search(r"\+ (\d+) created", repaired.stdout)
    assert created and int(created.group(1)) >= 1, repaired.stdout
    assert sorted(_task_ids(sdk, "cli-ctrl-c")) == sorted(f"t{n}" for n in range(30))
    cli.run("preview", "--expect-no-changes")
    cli.run("destroy", "--yes")
    assert cli.leftovers() == []


def _running(sdk: Any, job_id: str) -> list[str]:
    if not any(job.id == job_id for job in sdk.list_jobs()):
        return []
    return [task.id for task in sdk.list_tasks(job_id) if task.state == "running"]


def test_a_policy_set_with_pulumi_config_set_refuses_the_preview_until_it_is_removed(
        tmp_path: Path, service: RunningService) -> None:
    cli = configured(tmp_path, service, job_id="cli-policy")
    cli.run("config", "set", "batch:policy", json.dumps({"requireMaxWallClockTime": True}))
    refused = cli.run("preview", check=False)
    assert refused.returncode != 0
    assert "policy requireMaxWallClockTime: " in refused.stdout, refused.stdout
    cli.run("config", "rm", "batch:policy")
    allowed = cli.run("preview")
    assert "policy " not in allowed.stdout and "+ 3 to create" in allowed.stdout, allowed.stdout


HOST_REPORT = """
import os
from pathlib import Path

from pulumi.dynamic import CheckResult, CreateResult, Resource, ResourceProvider

import providers  # noqa: F401  (as every program of this project)


class Report(ResourceProvider):
    def check(self, olds, news):
        # Which process serves the engine's provider requests: its command line as the kernel has it.
        Path(news["path"]).write_bytes(Path("/proc/self/cmdline").read_bytes())
        return CheckResult(news, [])

    def create(self, props):
        return CreateResult("report", props)


class HostReport(Resource):
    def __init__(self, name, path):
        super().__init__(Report(), name, {"path": path})


HostReport("report", os.environ["HOST_REPORT"])
"""


def test_a_preview_is_served_by_the_pre_started_provider_host(tmp_path: Path) -> None:
    report = tmp_path / "host-cmdline"
    cli = Cli(write_project(tmp_path / "project", HOST_REPORT), tmp_path / "state", {"HOST_REPORT": str(report)})
    cli.run("stack", "select", "--create", "test")
    cli.run("preview")
    assert b"providers.warm_host" in report.read_bytes().split(b"\0"), report.read_bytes()
    # The control: with the pre-started host turned off, the SDK's own host answers the same preview.
    report.unlink()
    cli.extra_env["BATCH_WARM_HOST"] = "off"
    cli.run("preview")
    assert b"pulumi.dynamic" in report.read_bytes().split(b"\0"), report.read_bytes()
    assert b"providers.warm_host" not in report.read_bytes()
    assert cli.leftovers() == []


def _task_ids(sdk: Any, job_id: str) -> list[str]:
    if not any(job.id == job_id for job in sdk.list_jobs()):
        return []
    return [task.id for task in sdk.list_tasks(job_id)]
