"""Benchmarks for many tasks (issue 6), each next to its baseline in the same run, same local service.

    .venv/bin/python benchmarks/bench_collections.py [--tasks 10000] [--resources 200] [--rounds 7] [--up-rounds 5]

(a) `pulumi up` of a --tasks task BatchTaskCollection vs the official azure-batch SDK's `create_tasks` of the
    same tasks (target: ≥ 1.0× the SDK's throughput);
(b) a no-op `pulumi preview` of 1 job + --resources BatchTask resources minus a no-op preview of an empty
    program, per resource (target: ≤ 10 ms);
(c) peak memory (VmHWM) of the dynamic-provider process while it reconciles the --tasks collection (target:
    ≤ 200 MB).
The service runs with `--runner none` so tasks are stored, not run: this measures the control plane.
Each figure is the best of several rounds that alternate between the measured command and its baseline, each
going first in every other round (this machine's load comes and goes by the second); every round is printed,
and so is the ratio of the medians.
(b) runs first, before (a) fills the service and this process with tens of thousands of tasks.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median
from typing import Any, Callable

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import pulumi  # noqa: E402

from providers import BatchJob, BatchTask, BatchTaskCollection, ParametricSweep  # noqa: E402
from tests.support.service import RunningService, start_service  # noqa: E402
from tests.support.stacks import new_stack  # noqa: E402


def sweep(count: int) -> list[dict[str, Any]]:
    """`count` small tasks with zero-padded ids."""
    return ParametricSweep({"id": "t{i:05d}", "commandLine": "/bin/echo {i}"}, {"i": range(count)}).expand()


# The provider process: the SDK's host, or the host deploy starts ahead of each command (deploy/warm_host.py).
HOST_MARKERS = (b"pulumi.dynamic", b"providers.warm_host")


class PeakMemory:
    """Samples VmHWM of every provider process until stopped; keeps the largest (kB)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # This thread shares the GIL with the program and the Automation API, so it must stay cheap: a process
        # whose command line names neither pulumi nor the pre-started host is not read again (the SDK's host is
        # forked from `pulumi-resource-pulumi-python`, so before its exec it already mentions pulumi).
        others: set[str] = set()
        while not self._stop.wait(0.05):
            for proc in Path("/proc").iterdir():
                if proc.name in others or not proc.name.isdigit():
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                    if b"pulumi" not in cmdline and b"warm_host" not in cmdline:
                        others.add(proc.name)
                    if not any(marker in cmdline for marker in HOST_MARKERS):
                        continue
                    for line in (proc / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except (OSError, ValueError):
                    continue


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_sdk(service: RunningService, tasks: list[dict[str, Any]], job_id: str) -> float:
    """Seconds for the official SDK to add the tasks to a fresh job."""
    from azure.batch import BatchClient
    from azure.batch.models import BatchJobCreateOptions, BatchPoolInfo, BatchTaskCreateOptions
    from azure.core.credentials import AzureNamedKeyCredential

    client = BatchClient(service.endpoint, AzureNamedKeyCredential(service.account_name, service.account_key))
    client.create_job(BatchJobCreateOptions(id=job_id, pool_info=BatchPoolInfo(pool_id="local")))
    bodies = [BatchTaskCreateOptions(id=t["id"], command_line=t["commandLine"]) for t in tasks]
    seconds = timed(lambda: client.create_tasks(job_id, bodies))
    client.close()
    return seconds


def bench_collection(tmp: Path, service: RunningService, tasks: list[dict[str, Any]],
                     job_id: str) -> tuple[float, float, int]:
    """Seconds of `pulumi up` (job + collection), of the collection's create step, and the peak memory (kB) of
    the provider process over that `up` and a no-op preview after it."""
    def program() -> None:
        job = BatchJob("job", spec={"id": job_id, "poolInfo": {"poolId": "local"}})
        BatchTaskCollection("sweep", job=job, tasks=tasks)

    run = new_stack(tmp, service, program)
    marks: dict[str, float] = {}

    def on_event(event: Any) -> None:
        # When the engine starts and finishes the collection's create step: the provider's own share.
        for kind in ("resource_pre_event", "res_outputs_event"):
            step = getattr(event, kind, None)
            if step is not None and step.metadata.type.endswith(":TaskCollection"):
                marks[kind] = time.perf_counter()

    with PeakMemory() as memory:
        seconds = timed(lambda: run.stack.up(color="never", on_event=on_event))
        run.preview(expect_no_changes=True)
    step = marks["res_outputs_event"] - marks["resource_pre_event"]
    return seconds, step, memory.peak_kb


def preview_programs(tmp: Path, resources: int) -> dict[str, Callable[[], None]]:
    """The three programs of (b): 1 job + `resources` tasks, an empty program, and `resources` trivial dynamic
    resources (local files, no I/O in diff): the SDK/engine floor shown next to the result."""
    from deploy.selftest import LocalFile

    def tasks() -> None:
        job = BatchJob("job", spec={"id": "bench-preview", "poolInfo": {"poolId": "local"}})
        for n in range(resources):
            BatchTask(f"task-{n}", job=job, spec={"id": f"task-{n}", "commandLine": "/bin/true"})

    def empty() -> None:
        pulumi.export("nothing", 0)

    def floor() -> None:
        for n in range(resources):
            LocalFile(f"file-{n}", path=str(tmp / f"floor-{n}.txt"), content="x")

    return {"tasks": tasks, "empty": empty, "floor": floor}


def bench_preview(tmp: Path, service: RunningService, resources: int, rounds: int) -> dict[str, list[float]]:
    """Seconds of each no-op preview of the three programs, `rounds` times, interleaved so that the machine's
    load at any moment weighs on all three alike."""
    runs = {}
    for name, program in preview_programs(tmp, resources).items():
        runs[name] = new_stack(tmp / name, service, program, extra_env={"PULUMI_SKIP_CHECKPOINTS": "true"})
        runs[name].up()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            seconds[name].append(timed(lambda: run.preview(expect_no_changes=True)))  # noqa: B023
    for run in runs.values():
        run.stack.destroy(color="never")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7, help="previews of each program for (b)")
    parser.add_argument("--up-rounds", type=int, default=5, help="SDK/collection pairs for (a) and (c)")
    args = parser.parse_args()
    tasks = sweep(args.tasks)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        with start_service(tmp / "svc", "--runner", "none") as service:
            # (b) first: on a service and a process not yet holding the tens of thousands of tasks of (a).
            previews = bench_preview(tmp / "preview", service, args.resources, args.rounds)
            sdk_runs, up_runs, step_runs, peaks = [], [], [], []
            for n in range(args.up_rounds):
                # Each goes first in every other round: neither always meets the service fuller or the machine
                # busier after the other.
                if n % 2 == 0:
                    sdk_runs.append(bench_sdk(service, tasks, f"bench-sdk-{n}"))
                up_s, step_s, peak_kb = bench_collection(tmp / f"collection-{n}", service, tasks,
                                                         f"bench-collection-{n}")
                if n % 2 == 1:
                    sdk_runs.append(bench_sdk(service, tasks, f"bench-sdk-{n}"))
                up_runs.append(up_s)
                step_runs.append(step_s)
                peaks.append(peak_kb)
    report_up(args.tasks, sdk_runs, up_runs, step_runs)
    report_preview(args.resources, previews)
    if max(peaks) == 0:
        print("(c) no provider process was seen while the collection was reconciled: nothing measured")
        return 1
    print(f"(c) peak memory of the provider process reconciling {args.tasks} tasks: {max(peaks) / 1024:.0f} MB "
          f"(largest of {len(peaks)}; target <= 200)")
    return 0


def listing(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def report_up(count: int, sdk_runs: list[float], up_runs: list[float], step_runs: list[float]) -> None:
    sdk_s, up_s, step_s = min(sdk_runs), min(up_runs), min(step_runs)
    print(f"(a) {count} tasks, best of {len(up_runs)} interleaved rounds: azure-batch SDK create_tasks {sdk_s:.2f} s "
          f"({count / sdk_s:.0f} tasks/s; rounds {listing(sdk_runs)}); pulumi up of a BatchTaskCollection "
          f"{up_s:.2f} s ({count / up_s:.0f} tasks/s; rounds {listing(up_runs)}); ratio {sdk_s / up_s:.2f}x the "
          f"SDK's throughput (target >= 1.0; median {median(sdk_runs) / median(up_runs):.2f}x); the collection's "
          f"create step alone {step_s:.2f} s ({count / step_s:.0f} tasks/s, {sdk_s / step_s:.2f}x; rounds {listing(step_runs)})")


def report_preview(resources: int, previews: dict[str, list[float]]) -> None:
    def per_resource(name: str, count: int, pick: Callable[[list[float]], float]) -> float:
        return (pick(previews[name]) - pick(previews["empty"])) / count * 1000

    tasks, empty = previews["tasks"], previews["empty"]
    print(f"(b) no-op preview, best of {len(tasks)} interleaved rounds: 1 job + {resources} BatchTask "
          f"{min(tasks):.2f} s (rounds {listing(tasks)}), empty program {min(empty):.2f} s (rounds {listing(empty)}); "
          f"{per_resource('tasks', resources + 1, min):.1f} ms per resource (target <= 10; from the medians "
          f"{per_resource('tasks', resources + 1, median):.1f}); a trivial dynamic provider (no I/O) costs "
          f"{per_resource('floor', resources, min):.1f} ms per resource in the same rounds (the SDK/engine floor)")


if __name__ == "__main__":
    sys.exit(main())
