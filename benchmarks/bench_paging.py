"""Raw list paging of the local Batch service (not a test): 100,000 tasks read as 100 pages of 1,000.

    .venv/bin/python benchmarks/bench_paging.py [--tasks 100000] [--rounds 3]

Starts its own service (`--runner none`, so tasks stay `active`), adds --tasks tasks through add-task-collection
requests of 100, then times GET /jobs/{id}/tasks page by page, following odata.nextLink, as raw JSON (no client
models; the client reads each body and takes its nextLink from the end of it; decoding the pages on the client
is timed apart and printed beside):
    all       every property of every task
    $select   `$select=id,state`
    $filter   `$filter=state eq 'active'` (every task matches, so it is the same 100 pages)
Baseline, in the same run: the time Python's own json module takes to encode the same 100 pages the service
sent, i.e. the cost of only the encoding step of a page, without HTTP or the store. Each figure is the best of
--rounds rounds; every round is printed. The machine may be busy: read the figures as noisy.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from tests.support.service import RunningService, start_service
from tests.support.sharedkey import SharedKeyAuth

API = {"api-version": "2025-06-01"}
JOB_ID = "paging"


def client_for(service: RunningService) -> httpx.Client:
    """A Shared Key client with api-version on every request."""
    return httpx.Client(base_url=service.endpoint, params=API, timeout=120.0,
                        auth=SharedKeyAuth(service.account_name, service.account_key))


def fill(service: RunningService, count: int) -> None:
    """One job and `count` tasks, added 100 at a time by four clients."""
    with client_for(service) as client:
        created = client.post("/jobs", json={"id": JOB_ID, "poolInfo": {"poolId": "local"}})
        if created.status_code != 201:
            raise RuntimeError(f"job create answered {created.status_code}: {created.text[:300]}")

    def add(start: int) -> None:
        with client_for(service) as client:
            for first in range(start, count, 400):
                body = {"value": [{"id": f"t{n:06d}", "commandLine": f"/bin/echo {n}"}
                                  for n in range(first, min(first + 100, count))]}
                response = client.post(f"/jobs/{JOB_ID}/addtaskcollection", json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"addtaskcollection answered {response.status_code}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(0, 400, 100)))


def next_link(body: bytes) -> str | None:
    """The page's odata.nextLink, read from the end of the body where the service writes it (decoding the
    whole page is client work; it is timed apart, see `decode`)."""
    at = body.rfind(b'"odata.nextLink"', max(0, len(body) - 4096))
    if at < 0:
        return None
    rest = body[at + len(b'"odata.nextLink"'):].decode().lstrip().removeprefix(":").lstrip()
    link, _ = json.JSONDecoder().raw_decode(rest)
    return str(link)


def decode(bodies: list[bytes]) -> float:
    """Seconds orjson takes to decode the pages on the client (not part of the service's time)."""
    started = time.perf_counter()
    for body in bodies:
        orjson.loads(body)
    return time.perf_counter() - started


def page_through(client: httpx.Client, params: dict[str, str]) -> tuple[float, list[bytes]]:
    """Seconds to read every page, and the raw bodies."""
    bodies: list[bytes] = []
    started = time.perf_counter()
    response = client.get(f"/jobs/{JOB_ID}/tasks", params={**API, **params})
    while True:
        if response.status_code != 200:
            raise RuntimeError(f"list answered {response.status_code}: {response.text[:300]}")
        bodies.append(response.content)
        link = next_link(response.content)
        if link is None:
            break
        request = client.build_request("GET", link)
        request.url = httpx.URL(link)
        response = client.send(request)
    return time.perf_counter() - started, bodies


def encode_baseline(bodies: list[bytes]) -> float:
    """Seconds the json module takes to encode the same pages (decoded beforehand, not timed)."""
    pages: list[Any] = [json.loads(body) for body in bodies]
    started = time.perf_counter()
    for page in pages:
        json.dumps(page)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    shapes = {"all": {}, "$select": {"$select": "id,state"}, "$filter": {"$filter": "state eq 'active'"}}
    with tempfile.TemporaryDirectory() as tmp, \
            start_service(Path(tmp) / "data", "--runner", "none", timeout=60.0) as service:
        started = time.perf_counter()
        fill(service, args.tasks)
        print(f"added {args.tasks} tasks in {time.perf_counter() - started:.1f} s")
        with client_for(service) as client:
            for name, params in shapes.items():
                rounds, baselines, decoding, pages, tasks = [], [], [], 0, 0
                for _ in range(args.rounds):
                    elapsed, bodies = page_through(client, params)
                    rounds.append(elapsed)
                    baselines.append(encode_baseline(bodies))
                    decoding.append(decode(bodies))
                    pages, tasks = len(bodies), sum(len(orjson.loads(body)["value"]) for body in bodies)
                    if tasks != args.tasks:
                        raise RuntimeError(f"{name}: paged {tasks} tasks, not {args.tasks}")
                print(f"{name:8} {tasks} tasks in {pages} pages: best {min(rounds):.3f} s "
                      f"({min(rounds) / pages * 1000:.1f} ms a page; rounds "
                      f"{', '.join(f'{value:.3f}' for value in rounds)}); "
                      f"baseline json.dumps of the same pages {min(baselines):.3f} s; "
                      f"client-side orjson decode of them {min(decoding):.3f} s")


if __name__ == "__main__":
    main()
