"""Crash suite: `pulumi up` killed outright (SIGKILL to its process group) is repaired by the next `up`.

    .venv/bin/python benchmarks/crash_suite.py [--points job-create,chunks,replace,wait] [--seeds 1-10]

Each run: a fresh local service behind a proxy that holds one request (tests/support/holding_proxy.py), a
scratch project run by the bare `pulumi` CLI, and `pulumi up` killed with SIGKILL sent to its whole process
group at the moment that request is held. Named points: `job-create` (the job's POST reached the service, its
answer never came back), `chunks` (a 20,000-task collection, after ~30 add-task-collection requests),
`replace` (a job replace, after its delete and before its create), `wait` (while the collection waits for
its tasks to complete). A seed kills at a random request of a program with a job, a 1,000-task collection
that waits, a task and a job schedule. Then, as the README says: `pulumi cancel --yes` if the stack is locked
(`python -m deploy unlock` when the killed engine left a state file half-written, which `cancel` cannot
load), and `pulumi up`; converged means every task exists exactly once, the state holds every resource with no
pending operation, and `pulumi preview --expect-no-changes` exits 0. Prints one line per run: the point (or
seed and request), whether it was locked, the recovery time (`cancel` + `up`) and the outcome.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from providers.client import BatchClient
from providers.client.settings import resolve_settings
from tests.support.cli import Cli, write_project
from tests.support.holding_proxy import HoldingProxy, Rule, holding_proxy
from tests.support.service import RunningService, start_service

PROGRAM = """
import pulumi
from providers import BatchJob, BatchJobSchedule, BatchTask, BatchTaskCollection

config = pulumi.Config()
job_id = config.require("jobId")
job = BatchJob("job", spec={"id": job_id, "displayName": config.get("displayName") or "crash test",
                            "poolInfo": {"poolId": "local"}})
wait = {"timeout": "PT5M"} if config.get_bool("wait") else None
tasks = [{"id": f"t{n:05d}", "commandLine": "/bin/true"} for n in range(config.require_int("tasks"))]
sweep = BatchTaskCollection("sweep", job=job, tasks=tasks, wait_for_completion=wait)
if config.get_bool("extras"):
    BatchTask("single", job=job, spec={"id": "single", "commandLine": "/bin/true"}, wait_for_completion=wait)
    BatchJobSchedule("nightly", spec={"id": f"{job_id}-nightly",
                                      "schedule": {"doNotRunUntil": "2099-01-01T00:00:00Z",
                                                   "recurrenceInterval": "P1D"},
                                      "jobSpecification": {"poolInfo": {"poolId": "local"}}})
pulumi.export("tasks", sweep.task_count)
"""
NAMED_POINTS = ("job-create", "chunks", "replace", "wait")
# The service's runner per point: `none` leaves tasks queued (20,000 of them cost nothing to hold), `instant`
# completes them at once without processes (what a wait needs).
RUNNERS = {"job-create": "none", "chunks": "none", "replace": "none", "wait": "instant"}
SEED_RUNNER = "instant"
# A seeded run kills at one of the first this-many requests of its `up` (which sends ~30: 9 creates and
# reads, 10 chunks, then the waits).
RANDOM_REQUESTS = 24
COMMAND_TIMEOUT = 300.0


@dataclass(frozen=True)
class Scenario:
    """What the stack declares."""

    job_id: str
    tasks: int
    wait: bool = False
    extras: bool = False

    @property
    def resources(self) -> set[str]:
        """The names of the resources the state must hold once converged."""
        return {"job", "sweep", *(("single", "nightly") if self.extras else ())}

    @property
    def task_ids(self) -> list[str]:
        """Every task id the job must hold once converged."""
        return [f"t{n:05d}" for n in range(self.tasks)] + (["single"] if self.extras else [])


@dataclass
class Outcome:
    """One kill and its repair."""

    point: str
    held: str = ""
    killed: bool = False
    locked: bool = False
    torn: bool = False
    pending: int = 0
    kept_tasks: int = 0
    recovery_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Killed where meant, repaired, nothing left running."""
        return self.killed and not self.problems and not self.leftovers

    def line(self) -> str:
        """The printed row."""
        state = "converged" if self.ok else "FAILED: " + "; ".join(self.problems or self.leftovers or ["no kill"])
        repair = "; a torn state file repaired by `deploy unlock`" if self.torn else ""
        return (f"{self.point}: killed at {self.held or '-'}; locked {'yes' if self.locked else 'no'}{repair}; "
                f"recovery (cancel + up) {self.recovery_seconds:.1f} s, keeping {self.kept_tasks} tasks the "
                f"killed run added; pending creates the engine kept "
                f"{self.pending}; {state}")


class CrashStack:
    """A scratch project and stack whose provider connection goes through `proxy`."""

    def __init__(self, root: Path, service: RunningService, proxy: HoldingProxy, stack: str = "crash") -> None:
        self.cli = Cli(write_project(root / "project", PROGRAM, name="crash-test"), root / "state")
        self.service, self.proxy, self.stack = service, proxy, stack
        self.cli.run("stack", "select", "--create", stack)
        self.cli.run("config", "set", "batch:endpoint", proxy.endpoint)
        self.cli.run("config", "set", "batch:accountName", service.account_name)
        self.cli.run("config", "set", "--secret", "batch:accountKey", service.account_key)

    def declare(self, scenario: Scenario, display_name: str = "crash test") -> None:
        """Set the stack's config to `scenario`."""
        for key, value in (("jobId", scenario.job_id), ("tasks", str(scenario.tasks)),
                           ("wait", str(scenario.wait).lower()), ("extras", str(scenario.extras).lower()),
                           ("displayName", display_name)):
            self.cli.run("config", "set", key, value)

    def up_killed_at(self, rule: Rule, *, after_service: bool) -> tuple[bool, str]:
        """`pulumi up`, SIGKILLed (its whole process group) once the proxy holds the request `rule` picks.
        (False, output) when the command ended before any request matched."""
        self.proxy.arm(rule, after_service=after_service)
        command = self.cli.start("up", "--yes", "--skip-preview")
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not self.proxy.held.wait(0.05) and command.poll() is None and time.monotonic() < deadline:
            pass
        killed = self.proxy.held.is_set() and command.poll() is None
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
        output, _ = command.communicate(timeout=60)
        self.proxy.release()  # the held request is dropped unanswered, as a dead client would leave it
        return killed, output

    def locks(self) -> list[Path]:
        """The stack's lock files in the file backend."""
        return list((self.cli.state / ".pulumi" / "locks").glob(f"*/*/{self.stack}/*.json"))

    def recover(self, outcome: Outcome) -> subprocess.CompletedProcess[str]:
        """What the README says to do after a crash: `pulumi cancel` when locked, then `pulumi up`."""
        started = time.monotonic()
        outcome.locked = bool(self.locks())
        if outcome.locked:
            cancel = self.cli.run("cancel", "--yes", check=False, timeout=COMMAND_TIMEOUT)
            if cancel.returncode != 0 and "failed to load checkpoint" in cancel.stdout:
                # The engine died while the file backend rewrote a state file's sidecar: the README's
                # `python -m deploy unlock` removes the dead engine's lock and the torn file.
                outcome.torn = True
                subprocess.run([sys.executable, "-m", "deploy", "unlock", "--stack", self.stack], cwd=PROJECT_DIR,
                               env=self.cli.env, check=True, capture_output=True, timeout=60)
            elif cancel.returncode != 0:
                outcome.problems.append(f"`pulumi cancel` exited {cancel.returncode}:\n{cancel.stdout[-2000:]}")
        done = self.cli.run("up", "--yes", "--skip-preview", check=False, timeout=COMMAND_TIMEOUT)
        outcome.recovery_seconds = time.monotonic() - started
        if done.returncode != 0:
            outcome.problems.append(f"`pulumi up` after the kill exited {done.returncode}:\n{done.stdout[-3000:]}")
        kept = re.search(r"(\d+) of \d+ tasks were added by an earlier", done.stdout)
        outcome.kept_tasks = int(kept.group(1)) if kept else 0
        return done

    def converged(self, scenario: Scenario) -> list[str]:
        """What differs from a converged stack: tasks missing or twice, resources missing from the state,
        pending operations, changes left for `preview --expect-no-changes`."""
        problems = []
        ids = [str(t["id"]) for t in self.client().list_tasks(scenario.job_id, select="id")]
        if len(ids) != len(set(ids)) or sorted(ids) != sorted(scenario.task_ids):
            problems.append(f"job {scenario.job_id} holds {len(ids)} tasks ({len(set(ids))} distinct), "
                            f"want {len(scenario.task_ids)}")
        names = {r["urn"].rsplit("::", 1)[-1] for r in self.deployment().get("resources", [])
                 if r["type"].startswith("pulumi-python:dynamic")}
        if names != scenario.resources:
            problems.append(f"state holds {sorted(names)}, want {sorted(scenario.resources)}")
        preview = self.cli.run("preview", "--expect-no-changes", check=False, timeout=COMMAND_TIMEOUT)
        if preview.returncode != 0:
            problems.append(f"`pulumi preview --expect-no-changes` exited {preview.returncode}:\n"
                            f"{preview.stdout[-3000:]}")
        return problems

    def deployment(self) -> dict[str, Any]:
        """The stack's state (`pulumi stack export`)."""
        return dict(json.loads(self.cli.run("stack", "export").stdout)["deployment"])

    def clear_pending_creates(self) -> list[str]:
        """The engine keeps the killed run's pending creates (and warns of them) until a refresh drops them;
        the objects are in the state by now. What is wrong after `pulumi refresh --clear-pending-creates`."""
        done = self.cli.run("refresh", "--clear-pending-creates", "--yes", "--skip-preview", check=False,
                            timeout=COMMAND_TIMEOUT)
        if done.returncode != 0:
            return [f"`pulumi refresh --clear-pending-creates` exited {done.returncode}:\n{done.stdout[-2000:]}"]
        pending = self.deployment().get("pending_operations") or []
        return [f"pending operations left: {[p['resource']['urn'] for p in pending]}"] if pending else []

    def client(self) -> BatchClient:
        """A client straight to the service (not through the proxy)."""
        return BatchClient(resolve_settings({"batch:endpoint": self.service.endpoint,
                                             "batch:accountName": self.service.account_name,
                                             "batch:accountKey": self.service.account_key}))


def nth(wanted: int, method: str = "", fragment: str = "") -> Rule:
    """The `wanted`-th request (from 1, counted from when the rule is armed) whose method is `method` and whose
    path contains `fragment` (empty: any)."""
    seen = itertools.count(1)
    return lambda _n, m, path: m == (method or m) and fragment in path and next(seen) == wanted


def kill_and_repair(point: str, root: Path, service: RunningService, proxy: HoldingProxy,
                    scenario: Scenario, rule: Rule, *, after_service: bool,
                    before: Callable[[CrashStack], None] | None = None) -> Outcome:
    """Declare `scenario`, (run `before`), kill `up` at `rule`, repair, and check convergence."""
    stack = CrashStack(root, service, proxy)
    stack.declare(scenario)
    if before is not None:
        before(stack)
    outcome = Outcome(point)
    outcome.killed, output = stack.up_killed_at(rule, after_service=after_service)
    outcome.held = proxy.held_request
    if not outcome.killed:
        outcome.problems.append(f"`pulumi up` ended before the kill point:\n{output[-2000:]}")
        return outcome
    outcome.leftovers = stack.cli.leftovers(30.0)
    if stack.recover(outcome).returncode == 0:
        outcome.pending = len(stack.deployment().get("pending_operations") or [])
        outcome.problems += stack.converged(scenario)
        outcome.problems += stack.clear_pending_creates()
    return outcome


def run_point(point: str, root: Path, service: RunningService, proxy: HoldingProxy) -> Outcome:
    """One named kill point (see the module's docstring)."""
    if point == "job-create":
        return kill_and_repair(point, root, service, proxy, Scenario("crash-create", 1000),
                               nth(1, "POST", "/jobs?"), after_service=True)
    if point == "chunks":
        return kill_and_repair(point, root, service, proxy, Scenario("crash-chunks", 20000),
                               nth(30, "POST", "/addtaskcollection"), after_service=False)
    if point == "wait":
        return kill_and_repair(point, root, service, proxy, Scenario("crash-wait", 1000, wait=True),
                               nth(1, "GET", "executionInfo"), after_service=True)
    if point == "replace":
        def replaced(stack: CrashStack) -> None:
            stack.cli.run("up", "--yes", "--skip-preview", timeout=COMMAND_TIMEOUT)
            stack.cli.run("config", "set", "displayName", "crash test, replaced")  # displayName replaces

        return kill_and_repair(point, root, service, proxy, Scenario("crash-replace", 1000),
                               nth(1, "POST", "/jobs?"), after_service=False, before=replaced)
    raise ValueError(f"unknown kill point {point!r}; choose from {', '.join(NAMED_POINTS)}")


def run_seed(seed: int, root: Path, service: RunningService, proxy: HoldingProxy) -> Outcome:
    """Kill at a random request (and randomly before or after the service acted on it) of a fuller program."""
    rng = random.Random(seed)
    wanted, after_service = rng.randint(1, RANDOM_REQUESTS), rng.random() < 0.5
    point = f"seed {seed} (request {wanted}, {'after' if after_service else 'before'} the service)"
    scenario = Scenario(f"crash-seed-{seed}", 1000, wait=True, extras=True)
    return kill_and_repair(point, root, service, proxy, scenario, nth(wanted),
                           after_service=after_service)


@contextmanager
def proxied_service(root: Path, runner: str) -> Iterator[tuple[RunningService, HoldingProxy]]:
    """A fresh local service (`runner`: none or instant) with a holding proxy in front of it."""
    with ExitStack() as stack:
        service = stack.enter_context(start_service(root / "service", "--runner", runner, "--delete-delay", "0.3"))
        yield service, stack.enter_context(holding_proxy(service.endpoint))


Run = Callable[[Path, RunningService, HoldingProxy], Outcome]


def _named(point: str) -> Run:
    return lambda root, service, proxy: run_point(point, root, service, proxy)


def _seeded(seed: int) -> Run:
    return lambda root, service, proxy: run_seed(seed, root, service, proxy)


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> int:
    """Run the named points and the seeds, one fresh service each; print one line per run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--points", default=",".join(NAMED_POINTS))
    parser.add_argument("--seeds", default="1-10", help="a seed or a range, e.g. 1-10 (empty: none)")
    args = parser.parse_args()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="crash-suite-") as tmp:
        runs = [(point, _named(point)) for point in filter(None, args.points.split(","))]
        runs += [(f"seed-{seed}", _seeded(seed)) for seed in (_seeds(args.seeds) if args.seeds else [])]
        for name, run in runs:
            root = Path(tmp) / name
            with proxied_service(root, RUNNERS.get(name, SEED_RUNNER)) as (service, proxy):
                outcome = run(root, service, proxy)
            print(outcome.line(), flush=True)
            outcomes.append(outcome)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
