"""Benchmark of the local Batch service (not a test): create/get latency under concurrency, bulk task adds.

    .venv/bin/python benchmarks/bench_service.py [--clients 50] [--requests 2000] [--tasks 10000]

Starts its own service on a free loopback port with a throw-away data directory, prints p50/p99 latency of
job create and job get with --clients concurrent httpx clients, and the time to add --tasks tasks through
add-task-collection requests of 100; then stops the service. Every phase is bounded by --timeout seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from tests.support.service import start_service
from tests.support.sharedkey import SharedKeyAuth

API = {"api-version": "2025-06-01"}
BODY_TYPE = {"Content-Type": "application/json; odata=minimalmetadata"}


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at `fraction` of the sorted list (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def timed_calls(count: int, clients: list[httpx.AsyncClient],
                      call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
                      expected: int) -> list[float]:
    """Run `call(client, i)` for i in range(count), each client its own worker; return each latency."""
    latencies: list[float] = []
    indexes = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for index in indexes:
            started = time.perf_counter()
            response = await call(client, index)
            latencies.append(time.perf_counter() - started)
            if response.status_code != expected:
                raise RuntimeError(f"unexpected {response.status_code}: {response.text[:300]}")

    await asyncio.gather(*(worker(client) for client in clients))
    return latencies


def report(name: str, latencies: list[float], elapsed: float) -> dict[str, float]:
    """Print and return one latency line."""
    result = {"p50_ms": round(percentile(latencies, 0.50), 2), "p99_ms": round(percentile(latencies, 0.99), 2),
              "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
              "requests_per_s": round(len(latencies) / elapsed, 1)}
    print(f"{name:<28} n={len(latencies):<6} p50={result['p50_ms']:>7.2f} ms  p99={result['p99_ms']:>7.2f} ms  "
          f"{result['requests_per_s']:>8.1f} req/s", flush=True)
    return result


async def bench(info: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    """All phases against one running service; each simulated client has its own connection."""
    auth = SharedKeyAuth(info["accountName"], info["accountKey"])
    clients = [httpx.AsyncClient(base_url=info["endpoint"], auth=auth, params=API, timeout=30.0)
               for _ in range(args.clients)]
    results: dict[str, object] = {"clients": args.clients}
    try:
        def create(client: httpx.AsyncClient, index: int) -> Awaitable[httpx.Response]:
            return client.post("/jobs", json={"id": f"bench-{index}", "poolInfo": {"poolId": "local"}},
                               headers=BODY_TYPE)

        def get(client: httpx.AsyncClient, index: int) -> Awaitable[httpx.Response]:
            return client.get(f"/jobs/bench-{index}")

        for name, call, expected in (("create job", create, 201), ("get job", get, 200)):
            started = time.perf_counter()
            latencies = await asyncio.wait_for(timed_calls(args.requests, clients, call, expected), args.timeout)
            results[name] = report(name, latencies, time.perf_counter() - started)
        results["add tasks"] = await add_tasks(clients[:10], args)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return results


async def add_tasks(clients: list[httpx.AsyncClient], args: argparse.Namespace) -> dict[str, float]:
    """Add args.tasks tasks to one job through add-collection requests of 100, one per client at a time."""
    await clients[0].post("/jobs", json={"id": "bench-tasks", "poolInfo": {"poolId": "local"}}, headers=BODY_TYPE)
    chunks = [[{"id": f"task-{index}", "commandLine": "/bin/true"}
               for index in range(start, min(start + 100, args.tasks))] for start in range(0, args.tasks, 100)]

    def add(client: httpx.AsyncClient, index: int) -> Awaitable[httpx.Response]:
        return client.post("/jobs/bench-tasks/addtaskcollection", json={"value": chunks[index]}, headers=BODY_TYPE)

    started = time.perf_counter()
    await asyncio.wait_for(timed_calls(len(chunks), clients, add, 200), args.timeout)
    elapsed = time.perf_counter() - started
    counts = (await clients[0].get("/jobs/bench-tasks/taskcounts")).json()["taskCounts"]
    stored = counts["active"] + counts["running"] + counts["completed"]
    if stored != args.tasks:
        raise RuntimeError(f"expected {args.tasks} tasks, found {stored}")
    print(f"{'add ' + str(args.tasks) + ' tasks':<28} {elapsed:.2f} s ({args.tasks / elapsed:.0f} tasks/s, "
          f"{len(chunks)} add-collection requests, {len(clients)} at a time)", flush=True)
    return {"seconds": round(elapsed, 3), "tasks_per_s": round(args.tasks / elapsed, 1)}


def main() -> int:
    """Parse arguments, run every phase, print a JSON summary last."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--requests", type=int, default=2000, help="creates, then as many gets (default 2000)")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks to add by collections (default 10000)")
    parser.add_argument("--runner", choices=("none", "instant", "process"), default="none",
                        help="the service's --runner; none measures the API alone (default none)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per phase (default 120)")
    args = parser.parse_args()
    with (tempfile.TemporaryDirectory(prefix="bench-service-") as data_dir,
          start_service(Path(data_dir), "--runner", args.runner) as service):
        info = {"endpoint": service.endpoint, "accountName": service.account_name,
                "accountKey": service.account_key}
        print(f"service {info['endpoint']}, runner {args.runner}, {args.clients} clients", flush=True)
        results = asyncio.run(bench(info, args))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
