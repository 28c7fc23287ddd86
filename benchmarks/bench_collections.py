"""Benchmarks for many tasks (issue 6), each next to its baseline in the same run, same local service.

    .venv/bin/python benchmarks/bench_collections.py [--tasks 10000] [--resources 200]

(a) `pulumi up` of a --tasks task BatchTaskCollection vs the official azure-batch SDK's `create_tasks` of the
    same tasks (target: ≥ 1.0× the SDK's throughput);
(b) a no-op `pulumi preview` of 1 job + --resources BatchTask resources minus a no-op preview of an empty
    program, per resource (target: ≤ 10 ms);
(c) peak memory (VmHWM) of the dynamic-provider process while it reconciles the --tasks collection (target:
    ≤ 200 MB).
The service runs with `--runner none` so tasks are stored, not run: this measures the control plane.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import pulumi  # noqa: E402

from providers import BatchJob, BatchTask, BatchTaskCollection, ParametricSweep  # noqa: E402
from tests.support.service import RunningService, start_service  # noqa: E402
from tests.support.stacks import StackRun, new_stack  # noqa: E402


def sweep(count: int) -> list[dict[str, Any]]:
    """`count` small tasks with zero-padded ids."""
    return ParametricSweep({"id": "t{i:05d}", "commandLine": "/bin/echo {i}"}, {"i": range(count)}).expand()


class PeakMemory:
    """Samples VmHWM of every `python -m pulumi.dynamic` process until stopped; keeps the largest (kB)."""

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
        # whose command line does not even mention pulumi is not read again (the provider process is forked
        # from `pulumi-resource-pulumi-python`, so before its exec it already mentions pulumi).
        others: set[str] = set()
        while not self._stop.wait(0.05):
            for proc in Path("/proc").iterdir():
                if proc.name in others or not proc.name.isdigit():
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                    if b"pulumi" not in cmdline:
                        others.add(proc.name)
                    if b"pulumi.dynamic" not in cmdline:
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


def bench_sdk(service: RunningService, tasks: list[dict[str, Any]]) -> float:
    """Seconds for the official SDK to add the tasks to a fresh job."""
    from azure.batch import BatchClient
    from azure.batch.models import BatchJobCreateOptions, BatchPoolInfo, BatchTaskCreateOptions
    from azure.core.credentials import AzureNamedKeyCredential

    client = BatchClient(service.endpoint, AzureNamedKeyCredential(service.account_name, service.account_key))
    client.create_job(BatchJobCreateOptions(id="bench-sdk", pool_info=BatchPoolInfo(pool_id="local")))
    bodies = [BatchTaskCreateOptions(id=t["id"], command_line=t["commandLine"]) for t in tasks]
    seconds = timed(lambda: client.create_tasks("bench-sdk", bodies))
    client.close()
    return seconds


def bench_collection(tmp: Path, service: RunningService,
                     tasks: list[dict[str, Any]]) -> tuple[float, float, int, StackRun]:
    """Seconds of `pulumi up` (job + collection), of the collection's create step, and peak memory (kB)."""
    def program() -> None:
        job = BatchJob("job", spec={"id": "bench-collection", "poolInfo": {"poolId": "local"}})
        BatchTaskCollection("sweep", job=job, tasks=tasks)

    run = new_stack(tmp / "collection", service, program)
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
    return seconds, step, memory.peak_kb, run


def bench_floor(tmp: Path, service: RunningService, resources: int) -> float:
    """Seconds of a no-op preview of `resources` trivial dynamic resources (local files): the SDK/engine floor."""
    from deploy.selftest import LocalFile

    def program() -> None:
        for n in range(resources):
            LocalFile(f"file-{n}", path=str(tmp / f"floor-{n}.txt"), content="x")

    run = new_stack(tmp / "floor", service, program, extra_env={"PULUMI_SKIP_CHECKPOINTS": "true"})
    run.up()
    seconds = min(timed(lambda: run.preview(expect_no_changes=True)) for _ in range(2))
    run.stack.destroy(color="never")
    return seconds


def bench_preview(tmp: Path, service: RunningService, resources: int) -> tuple[float, float]:
    """Seconds of a no-op preview with 1 job + `resources` tasks, and of an empty program."""
    def program() -> None:
        job = BatchJob("job", spec={"id": "bench-preview", "poolInfo": {"poolId": "local"}})
        for n in range(resources):
            BatchTask(f"task-{n}", job=job, spec={"id": f"task-{n}", "commandLine": "/bin/true"})

    def empty() -> None:
        pulumi.export("nothing", 0)

    run = new_stack(tmp / "preview", service, program, extra_env={"PULUMI_SKIP_CHECKPOINTS": "true"})
    run.up()
    full = min(timed(lambda: run.preview(expect_no_changes=True)) for _ in range(2))
    run.stack.destroy(color="never")
    bare = new_stack(tmp / "empty", service, empty)
    bare.up()
    baseline = min(timed(lambda: bare.preview(expect_no_changes=True)) for _ in range(2))
    return full, baseline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--resources", type=int, default=200)
    args = parser.parse_args()
    tasks = sweep(args.tasks)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        with start_service(tmp / "svc", "--runner", "none") as service:
            sdk_s = bench_sdk(service, tasks)
            up_s, step_s, peak_kb, run = bench_collection(tmp, service, tasks)
            full_s, empty_s = bench_preview(tmp, service, args.resources)
            floor_s = bench_floor(tmp, service, args.resources)
            run.stack.destroy(color="never")
    per_resource_ms = (full_s - empty_s) / (args.resources + 1) * 1000
    print(f"(a) {args.tasks} tasks: azure-batch SDK create_tasks {sdk_s:.2f} s ({args.tasks / sdk_s:.0f} tasks/s); "
          f"pulumi up of a BatchTaskCollection {up_s:.2f} s ({args.tasks / up_s:.0f} tasks/s); "
          f"ratio {sdk_s / up_s:.2f}x the SDK's throughput (target >= 1.0); the collection's create step alone "
          f"{step_s:.2f} s ({args.tasks / step_s:.0f} tasks/s, {sdk_s / step_s:.2f}x)")
    print(f"(b) no-op preview: 1 job + {args.resources} BatchTask {full_s:.2f} s, empty program {empty_s:.2f} s; "
          f"{per_resource_ms:.1f} ms per resource (target <= 10); a trivial dynamic provider (no I/O) costs "
          f"{(floor_s - empty_s) / args.resources * 1000:.1f} ms per resource in the same run (the SDK/engine floor)")
    print(f"(c) peak memory of the provider process reconciling {args.tasks} tasks: {peak_kb / 1024:.0f} MB "
          f"(target <= 200)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
