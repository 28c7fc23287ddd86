"""Speed on the user's two paths, each next to its baseline in the same run, against the same local service.

    .venv/bin/python benchmarks/bench_collections.py [--tasks 10000,50000] [--resources 200] [--rounds 7]
                                                     [--up-rounds 3] [--preview-rounds 3]

A project folder with a `__main__.py` is run as a user runs it: (cli) the bare `pulumi` CLI with the toolchain on
PATH, and (auto) a plain Automation API program with that folder as its work dir (`auto.create_or_select_stack`,
no wrapper). Both run the program through the toolchain's language host.

P1: `pulumi up` of a BatchTaskCollection of each --tasks size (`pulumi up --yes --skip-preview`; `stack.up()`)
    vs the official azure-batch SDK's `create_tasks` of the same tasks, sequential (its default) and with
    max_concurrency=8 (targets: >= 1.0x the threaded SDK at 10,000, >= 1.5x at 50,000). For (auto), the time
    `stack.up()` takes is printed, and apart from it the `up` command's own share: the Automation API runs
    three more engine commands after every `up` (`stack output` twice, `stack history`) to fill in its result.
    The fixed cost of a command is broken down from the same run: the engine alone (`pulumi version`), a
    no-op preview and an `up` of an empty program (language host, program, state), and an `up` of a one-task
    collection (provider host, one resource).
P3: a no-op `pulumi preview --expect-no-changes` of each size's collection (target: <= 2 s at 50,000), next
    to the floor under it: the SDK listing the job's tasks, whole and with the provider's `$select`.
P2: a no-op preview of 1 job + --resources BatchTask resources minus a no-op preview of an empty program, per
    resource (target: <= 10 ms).
Memory: peak VmHWM of the dynamic-provider process while it reconciles the --tasks collection (<= 200 MB).

The service runs with `--runner none` so tasks are stored, not run: this measures the control plane. Each
figure is the best of several rounds that alternate between the measured command and its baseline, each going
first in every other round (this machine's load comes and goes by the second); every round is printed, and so
is the ratio of the medians. P2 runs first, before P1 fills the service with tens of thousands of tasks.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any, Self

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from pulumi import automation as auto

from deploy.environment import TOOLCHAIN_DIR
from tests.support.cli import Cli, write_project
from tests.support.service import RunningService, start_service

PROGRAM = """
import pulumi
from providers import BatchJob, BatchTask, BatchTaskCollection, ParametricSweep

config = pulumi.Config()
shape = config.require("shape")
if shape == "collection":
    job = BatchJob("job", spec={"id": config.require("jobId"), "poolInfo": {"poolId": "local"}})
    BatchTaskCollection("sweep", job=job, factory=ParametricSweep(
        {"id": "t{i:05d}", "commandLine": "/bin/echo {i}"}, {"i": range(config.require_int("tasks"))}))
elif shape == "tasks":
    job = BatchJob("job", spec={"id": config.require("jobId"), "poolInfo": {"poolId": "local"}})
    for n in range(config.require_int("tasks")):
        BatchTask(f"task-{n}", job=job, spec={"id": f"task-{n}", "commandLine": "/bin/true"})
else:
    pulumi.export("nothing", 0)
"""

# The provider process: the SDK's host, or the host the language host starts ahead of time.
HOST_MARKERS = (b"pulumi.dynamic", b"providers.warm_host")


class PeakMemory:
    """Samples VmHWM of every provider process until stopped; keeps the largest (kB)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # Cheap on purpose: a process whose command line names neither pulumi nor the pre-started host is not
        # read again (the SDK's host is forked from `pulumi-resource-pulumi-python`, so it mentions pulumi).
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


class Paths:
    """The project folder run through the CLI and, as its own copy, through a work-dir Automation API program."""

    def __init__(self, tmp: Path, service: RunningService) -> None:
        self.cli = Cli(write_project(tmp / "cli", PROGRAM, "bench"), tmp / "cli-state", service.env())
        self.auto = Cli(write_project(tmp / "auto", PROGRAM, "bench"), tmp / "auto-state", service.env())
        self.env = self.auto.activated_env()  # the program runs after `source toolchain/activate`

    def cli_stack(self, name: str, **config: str) -> None:
        """Select (creating) `name` in the CLI project and set its config."""
        self.cli.run("stack", "select", "--create", name)
        for key, value in config.items():
            self.cli.run("config", "set", key, value)

    def auto_stack(self, name: str, **config: str) -> auto.Stack:
        """A plain Automation API stack on the work dir, as a user's own program opens one."""
        stack = auto.create_or_select_stack(name, work_dir=str(self.auto.project), opts=auto.LocalWorkspaceOptions(
            env_vars=self.env, pulumi_home=self.env["PULUMI_HOME"],
            pulumi_command=auto.PulumiCommand(root=str(TOOLCHAIN_DIR))))
        stack.set_all_config({key: auto.ConfigValue(value) for key, value in config.items()})
        return stack


def sdk_client(service: RunningService) -> Any:
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential

    return BatchClient(service.endpoint, AzureNamedKeyCredential(service.account_name, service.account_key))


def sdk_create_tasks(service: RunningService, count: int, job_id: str, concurrency: int | None) -> float:
    """Seconds for the official SDK to add the tasks to a fresh job (`create_tasks`, its default concurrency
    when `concurrency` is None)."""
    from azure.batch.models import BatchJobCreateOptions, BatchPoolInfo, BatchTaskCreateOptions

    client = sdk_client(service)
    client.create_job(BatchJobCreateOptions(id=job_id, pool_info=BatchPoolInfo(pool_id="local")))
    bodies = [BatchTaskCreateOptions(id=f"t{i:05d}", command_line=f"/bin/echo {i}") for i in range(count)]
    options = {} if concurrency is None else {"max_concurrency": concurrency}
    seconds = timed(lambda: client.create_tasks(job_id, bodies, **options))
    client.close()
    return seconds


def cli_up(paths: Paths, count: int, job_id: str) -> float:
    """Seconds of `pulumi up --yes --skip-preview` of a job and a `count`-task collection."""
    paths.cli_stack(job_id, shape="collection", jobId=job_id, tasks=str(count))
    return timed(lambda: paths.cli.run("up", "--yes", "--skip-preview", timeout=900))


def auto_up(paths: Paths, count: int, job_id: str) -> tuple[float, float]:
    """Seconds of `stack.up()` of the same, and of its `up` command alone (until the engine's summary event)."""
    stack = paths.auto_stack(job_id, shape="collection", jobId=job_id, tasks=str(count))
    start = time.perf_counter()
    summary_at: list[float] = []

    def on_event(event: Any) -> None:
        if event.summary_event is not None:
            summary_at.append(time.perf_counter())

    total = timed(lambda: stack.up(color="never", on_event=on_event))
    return total, summary_at[0] - start


def bench_up(paths: Paths, service: RunningService, count: int, rounds: int) -> dict[str, list[float]]:
    """P1 rounds: the SDK (sequential and 8 threads), the CLI and the Automation API in turn, rotating which
    goes first."""
    runs: dict[str, list[float]] = {"sdk": [], "sdk8": [], "cli": [], "auto": [], "auto-up-command": [],
                                    "peak-kb": []}

    def sdk(n: int) -> None:
        runs["sdk"].append(sdk_create_tasks(service, count, f"p1-sdk-{count}-{n}", None))

    def sdk8(n: int) -> None:
        runs["sdk8"].append(sdk_create_tasks(service, count, f"p1-sdk8-{count}-{n}", 8))

    def cli(n: int) -> None:
        with PeakMemory() as memory:
            runs["cli"].append(cli_up(paths, count, f"p1-cli-{count}-{n}"))
        runs["peak-kb"].append(memory.peak_kb)

    def automation(n: int) -> None:
        total, command = auto_up(paths, count, f"p1-auto-{count}-{n}")
        runs["auto"].append(total)
        runs["auto-up-command"].append(command)

    order = [sdk, sdk8, cli, automation]
    for n in range(rounds):
        for step in order[n % 4:] + order[:n % 4]:
            step(n)
    return runs


def bench_fixed_cost(paths: Paths, rounds: int) -> dict[str, list[float]]:
    """Where a command's fixed cost goes, each step adding one part: the engine starting alone, a no-op
    preview and an up of an empty program, an up of a one-task collection (a new job each round)."""
    seconds: dict[str, list[float]] = {"engine": [], "preview-empty": [], "up-empty": [], "up-one-task": []}
    paths.cli_stack("fixed-empty", shape="empty", jobId="unused", tasks="0")
    paths.cli.run("up", "--yes", "--skip-preview")
    for n in range(rounds):
        seconds["engine"].append(timed(lambda: paths.cli.run("version")))
        seconds["preview-empty"].append(timed(lambda: paths.cli.run(
            "preview", "--expect-no-changes", "--stack", "fixed-empty")))
        seconds["up-empty"].append(timed(lambda: paths.cli.run(
            "up", "--yes", "--skip-preview", "--stack", "fixed-empty")))
        seconds["up-one-task"].append(cli_up(paths, 1, f"fixed-one-{n}"))
    return seconds


def bench_noop_preview(paths: Paths, service: RunningService, count: int, rounds: int) -> dict[str, list[float]]:
    """P3 rounds: a no-op preview of the collection the first CLI round of P1 created, and under it the floor
    the service sets: the providers' own client listing the job's tasks whole and with the diff's $select (the
    azure-batch SDK builds a model per task and lists slower than either)."""
    from providers.client import BatchClient
    from providers.client.settings import resolve_settings
    from providers.live_tasks import LISTING_PAGE, compared_select

    stack = f"p1-cli-{count}-0"
    client = BatchClient(resolve_settings({}, service.env()))
    seconds: dict[str, list[float]] = {"preview": [], "list-all": [], "list-select": []}
    for _ in range(rounds):
        seconds["preview"].append(timed(lambda: paths.cli.run(
            "preview", "--expect-no-changes", "--stack", stack, timeout=900)))
        seconds["list-all"].append(timed(lambda: sum(1 for _ in client.list_tasks(
            stack, max_results=LISTING_PAGE))))
        seconds["list-select"].append(timed(lambda: sum(1 for _ in client.list_tasks(
            stack, select=compared_select(), max_results=LISTING_PAGE))))
    client.close()
    return seconds


def bench_preview(paths: Paths, resources: int, rounds: int) -> dict[str, list[float]]:
    """P2 rounds: no-op previews of 1 job + `resources` tasks and of an empty program, on both paths."""
    for name, shape in (("p2-tasks", "tasks"), ("p2-empty", "empty")):
        paths.cli_stack(name, shape=shape, jobId="p2-cli", tasks=str(resources))
        paths.cli.run("up", "--yes", "--skip-preview")
    stacks = {name: paths.auto_stack(name, shape=shape, jobId="p2-auto", tasks=str(resources))
              for name, shape in (("p2-tasks", "tasks"), ("p2-empty", "empty"))}
    for stack in stacks.values():
        stack.up(color="never")
    seconds: dict[str, list[float]] = {"cli-tasks": [], "cli-empty": [], "auto-tasks": [], "auto-empty": []}
    for _ in range(rounds):
        for name in ("p2-tasks", "p2-empty"):
            kind = name.removeprefix("p2-")
            seconds[f"cli-{kind}"].append(timed(lambda: paths.cli.run(
                "preview", "--expect-no-changes", "--stack", name)))  # noqa: B023
            seconds[f"auto-{kind}"].append(timed(lambda: stacks[name].preview(  # noqa: B023
                color="never", expect_no_changes=True)))
    return seconds


def listing(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def report_up(count: int, runs: dict[str, list[float]]) -> None:
    sdk, sdk8 = runs["sdk"], runs["sdk8"]
    target = 1.5 if count >= 50000 else 1.0
    print(f"P1 {count} tasks, {len(sdk)} rounds: azure-batch SDK create_tasks sequential best {min(sdk):.2f} s "
          f"(rounds {listing(sdk)}); max_concurrency=8 best {min(sdk8):.2f} s (rounds {listing(sdk8)})")
    for label, key in (("(cli) pulumi up --yes --skip-preview", "cli"), ("(auto) stack.up()", "auto"),
                       ("(auto) its up command alone", "auto-up-command")):
        values = runs[key]
        print(f"   {label}: best {min(values):.2f} s ({count / min(values):.0f} tasks/s; rounds {listing(values)}); "
              f"{min(sdk8) / min(values):.2f}x the 8-thread SDK (target >= {target}; medians "
              f"{median(sdk8) / median(values):.2f}x), {min(sdk) / min(values):.2f}x the sequential SDK")


def report_fixed_cost(seconds: dict[str, list[float]]) -> None:
    best = {key: min(values) for key, values in seconds.items()}
    print(f"fixed cost of a command, {len(seconds['engine'])} rounds (best; rounds in brackets):")
    print(f"   engine start, `pulumi version`: {best['engine']:.2f} s ({listing(seconds['engine'])})")
    print(f"   + language host, program, state read: no-op preview of an empty program {best['preview-empty']:.2f} s "
          f"({listing(seconds['preview-empty'])})")
    print(f"   + state write: up of an empty program {best['up-empty']:.2f} s ({listing(seconds['up-empty'])})")
    print(f"   + provider host, a job and a one-task collection: up {best['up-one-task']:.2f} s "
          f"({listing(seconds['up-one-task'])})")


def report_noop_preview(count: int, seconds: dict[str, list[float]]) -> None:
    preview, whole, select = seconds["preview"], seconds["list-all"], seconds["list-select"]
    print(f"P3 no-op preview of a {count}-task collection, {len(preview)} rounds: best {min(preview):.2f} s "
          f"(rounds {listing(preview)}; target <= 2.0 at 50000); the listing under it (the providers' client): "
          f"whole tasks best {min(whole):.2f} s ({listing(whole)}), with the provider's $select best "
          f"{min(select):.2f} s ({listing(select)})")


def report_preview(resources: int, seconds: dict[str, list[float]]) -> None:
    for path in ("cli", "auto"):
        tasks, empty = seconds[f"{path}-tasks"], seconds[f"{path}-empty"]
        best = (min(tasks) - min(empty)) / (resources + 1) * 1000
        middle = (median(tasks) - median(empty)) / (resources + 1) * 1000
        print(f"P2 ({path}) no-op preview, {len(tasks)} rounds: 1 job + {resources} BatchTask best {min(tasks):.2f} s "
              f"(rounds {listing(tasks)}), empty program best {min(empty):.2f} s (rounds {listing(empty)}): "
              f"{best:.1f} ms per resource (target <= 10; from the medians {middle:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="10000,50000", help="collection sizes, comma-separated")
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7, help="previews of each program for P2")
    parser.add_argument("--up-rounds", type=int, default=3, help="rounds of SDK / CLI / Automation API for P1")
    parser.add_argument("--preview-rounds", type=int, default=3, help="no-op previews of each collection (P3)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.tasks.split(",")]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        with start_service(tmp / "svc", "--runner", "none") as service:
            paths = Paths(tmp, service)
            previews = bench_preview(paths, args.resources, args.rounds)
            fixed = bench_fixed_cost(paths, args.rounds)
            ups = {size: bench_up(paths, service, size, args.up_rounds) for size in sizes}
            noops = {size: bench_noop_preview(paths, service, size, args.preview_rounds) for size in sizes}
    for size in sizes:
        report_up(size, ups[size])
    report_fixed_cost(fixed)
    for size in sizes:
        report_noop_preview(size, noops[size])
    report_preview(args.resources, previews)
    peak = max(kb for size in sizes for kb in ups[size]["peak-kb"])
    if peak == 0:
        print("memory: no provider process was seen while the collection was reconciled: nothing measured")
        return 1
    print(f"memory: peak of the provider process reconciling {max(sizes)} tasks (cli rounds): {peak / 1024:.0f} MB "
          f"(target <= 200)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
