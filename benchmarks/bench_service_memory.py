"""Benchmark of the local Batch service's memory (not a test): peak RSS with many queued tasks.

    .venv/bin/python benchmarks/bench_service_memory.py [--tasks 100000] [--runner none|process] [--concurrency 4]
                                                        [--restart]

Starts its own service on 127.0.0.1 with a throw-away data directory, adds --tasks tasks to one job through the
official SDK's `create_tasks` (chunks of 100), and prints the service's resident memory before and after and
its peak (VmHWM from /proc). With `--runner none` tasks stay queued; with `--runner process` the job's pool has
no node, so they stay queued too. With --restart the service is then stopped and started again on the same
data directory, and the resident memory after it has read the tasks back is printed as well. The goal is at
most 300 MB for 100,000 queued tasks.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from azure.batch import BatchClient, models
from azure.core.credentials import AzureNamedKeyCredential

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from tests.support.service import start_service

POOL = {"id": "empty", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 0,
        "virtualMachineConfiguration": {"imageReference": {"publisher": "canonical", "offer": "ubuntu",
                                                           "sku": "22_04-lts"},
                                        "nodeAgentSKUId": "batch.node.ubuntu 22.04"}}


def memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MB (10^6 bytes)."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0]) * 1024 / 1e6
    return figures


def main() -> int:
    """Add the tasks, print the memory figures and a JSON summary last."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks to add (default 100000)")
    parser.add_argument("--runner", choices=("none", "process"), default="none",
                        help="the service's --runner (default none)")
    parser.add_argument("--concurrency", type=int, default=4, help="create_tasks max_concurrency (default 4)")
    parser.add_argument("--restart", action="store_true", help="also measure after a restart on the same data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as data_dir:
        figures = add_and_measure(Path(data_dir), args)
        if args.restart:
            with start_service(Path(data_dir), "--runner", args.runner) as service:
                restarted = memory_mb(service.process.pid)
            figures["rss_after_restart_mb"] = round(restarted["VmRSS"], 1)
            figures["peak_rss_restart_mb"] = round(restarted["VmHWM"], 1)
            print(f"after a restart that read the {args.tasks} tasks back: RSS {restarted['VmRSS']:.1f} MB, "
                  f"peak {restarted['VmHWM']:.1f} MB")
    print(json.dumps(figures))
    return 0 if figures["failed"] == 0 and figures["active"] == args.tasks else 1


def add_and_measure(data_dir: Path, args: argparse.Namespace) -> dict[str, float]:
    """Start the service, add the tasks, print and return the figures."""
    with start_service(data_dir, "--runner", args.runner) as service:
        pid = service.process.pid
        client = BatchClient(service.endpoint, AzureNamedKeyCredential(service.account_name, service.account_key))
        client.create_pool(models.BatchPoolCreateOptions(POOL))
        client.create_job(models.BatchJobCreateOptions(id="queued", pool_info=models.BatchPoolInfo(pool_id="empty")))
        before = memory_mb(pid)
        tasks = [models.BatchTaskCreateOptions(id=f"task-{index:06d}", command_line="/bin/true")
                 for index in range(args.tasks)]
        started = time.perf_counter()
        result = client.create_tasks("queued", tasks, max_concurrency=args.concurrency)
        elapsed = time.perf_counter() - started
        failed = [item for item in result.result_values or [] if item.status != "success"]
        counts = client.get_job_task_counts("queued").task_counts
        after = memory_mb(pid)
        client.close()
    print(f"service runner {args.runner}: {args.tasks} tasks added in {elapsed:.1f} s "
          f"({len(failed)} failed), {counts.active} active")
    print(f"RSS before {before['VmRSS']:.1f} MB, after {after['VmRSS']:.1f} MB, peak {after['VmHWM']:.1f} MB")
    return {"tasks": args.tasks, "seconds": round(elapsed, 1), "failed": len(failed), "active": counts.active,
            "rss_before_mb": round(before["VmRSS"], 1), "rss_after_mb": round(after["VmRSS"], 1),
            "peak_rss_mb": round(after["VmHWM"], 1)}


if __name__ == "__main__":
    sys.exit(main())
