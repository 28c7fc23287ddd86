"""The policy pack in `policies/` through the bare CLI: `pulumi preview|up --policy-pack policies` with the
toolchain's engine and language host (which runs the pack for the engine's RunPlugin call), against the local
service. For each rule one stack passes (at its limit, or where the rule does not apply) and one violates it."""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli, write_project
from tests.support.service import RunningService

pytestmark = pytest.mark.e2e

PACK = Path(__file__).resolve().parents[2] / "policies"

PROGRAM = """
import json
import pulumi
from providers import BatchJob, BatchTaskCollection

config = pulumi.Config("case")
job = BatchJob("job", spec=json.loads(config.require("job")))
BatchTaskCollection("tasks", job=job, tasks=json.loads(config.require("tasks")))
"""

ADMIN = {"autoUser": {"scope": "task", "elevationLevel": "admin"}}
AUTO_POOL = {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": {
    "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 1, "virtualMachineConfiguration": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
        "nodeAgentSKUId": "batch.node.ubuntu 24.04"}}}}


def compliant(stack: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A job and two tasks every rule of the pack accepts with its default parameters."""
    job = {"id": f"pp-{stack}", "priority": 10, "poolInfo": {"poolId": "local"},
           "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 1},
           "metadata": [{"name": "owner", "value": "platform-team"}]}
    tasks = [{"id": f"t{i}", "commandLine": "/bin/true"} for i in range(2)]
    return job, tasks


def case(stack: str, change: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The compliant job and tasks with one change."""
    job, tasks = compliant(stack)
    job, tasks = copy.deepcopy(job), copy.deepcopy(tasks)
    if change.startswith("wallclock="):
        job["constraints"]["maxWallClockTime"] = change.split("=", 1)[1]
    elif change == "admin":
        tasks[1]["userIdentity"] = ADMIN
    elif change.startswith("vmsize="):
        job["poolInfo"] = copy.deepcopy(AUTO_POOL)
        job["poolInfo"]["autoPoolSpecification"]["pool"]["vmSize"] = change.split("=", 1)[1]
    elif change.startswith("priority="):
        job["priority"] = int(change.split("=", 1)[1])
    elif change == "no-owner":
        job["metadata"] = [{"name": "team", "value": "render"}]
    elif change.startswith("retries="):
        tasks[0]["constraints"] = {"maxTaskRetryCount": int(change.split("=", 1)[1])}
    return job, tasks


# rule, (passing stack, its change), (violating stack, its change), what the violation says
RULES = [
    ("max-wall-clock-time", ("wallclock-ok", "wallclock=P1D"), ("wallclock-bad", "wallclock=P2D"),
     "spec.constraints.maxWallClockTime is P2D; this stack allows at most P1D"),
    ("no-admin-in-production", ("staging", "admin"), ("production", "admin"),
     "tasks[1].userIdentity.autoUser.elevationLevel is admin; this stack does not allow admin tasks"),
    ("allowed-vm-sizes", ("vmsize-ok", "vmsize=Standard_D4s_v3"), ("vmsize-bad", "vmsize=standard_nc24"),
     "spec.poolInfo.autoPoolSpecification.pool.vmSize is 'standard_nc24'; allowed: standard_d2s_v3"),
    ("priority-range", ("priority-ok", "priority=100"), ("priority-bad", "priority=101"),
     "spec.priority is 101; this stack allows -100 to 100"),
    ("required-metadata-keys", ("metadata-ok", "none"), ("metadata-bad", "no-owner"),
     "spec.metadata has no entry named 'owner'; this stack requires 'owner'"),
    ("retry-limit", ("retries-ok", "retries=3"), ("retries-bad", "retries=-1"),
     "tasks[0].constraints.maxTaskRetryCount is -1 (unlimited retries); this stack allows at most 3"),
]


def add_stack(cli: Cli, stack: str, change: str) -> None:
    """`pulumi stack init` and the stack's program config (the job and tasks as JSON)."""
    cli.run("stack", "init", stack)
    job, tasks = case(stack, change)
    config_file = cli.project / f"Pulumi.{stack}.yaml"
    text = config_file.read_text() if config_file.exists() else ""
    config = {"case:job": json.dumps(job), "case:tasks": json.dumps(tasks)}
    config_file.write_text(text + "config:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in config.items()))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, service: RunningService) -> Iterator[Cli]:
    """One project with a stack per case; the connection comes from the environment fallbacks."""
    root = tmp_path_factory.mktemp("policy-pack")
    cli = Cli(write_project(root / "project", PROGRAM), root / "state", extra_env={
        "AZURE_BATCH_ENDPOINT": service.endpoint, "AZURE_BATCH_ACCOUNT_NAME": service.account_name,
        "AZURE_BATCH_ACCESS_KEY": service.account_key})
    for _rule, passing, violating, _message in RULES:
        add_stack(cli, *passing)
        add_stack(cli, *violating)
    yield cli
    assert cli.leftovers() == []


def with_pack(cli: Cli, command: str, stack: str, *extra: str) -> Any:
    return cli.run(command, "--stack", stack, "--policy-pack", str(PACK), "--color", "never", *extra,
                   check=False, timeout=600)


@pytest.mark.parametrize(("rule", "passing", "violating", "message"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_passes_one_stack_and_stops_the_violating_one_naming_resource_field_and_rule(
        project: Cli, rule: str, passing: tuple[str, str], violating: tuple[str, str], message: str) -> None:
    ok = with_pack(project, "preview", passing[0])
    assert ok.returncode == 0, ok.stdout
    assert "✅ batch-policies@v1.0.0" in ok.stdout and "[mandatory]" not in ok.stdout, ok.stdout

    bad = with_pack(project, "preview", violating[0])
    assert bad.returncode != 0, bad.stdout
    kind, resource = ("TaskCollection", "tasks") if message.startswith("tasks[") else ("Job", "job")
    # The engine's line names level, policy and resource; the message under it names the field.
    assert f"[mandatory]  {rule}  (pulumi-python:dynamic/batch:{kind}: {resource})" in bad.stdout, bad.stdout
    assert message in bad.stdout, bad.stdout
    assert bad.stdout.count("[mandatory]") == 1, bad.stdout  # only the rule this stack breaks


def test_a_mandatory_violation_stops_up_before_anything_is_created(project: Cli, sdk: Any) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    done = with_pack(project, "up", "retries-bad", "--yes")
    assert done.returncode != 0, done.stdout
    assert "[mandatory]  retry-limit" in done.stdout, done.stdout
    with pytest.raises(ResourceNotFoundError):
        sdk.get_job("pp-retries-bad")
    # Without the preview the engine checks each resource just before its step: the compliant job is created,
    # the violating collection is not, and no task reaches the service.
    skipped = with_pack(project, "up", "retries-bad", "--yes", "--skip-preview")
    assert skipped.returncode != 0, skipped.stdout
    assert "[mandatory]  retry-limit  (pulumi-python:dynamic/batch:TaskCollection: tasks)" in skipped.stdout
    assert list(sdk.list_tasks("pp-retries-bad")) == []
    destroyed = project.run("destroy", "--yes", "--stack", "retries-bad", check=False, timeout=600)
    assert destroyed.returncode == 0, destroyed.stdout


def test_up_with_the_pack_then_a_no_change_preview_with_the_pack_passes(project: Cli, sdk: Any) -> None:
    up = with_pack(project, "up", "retries-ok", "--yes")
    assert up.returncode == 0, up.stdout
    assert {t.id for t in sdk.list_tasks("pp-retries-ok")} == {"t0", "t1"}
    again = with_pack(project, "preview", "retries-ok", "--expect-no-changes")
    assert again.returncode == 0, again.stdout
    assert "✅ batch-policies@v1.0.0" in again.stdout
    destroyed = project.run("destroy", "--yes", "--stack", "retries-ok", check=False, timeout=600)
    assert destroyed.returncode == 0, destroyed.stdout


def test_the_pack_config_sets_each_policys_level_and_parameter(project: Cli, tmp_path: Path) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"retry-limit": {"enforcementLevel": "advisory"},
                                  "priority-range": {"minimum": 0, "maximum": 200},
                                  "max-wall-clock-time": "disabled"}))
    for stack in ("retries-bad", "priority-bad", "wallclock-bad"):
        done = with_pack(project, "preview", stack, "--policy-pack-config", str(config))
        assert done.returncode == 0, done.stdout
        assert "[mandatory]" not in done.stdout, done.stdout
    advisory = with_pack(project, "preview", "retries-bad", "--policy-pack-config", str(config))
    assert "[advisory]  retry-limit" in advisory.stdout, advisory.stdout
    # A parameter the policy cannot use is reported, not ignored.
    config.write_text(json.dumps({"priority-range": {"minimum": 5, "maximum": 1}}))
    refused = with_pack(project, "preview", "priority-ok", "--policy-pack-config", str(config))
    assert refused.returncode != 0
    assert "is not valid: [min, max] integers with min <= max" in refused.stdout, refused.stdout
