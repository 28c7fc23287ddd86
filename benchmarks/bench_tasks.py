"""How fast the local service runs trivial tasks, next to a bare asyncio loop spawning the same processes.

Both halves run in one invocation with the same concurrency (the service's --max-slots), so the ratio is
measured on the same machine in the same minute; each half runs --rounds times, interleaved, and the best
round counts (other work on a shared machine only ever slows a round down). Not a test: it prints numbers
and exits 0 (1 on timeout).

    .venv/bin/python benchmarks/bench_tasks.py [--tasks 2000] [--slots 8] [--rounds 5] [--timeout 300]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from batch_service.backend.ids import TICKS_PER_SECOND, ticks_from_iso, ticks_from_unix
from providers.client.auth import SharedKeyAuth
from tests.support.service import start_service

COMMAND = "/bin/true"
TARGET_RATIO = 0.5


async def bare_loop(count: int, concurrency: int) -> float:
    """Seconds to spawn and reap `count` processes, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            process = await asyncio.create_subprocess_exec(COMMAND, stdout=asyncio.subprocess.DEVNULL,
                                                           stderr=asyncio.subprocess.DEVNULL)
            await process.wait()

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - began


def last_end_time(client: httpx.Client, job_id: str) -> float:
    """The latest `executionInfo.endTime` of the job's tasks, as Unix seconds (when the service reaped the last
    process: the moment the bare loop's last `wait` returns, on the same clock)."""
    latest, url, params = 0.0, f"/jobs/{job_id}/tasks", {"$select": "id,executionInfo"}
    while url:
        page = client.get(url, params=params).raise_for_status().json()
        for task in page["value"]:
            ticks = ticks_from_iso(task["executionInfo"]["endTime"])
            latest = max(latest, (ticks - ticks_from_unix(0)) / TICKS_PER_SECOND)
        # httpx replaces a URL's query with the client's params: carry the link's own query over as params.
        link = urlsplit(page.get("odata.nextLink", ""))
        url, params = link.path, dict(parse_qsl(link.query))
    return latest


def through_service(data_dir: Path, count: int, slots: int, timeout: float) -> float:
    """Seconds from the first add-collection call until the last task's process ended, over the REST API.

    The end is the tasks' own endTime, not the moment a poll saw them all completed: a poll every 0.25 s
    would add up to that much to each round."""
    with start_service(data_dir, "--runner", "process", "--max-slots", str(slots)) as service, \
            httpx.Client(base_url=service.endpoint, timeout=30, params={"api-version": "2025-06-01"},
                         auth=SharedKeyAuth(service.account_name, service.account_key)) as client:
        client.post("/jobs", json={"id": "bench", "poolInfo": {"poolId": "local"}}).raise_for_status()
        tasks = [{"id": f"t{n:05d}", "commandLine": COMMAND} for n in range(count)]
        began, began_wall = time.perf_counter(), time.time()
        for start in range(0, count, 100):
            client.post("/jobs/bench/addtaskcollection", json={"value": tasks[start:start + 100]}).raise_for_status()
        while True:
            counts = client.get("/jobs/bench/taskcounts").raise_for_status().json()["taskCounts"]
            if counts["completed"] >= count:
                break
            if time.perf_counter() > began + timeout:
                raise TimeoutError(f"only {counts['completed']} of {count} tasks completed in {timeout}s")
            time.sleep(0.25)  # each count walks every task of the job
        if counts["failed"]:
            raise RuntimeError(f"{counts['failed']} tasks failed")
        return last_end_time(client, "bench") - began_wall


def main() -> int:
    """Run both measurements and print them with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=8, help="concurrency of both halves (--max-slots)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each half; the best one counts")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up on a service round after this long")
    args = parser.parse_args()
    bare_times, service_times = [], []
    # Each round's service keeps its own data dir until the end: deleting thousands of task directories
    # between rounds would leave the file system busy with that work during the next round.
    with tempfile.TemporaryDirectory(prefix="bench-tasks-") as scratch:
        for round_number in range(max(1, args.rounds)):
            bare_times.append(asyncio.run(bare_loop(args.tasks, args.slots)))
            try:
                service_times.append(through_service(Path(scratch) / f"svc{round_number}", args.tasks, args.slots,
                                                     args.timeout))
            except TimeoutError as error:
                print(f"service: {error}")
                return 1
    print("rounds (s): bare " + " ".join(f"{t:.2f}" for t in bare_times)
          + " | service " + " ".join(f"{t:.2f}" for t in service_times))
    bare, service = min(bare_times), min(service_times)
    bare_rate, service_rate = args.tasks / bare, args.tasks / service
    ratio = service_rate / bare_rate
    print(f"{args.tasks} x {COMMAND}, concurrency {args.slots}")
    print(f"bare asyncio loop : {bare:7.2f} s  {bare_rate:8.1f} tasks/s")
    print(f"local service     : {service:7.2f} s  {service_rate:8.1f} tasks/s")
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"ratio             : {ratio:7.2f}  ({verdict} the {TARGET_RATIO} target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
