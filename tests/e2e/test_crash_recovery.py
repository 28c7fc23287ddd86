"""`pulumi up` killed outright (SIGKILL to its whole process group) at named points and at seeded random ones,
then repaired by `pulumi cancel` (when locked) and `pulumi up`; concurrent `up`s; clean error paragraphs.
The kill scenarios are benchmarks/crash_suite.py's (which runs more seeds); each prints its outcome line."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.crash_suite import (
    NAMED_POINTS,
    RUNNERS,
    SEED_RUNNER,
    CrashStack,
    Scenario,
    nth,
    proxied_service,
    run_point,
    run_seed,
)
from tests.support.cli import Cli, write_project

pytestmark = pytest.mark.e2e

# Two seeds here; `benchmarks/crash_suite.py --seeds 1-10` runs more. BATCH_CRASH_SEEDS=4,5 picks others.
CI_SEEDS = tuple(int(s) for s in os.environ.get("BATCH_CRASH_SEEDS", "2,19").split(","))


@pytest.mark.timeout(420)
@pytest.mark.parametrize("point", NAMED_POINTS)
def test_up_killed_at_a_named_point_is_repaired_by_cancel_and_up(point: str, tmp_path: Path) -> None:
    with proxied_service(tmp_path, RUNNERS[point]) as (service, proxy):
        outcome = run_point(point, tmp_path, service, proxy)
    print(f"\n{outcome.line()}")
    assert outcome.killed, outcome.problems
    assert outcome.problems == []
    assert outcome.leftovers == []


@pytest.mark.timeout(420)
@pytest.mark.parametrize("seed", CI_SEEDS)
def test_up_killed_at_a_seeded_random_request_is_repaired(seed: int, tmp_path: Path) -> None:
    with proxied_service(tmp_path, SEED_RUNNER) as (service, proxy):
        outcome = run_seed(seed, tmp_path, service, proxy)
    print(f"\n{outcome.line()}")
    assert outcome.killed, outcome.problems
    assert outcome.problems == []
    assert outcome.leftovers == []


def _settled(count: Any) -> int:
    """The proxy's request count once it has not moved for a second (the other command is blocked)."""
    last, since = count(), time.monotonic()
    while time.monotonic() - since < 1.0:
        time.sleep(0.1)
        if count() != last:
            last, since = count(), time.monotonic()
    return int(last)


@pytest.mark.timeout(300)
def test_a_second_up_on_a_stack_in_use_gets_the_lock_error_and_sends_nothing(tmp_path: Path) -> None:
    with proxied_service(tmp_path, "none") as (service, proxy):
        stack = CrashStack(tmp_path, service, proxy)
        scenario = Scenario("crash-locked", 300)
        stack.declare(scenario)
        proxy.arm(nth(1, "POST", "/addtaskcollection"), after_service=False)
        first = stack.cli.start("up", "--yes", "--skip-preview")
        try:
            assert proxy.held.wait(180), "the first up never reached its collection"
            requests = _settled(lambda: proxy.requests)
            live = sorted((t["id"], t["eTag"]) for t in stack.client().list_tasks(scenario.job_id))
            second = stack.cli.run("up", "--yes", "--skip-preview", check=False)
            assert second.returncode != 0
            assert "currently locked" in second.stdout, second.stdout
            assert proxy.requests == requests  # the second command sent nothing to the service
            assert sorted((t["id"], t["eTag"]) for t in stack.client().list_tasks(scenario.job_id)) == live
            proxy.release()  # the held chunk is dropped unanswered: the first up resubmits it and finishes
            output, _ = first.communicate(timeout=240)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        assert first.returncode == 0, output
        assert stack.converged(scenario) == []


@pytest.mark.timeout(300)
def test_a_second_stack_naming_the_same_job_gets_a_conflict_naming_the_owner(tmp_path: Path) -> None:
    with proxied_service(tmp_path, "none") as (service, proxy):
        owner = CrashStack(tmp_path / "first", service, proxy, stack="first")
        scenario = Scenario("crash-shared", 50)
        owner.declare(scenario)
        owner.cli.run("up", "--yes", "--skip-preview")
        client = owner.client()
        before = (client.get_job(scenario.job_id), sorted(t["eTag"] for t in client.list_tasks(scenario.job_id)))

        other = CrashStack(tmp_path / "second", service, proxy, stack="second")
        other.declare(scenario)
        refused = other.cli.run("up", "--yes", "--skip-preview", check=False)
        assert refused.returncode != 0
        assert "belongs to stack 'organization/crash-test/first'" in refused.stdout, refused.stdout
        assert "Traceback" not in refused.stdout
        after = (client.get_job(scenario.job_id), sorted(t["eTag"] for t in client.list_tasks(scenario.job_id)))
        assert after == before  # the job and its tasks are untouched
        resources = other.cli.run("stack", "export").stdout
        assert "batch:Job" not in resources and "batch:TaskCollection" not in resources
        owner.cli.run("preview", "--expect-no-changes")


REFUSED_PROGRAM = """
from providers import BatchTask

BatchTask("orphan", job_id="no-such-job", spec={"id": "orphan", "commandLine": "/bin/true"})
"""


@pytest.mark.timeout(300)
def test_a_service_refusal_at_up_prints_one_paragraph_without_a_traceback(tmp_path: Path) -> None:
    with proxied_service(tmp_path, "none") as (service, _proxy):
        cli = Cli(write_project(tmp_path / "project", REFUSED_PROGRAM, name="refusal"), tmp_path / "state")
        cli.run("stack", "select", "--create", "test")
        cli.run("config", "set", "batch:endpoint", service.endpoint)
        cli.run("config", "set", "batch:accountName", service.account_name)
        cli.run("config", "set", "--secret", "batch:accountKey", service.account_key)
        done = cli.run("up", "--yes", "--skip-preview", check=False)
        assert done.returncode != 0
        said = done.stdout
        assert "BatchTask create: creating task 'orphan' in job 'no-such-job'" in said, said
        assert "404 JobNotFound" in said and "What to do:" in said
        assert "Traceback" not in said and 'File "' not in said

        debugging = Cli(cli.project, cli.state, extra_env={"PULUMI_DEBUG": "1"})
        done = debugging.run("up", "--yes", "--skip-preview", check=False)
        assert done.returncode != 0
        assert "Traceback (most recent call last)" in done.stdout  # asked for: the provider host's frames
