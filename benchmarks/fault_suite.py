"""Fault suite: `pulumi up` converges under injected faults, leaving no duplicate and no orphan.

    .venv/bin/python benchmarks/fault_suite.py [--seeds 20] [--first-seed 1] [--rate 0.2] [--tasks 150]

For each seed: a fresh local service; fault injection on (a seeded mix of 503 and 429 with Retry-After, dropped
connections and writes committed but their response lost); `pulumi up` of 2 jobs, 3 BatchTask and one
BatchTaskCollection; one more `up` allowed if the first fails (faults still on). Then faults off, and the live
service must equal the desired state (every job and task there, no duplicate, no orphan), a plain second `up`
must change nothing and `preview --expect-no-changes` must pass. "extra requests" is the API requests the
faulted run needed beyond the same `up` without faults (measured first): the retries and re-reads the faults
cost. Each seed runs in its own process under a timeout.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import httpx
from pulumi import automation as auto

from providers import BatchJob, BatchTask, BatchTaskCollection
from providers.client import BatchClient
from providers.client.settings import resolve_settings
from tests.support.service import RunningService, start_service
from tests.support.stacks import StackRun, new_stack

KINDS = ["503", "429", "drop", "lost"]
# The service takes Retry-After in whole seconds (batch_service/faults.py); 0 keeps the suite fast while the
# header is still sent and honoured.
RETRY_AFTER = 0
SEED_TIMEOUT = 150.0


def desired_state(tasks: int) -> dict[str, set[str]]:
    """Job id → the task ids the program declares in it."""
    return {"fault-a": {"single-1", "single-2"},
            "fault-b": {"single-3", *(f"sweep-{i:03d}" for i in range(tasks))}}


def fault_program(tasks: int) -> Callable[[], None]:
    """2 jobs, 3 BatchTask and one BatchTaskCollection of `tasks` tasks."""
    def program() -> None:
        job_a = BatchJob("job-a", spec={"id": "fault-a", "poolInfo": {"poolId": "local"}, "priority": 1,
                                        "metadata": [{"name": "suite", "value": "faults"}]})
        job_b = BatchJob("job-b", spec={"id": "fault-b", "poolInfo": {"poolId": "local"},
                                        "constraints": {"maxTaskRetryCount": 1}})
        for name, job in (("single-1", job_a), ("single-2", job_a), ("single-3", job_b)):
            BatchTask(name, job=job, spec={"id": name, "commandLine": f"/bin/echo {name}"})
        BatchTaskCollection("sweep", job=job_b, tasks=[
            {"id": f"sweep-{i:03d}", "commandLine": f"/bin/echo {i}"} for i in range(tasks)])
    return program


def set_faults(service: RunningService, config: dict[str, Any]) -> None:
    """PUT /_local/faults."""
    httpx.put(f"{service.endpoint}/_local/faults", json=config, timeout=10).raise_for_status()


def stats(service: RunningService) -> dict[str, Any]:
    """GET /_local/stats: API requests received and faults injected by kind."""
    return httpx.get(f"{service.endpoint}/_local/stats", timeout=10).json()


def live_problems(service: RunningService, desired: dict[str, set[str]]) -> list[str]:
    """Differences between the live service and the desired state (missing, duplicate, orphan)."""
    problems: list[str] = []
    with BatchClient(resolve_settings({}, service.env())) as client:
        jobs = [j for j in client.list_jobs() if j.get("state") != "deleting"]
        job_ids = [j["id"] for j in jobs]
        if sorted(job_ids) != sorted(desired):
            problems.append(f"jobs {sorted(job_ids)} != desired {sorted(desired)}")
        for job_id, wanted in desired.items():
            ids = [t["id"] for t in client.list_tasks(job_id)] if job_id in job_ids else []
            lowered = [i.lower() for i in ids]
            if len(lowered) != len(set(lowered)):
                problems.append(f"job {job_id}: duplicate task ids")
            missing, orphans = wanted - set(ids), set(ids) - wanted
            if missing:
                problems.append(f"job {job_id}: {len(missing)} task(s) missing, e.g. {sorted(missing)[:3]}")
            if orphans:
                problems.append(f"job {job_id}: {len(orphans)} orphan task(s), e.g. {sorted(orphans)[:3]}")
    return problems


@dataclass
class SeedResult:
    """One row of the fault table."""

    seed: int
    faults: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    ups: int = 0
    outcome: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the run converged and the second up / preview were no-ops."""
        return self.outcome.startswith("converged")


def _last_error_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if "error" in line.lower() and line.strip()]
    return (lines[-1] if lines else str(error).strip().splitlines()[-1])[:160]


def _up_under_faults(run: StackRun, program: Callable[[], None], result: SeedResult) -> str | None:
    """`up` with faults on, once more if it fails; None when an up succeeded, else the error line."""
    error_line = None
    for _ in range(2):
        result.ups += 1
        try:
            run.up(program)
            return None
        except auto.errors.CommandError as error:
            error_line = _last_error_line(error)
    return error_line


def run_seed(seed: int, work: Path, rate: float, tasks: int) -> SeedResult:
    """One seed on a fresh service: up under faults, then check convergence and no-op second up/preview."""
    started = time.monotonic()
    result = SeedResult(seed)
    program = fault_program(tasks)
    with start_service(work / "svc", "--runner", "instant", "--delete-delay", "0.3") as service:
        run = new_stack(work, service, program)
        set_faults(service, {"seed": seed, "rate": rate, "kinds": KINDS, "retryAfter": RETRY_AFTER})
        failure = _up_under_faults(run, program, result)
        set_faults(service, {"seed": seed, "rate": 0.0, "kinds": []})
        counted = stats(service)
        result.requests = counted["requests"]
        result.faults = {k: v for k, v in counted["faults"].items() if v}
        retried = " after a retry up" if result.ups > 1 else ""
        if failure is not None:
            result.outcome = f"FAILED twice under faults: {failure}"
        else:
            result.outcome = _converged(run, program, service, tasks, retried)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _converged(run: StackRun, program: Callable[[], None], service: RunningService, tasks: int,
               retried: str) -> str:
    problems = live_problems(service, desired_state(tasks))
    if problems:
        return "NOT CONVERGED: " + "; ".join(problems)
    second = run.up(program).summary.resource_changes or {}
    if set(second) - {"same"}:
        return f"NOT A NO-OP: second up changed {second}"
    try:
        run.preview(program, expect_no_changes=True)
    except auto.errors.CommandError as error:
        return f"NOT A NO-OP: preview shows changes ({_last_error_line(error)})"
    problems = live_problems(service, desired_state(tasks))
    if problems:
        return "CHANGED BY SECOND UP: " + "; ".join(problems)
    return f"converged{retried}; 2nd up + preview no-op"


def baseline_requests(work: Path, tasks: int) -> int:
    """API requests of the same `up` with no fault at all."""
    program = fault_program(tasks)
    with start_service(work / "svc", "--runner", "instant", "--delete-delay", "0.3") as service:
        new_stack(work, service, program).up(program)
        return int(stats(service)["requests"])


def _seed_in_subprocess(seed: int, work: Path, rate: float, tasks: int, timeout: float) -> SeedResult:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one-seed", str(seed), "--work", str(work),
           "--rate", str(rate), "--tasks", str(tasks)]
    try:
        done = subprocess.run(cmd, check=False, cwd=PROJECT_DIR, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return SeedResult(seed, outcome=f"TIMEOUT after {timeout:.0f} s", seconds=timeout)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            row = json.loads(line)
            return SeedResult(**row)
    return SeedResult(seed, outcome=f"CRASHED (exit {done.returncode}): {done.stderr.strip()[-200:]}")


def format_table(rows: list[SeedResult], baseline: int) -> str:
    """The fault table: seed, faults injected, extra requests over the fault-free baseline, outcome."""
    lines = [f"baseline (no faults): {baseline} API requests for the same up",
             f"{'seed':>4}  {'faults':>6}  {'by kind':<34}  {'requests':>8}  {'extra':>5}  {'ups':>3}  {'s':>5}  outcome"]
    for r in rows:
        kinds = " ".join(f"{k}:{v}" for k, v in sorted(r.faults.items())) or "-"
        lines.append(f"{r.seed:>4}  {sum(r.faults.values()):>6}  {kinds:<34}  {r.requests:>8}  "
                     f"{r.requests - baseline:>5}  {r.ups:>3}  {r.seconds:>5}  {r.outcome}")
    ok = sum(r.ok for r in rows)
    lines.append(f"{ok}/{len(rows)} seeds converged with a no-op second up")
    return "\n".join(lines)


def main() -> int:
    """Run the suite (or one seed, as the worker of the suite) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--tasks", type=int, default=150)
    parser.add_argument("--seed-timeout", type=float, default=SEED_TIMEOUT)
    parser.add_argument("--one-seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_seed is not None:
        print(json.dumps(asdict(run_seed(args.one_seed, args.work, args.rate, args.tasks))))
        return 0
    with tempfile.TemporaryDirectory(prefix="fault-suite-") as tmp:
        baseline = baseline_requests(Path(tmp) / "baseline", args.tasks)
        rows = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = _seed_in_subprocess(seed, Path(tmp) / f"seed-{seed}", args.rate, args.tasks, args.seed_timeout)
            print(f"seed {seed}: {row.outcome} ({row.seconds} s)", file=sys.stderr, flush=True)
            rows.append(row)
    print(format_table(rows, baseline))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
