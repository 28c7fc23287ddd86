"""Adding a task collection through the provider's create, against the local service and its fault injection:
server errors and lost responses are resubmitted under the same ids (a `TaskExists` on a resubmission is the
earlier attempt that landed), a 413 halves the request, and what the service refuses is named.

The faults come from the service's seeded injection (`PUT /_local/faults`): the same seed and the same request
sequence give the same faults. A create of one chunk sends its requests one after the other, so a seed fixes
exactly which attempts fail; `seed_for` finds one, and the service's own counts confirm what it injected.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from batch_service.faults import FaultConfig, FaultInjector
from providers._base import ProviderFailure
from providers.client.batch import close_shared_clients
from providers.collection import BatchTaskCollectionProvider, encode_tasks
from tests.batch_service.conftest import create_job, run_service, signed_client
from tests.support.service import RunningService, service_stats, set_faults


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service of its own (its fault settings and request counts are this module's): tasks stay active."""
    with run_service(tmp_path_factory.mktemp("batcher")) as running:
        yield running


@pytest.fixture
def api(service: RunningService) -> Iterator[httpx.Client]:
    with signed_client(service) as client:
        yield client
    set_faults(service, OFF)


OFF = {"seed": 0, "rate": 0.0, "kinds": []}


def seed_for(kind: str, faults_first: int, rate: float = 0.9) -> int:
    """A seed under which the create's first request (its listing of the job's tasks, looking for what an
    interrupted earlier run added) goes through, the next `faults_first` POSTs in a row get `kind`, and the
    one after goes through."""
    requests = ["GET"] + ["POST"] * (faults_first + 1)
    wanted = [None] + [kind] * faults_first + [None]
    for seed in range(1_000_000):
        injector = FaultInjector(FaultConfig.parse({"seed": seed, "rate": rate, "kinds": [kind]}))
        if [injector.decide(method) for method in requests] == wanted:
            return seed
    raise AssertionError(f"no seed gives {wanted}")


def create(endpoint: str, service: RunningService, monkeypatch: pytest.MonkeyPatch, job_id: str,
           tasks: list[dict[str, Any]]) -> Any:
    """The provider's create, as the engine calls it, with the connection from the environment."""
    monkeypatch.setenv("AZURE_BATCH_ENDPOINT", endpoint)
    monkeypatch.setenv("AZURE_BATCH_ACCOUNT_NAME", service.account_name)
    monkeypatch.setenv("AZURE_BATCH_ACCESS_KEY", service.account_key)
    props = {"name": "sweep", "job_id": job_id, "tasks": encode_tasks(tasks), "wait": None, "complete_job": False,
             "job_instance": None, "job_rules": None}
    try:
        return BatchTaskCollectionProvider().create(props)
    finally:
        close_shared_clients()


def live_ids(api: httpx.Client, job_id: str) -> list[str]:
    """Every task id of the job, duplicates included."""
    ids: list[str] = []
    url: str | None = f"/jobs/{job_id}/tasks?$select=id"
    while url:
        page = api.get(url).json()
        ids += [t["id"] for t in page["value"]]
        url = page.get("odata.nextLink")
    return ids


def tasks_of(count: int, command: str = "/bin/true") -> list[dict[str, Any]]:
    return [{"id": f"t{n:03d}", "commandLine": command} for n in range(count)]


def test_a_server_error_is_resubmitted_until_the_tasks_are_in(service: RunningService, api: httpx.Client,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    create_job(api, "busy")
    before = service_stats(service)
    # Twelve 503s in a row: more than the client's own attempts at one request, so the collection must send
    # the chunk again after the client gave up on it.
    set_faults(service, {"seed": seed_for("503", 12), "rate": 0.9, "kinds": ["503"], "retryAfter": 0})
    result = create(service.endpoint, service, monkeypatch, "busy", tasks_of(80))
    set_faults(service, OFF)
    after = service_stats(service)
    assert after["faults"]["503"] - before["faults"]["503"] == 12
    assert sorted(live_ids(api, "busy")) == [f"t{n:03d}" for n in range(80)]
    assert result.id == "busy/sweep" and result.outs["task_count"] == 80


def test_a_lost_response_is_resubmitted_and_task_exists_counts_as_added(
        service: RunningService, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    create_job(api, "lost")
    before = service_stats(service)
    # The first request is done by the service and its answer never arrives; the resubmission meets the tasks
    # it created and is answered TaskExists for every one of them.
    set_faults(service, {"seed": seed_for("lost", 1), "rate": 0.9, "kinds": ["lost"]})
    result = create(service.endpoint, service, monkeypatch, "lost", tasks_of(60))
    set_faults(service, OFF)
    after = service_stats(service)
    assert after["faults"]["lost"] - before["faults"]["lost"] == 1
    assert sorted(live_ids(api, "lost")) == [f"t{n:03d}" for n in range(60)]  # each once
    assert json.loads(result.outs["task_ids"]) == [f"t{n:03d}" for n in range(60)]


def test_a_task_that_already_existed_before_the_create_is_refused_by_name(
        service: RunningService, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    create_job(api, "taken")
    assert api.post("/jobs/taken/tasks", json={"id": "t001", "commandLine": "/bin/false"}).status_code == 201
    with pytest.raises(ProviderFailure) as refused:
        create(service.endpoint, service, monkeypatch, "taken", tasks_of(3))
    # The task is not this stack's (its job carries no marker of this stack): refused by name, nothing sent.
    assert "task t001" in str(refused.value) and "already exists" in str(refused.value)
    # A failed create leaves none of its own tasks behind; the task that was there before stays.
    assert live_ids(api, "taken") == ["t001"]


@dataclass
class SmallerLimit:
    """A front for the service that answers 413 RequestBodyTooLarge to an add-collection body above `limit`
    bytes (as the real service does above its own limit), and passes everything else through."""

    upstream: str
    limit: int
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (tasks, status) per add-collection request
    lock: threading.Lock = field(default_factory=threading.Lock)


def _front(front: SmallerLimit) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "POST" and "/addtaskcollection" in self.path:
                count = len(json.loads(body)["value"])
                too_large = len(body) > front.limit
                with front.lock:
                    front.sizes.append((count, 413 if too_large else 200))
                if too_large:
                    payload = json.dumps({"code": "RequestBodyTooLarge", "message": {
                        "lang": "en-US", "value": "The request body is too large and exceeds the maximum "
                                                  "permissible limit."}}).encode()
                    self._answer(413, {"Content-Type": "application/json; odata=minimalmetadata"}, payload)
                    return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = httpx.request(self.command, front.upstream + self.path, headers=headers, content=body)
            self._answer(answer.status_code, {k: v for k, v in answer.headers.items()
                                              if k.lower() in ("content-type", "etag", "request-id")},
                         answer.content)

        def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    return Handler


@pytest.fixture
def smaller_limit(service: RunningService) -> Iterator[tuple[str, SmallerLimit]]:
    front = SmallerLimit(service.endpoint, limit=40_000)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _front(front))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", front
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_request_too_large_for_the_service_is_halved_until_it_fits(
        service: RunningService, api: httpx.Client, monkeypatch: pytest.MonkeyPatch,
        smaller_limit: tuple[str, SmallerLimit]) -> None:
    endpoint, front = smaller_limit
    create_job(api, "halved")
    # 100 tasks of ~1 kB: one request by the 1 MB rule, 100 kB to this service, which takes 40 kB at most.
    create(endpoint, service, monkeypatch, "halved", tasks_of(100, "/bin/echo " + "x" * 1000))
    assert sorted(front.sizes) == sorted([(100, 413), (50, 413), (50, 413)] + [(25, 200)] * 4)
    assert sorted(live_ids(api, "halved")) == [f"t{n:03d}" for n in range(100)]


def test_a_single_task_too_large_for_the_service_is_refused_with_the_services_code(
        service: RunningService, api: httpx.Client, monkeypatch: pytest.MonkeyPatch,
        smaller_limit: tuple[str, SmallerLimit]) -> None:
    endpoint, front = smaller_limit
    create_job(api, "too-large")
    tasks = [{"id": "small", "commandLine": "/bin/true"}, {"id": "huge", "commandLine": "x" * 50_000}]
    with pytest.raises(ProviderFailure, match="RequestBodyTooLarge"):
        create(endpoint, service, monkeypatch, "too-large", tasks)
    assert (2, 413) in front.sizes and (1, 413) in front.sizes
    assert live_ids(api, "too-large") == []  # the small one that went in was deleted again


def test_the_seeds_give_the_faults_they_are_chosen_for() -> None:
    # The premise of the tests above, checked on the injection itself: a fault only where asked.
    injector = FaultInjector(FaultConfig.parse({"seed": seed_for("lost", 1), "rate": 0.9, "kinds": ["lost"]}))
    assert [injector.decide(method) for method in ("GET", "POST", "POST")] == [None, "lost", None]
    assert Path(__file__).name == "test_collection_batcher.py"
