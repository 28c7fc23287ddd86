"""BatchClient over httpx.MockTransport: URLs, headers, paging, error mapping, retries, If-Match, waits.

These are the cheap tests of wire details; test_client_live.py runs the same client against the real service.
"""
from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from providers.client import API_VERSION, JSON_CONTENT_TYPE, BatchClient, close_shared_clients, shared_client
from providers.client.auth import EntraAuth
from providers.client.errors import (
    BatchError,
    Conflict,
    DeadlineExceeded,
    Exists,
    NotFound,
    PreconditionFailed,
    Throttled,
    TransportError,
)
from providers.client.settings import ConnectionSettings
from tests.support.fake_time import FakeTime

KEY = "ZGV2YmF0Y2hhY2NvdW50LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ=="
ENDPOINT = "http://127.0.0.1:9"
SETTINGS = ConnectionSettings(ENDPOINT, "sharedKey", "devbatchaccount", KEY)

Handler = Callable[[httpx.Request], httpx.Response]



class Recorder:
    """Answers requests from a script (one handler per request, last one repeats) and keeps what was sent."""

    def __init__(self, *script: Handler | httpx.Response | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_time: FakeTime) -> Iterator[Callable[[Recorder], BatchClient]]:
    clients: list[BatchClient] = []

    def make(recorder: Recorder) -> BatchClient:
        client = BatchClient(SETTINGS, transport=httpx.MockTransport(recorder), sleep=fake_time.sleep,
                             clock=fake_time.clock)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def batch_error(status: int, code: str, message: str, request_id: str = "rid-1") -> httpx.Response:
    body = {"odata.metadata": "https://x/$metadata#errors/@Element", "code": code,
            "message": {"lang": "en-US",
                        "value": f"{message}\nRequestId:{request_id}\nTime:2025-07-01T12:00:00Z"},
            "values": [{"key": "Reason", "value": "because"}]}
    return httpx.Response(status, json=body, headers={"request-id": request_id})


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params.multi_items())


def test_every_request_carries_version_ids_date_and_shared_key(make_client: Callable[[Recorder], BatchClient]
                                                                ) -> None:
    recorder = Recorder(httpx.Response(200, json={"id": "job1", "state": "active"}))
    assert make_client(recorder).get_job("job1") == {"id": "job1", "state": "active"}
    sent = recorder.last
    assert (sent.method, sent.url.path, query(sent)) == ("GET", "/jobs/job1", {"api-version": API_VERSION})
    assert uuid.UUID(sent.headers["client-request-id"]).version == 4
    assert sent.headers["return-client-request-id"] == "true"
    assert sent.headers["ocp-date"].endswith(" GMT")
    assert sent.headers["Authorization"].startswith("SharedKey devbatchaccount:")
    assert "Content-Type" not in sent.headers


def test_bodies_are_compact_json_with_the_odata_content_type(make_client: Callable[[Recorder], BatchClient]
                                                             ) -> None:
    recorder = Recorder(httpx.Response(201, headers={"ETag": "0x8DD1"}))
    etag = make_client(recorder).create_job({"id": "render", "poolInfo": {"poolId": "local"}})
    assert etag == "0x8DD1"
    assert recorder.last.headers["Content-Type"] == JSON_CONTENT_TYPE
    assert recorder.last.content == b'{"id":"render","poolInfo":{"poolId":"local"}}'


def test_timeouts_are_set_per_request(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.Response(200, json={}))
    make_client(recorder).get_task_counts("job1")
    timeout = recorder.last.extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (5.0, 30.0)


def test_get_returns_none_when_the_job_is_gone(make_client: Callable[[Recorder], BatchClient]) -> None:
    client = make_client(Recorder(batch_error(404, "JobNotFound", "The specified job does not exist.")))
    assert client.get_job("nope") is None
    assert client.get_task("nope", "t1") is None


def test_create_conflict_names_what_was_attempted(make_client: Callable[[Recorder], BatchClient]) -> None:
    answer = batch_error(409, "JobExists", "The specified job already exists.", "rid-9")
    client = make_client(Recorder(answer))
    with pytest.raises(Exists) as caught:
        client.create_job({"id": "render"})
    error = caught.value
    assert (error.status, error.code, error.request_id, error.values) == (409, "JobExists", "rid-9",
                                                                         {"Reason": "because"})
    assert str(error) == (f"creating job 'render': POST /jobs?api-version={API_VERSION}: 409 JobExists: "
                          "The specified job already exists. (request id rid-9)")
    assert isinstance(error, Conflict) and not error.maybe_applied


def test_same_id_of_another_kind_is_a_conflict_not_exists(make_client: Callable[[Recorder], BatchClient]
                                                          ) -> None:
    client = make_client(Recorder(batch_error(409, "JobScheduleWithSameIdExists", "A schedule has this id.")))
    with pytest.raises(Conflict) as caught:
        client.create_job({"id": "nightly"})
    assert type(caught.value) is Conflict and caught.value.code == "JobScheduleWithSameIdExists"


def test_patch_sends_quoted_if_match_and_returns_the_new_etag(make_client: Callable[[Recorder], BatchClient]
                                                              ) -> None:
    recorder = Recorder(httpx.Response(200, headers={"ETag": "0x2"}))
    client = make_client(recorder)
    assert client.patch_job("job1", {"priority": 5}, if_match="0x1") == "0x2"
    assert (recorder.last.method, recorder.last.headers["If-Match"]) == ("PATCH", '"0x1"')
    assert json.loads(recorder.last.content) == {"priority": 5}
    client.put_task("job1", "t1", {"maxTaskRetryCount": 2}, if_match='"0x3"')
    assert recorder.last.headers["If-Match"] == '"0x3"'
    assert json.loads(recorder.last.content) == {"constraints": {"maxTaskRetryCount": 2}}


def test_a_stale_etag_raises_precondition_failed(make_client: Callable[[Recorder], BatchClient]) -> None:
    answer = batch_error(412, "ConditionNotMet", "The condition specified was not met.")
    client = make_client(Recorder(answer))
    with pytest.raises(PreconditionFailed) as caught:
        client.patch_job("job1", {"priority": 5}, if_match="0x1")
    assert (caught.value.status, caught.value.code) == (412, "ConditionNotMet")
    assert str(caught.value).startswith("updating job 'job1': PATCH /jobs/job1")


def test_paging_follows_next_link_on_our_endpoint_with_our_api_version(
        make_client: Callable[[Recorder], BatchClient]) -> None:
    first = httpx.Response(200, json={"value": [{"id": "a"}, {"id": "b"}],
                                      "odata.nextLink": "https://elsewhere.example/jobs?api-version=2020-01-01"
                                                        "&$skiptoken=tok%201&$filter=state%20eq%20%27active%27"})
    recorder = Recorder(first, httpx.Response(200, json={"value": [{"id": "c"}]}))
    jobs = list(make_client(recorder).list_jobs(filter="state eq 'active'", select="id"))
    assert [j["id"] for j in jobs] == ["a", "b", "c"]
    one, two = recorder.requests
    assert query(one) == {"api-version": API_VERSION, "$filter": "state eq 'active'", "$select": "id"}
    assert "%20" in one.url.query.decode() and "+" not in one.url.query.decode()
    assert (two.url.host, two.url.port, two.url.path) == ("127.0.0.1", 9, "/jobs")
    assert query(two) == {"api-version": API_VERSION, "$skiptoken": "tok 1", "$filter": "state eq 'active'"}


def test_get_retries_503_with_backoff_and_counts_it(make_client: Callable[[Recorder], BatchClient],
                                                    fake_time: FakeTime) -> None:
    recorder = Recorder(batch_error(503, "ServerBusy", "busy"), batch_error(503, "ServerBusy", "busy"),
                        httpx.Response(200, json={"id": "job1"}))
    client = make_client(recorder)
    assert client.get_job("job1") == {"id": "job1"}
    assert len(recorder.requests) == 3 and len(fake_time.sleeps) == 2
    assert 0.25 <= fake_time.sleeps[0] <= 0.5 and 0.5 <= fake_time.sleeps[1] <= 1.0
    assert client.retries.snapshot() == {"http_503": 2}
    ids = {r.headers["client-request-id"] for r in recorder.requests}
    assert len(ids) == 1


def test_post_429_is_retried_after_retry_after(make_client: Callable[[Recorder], BatchClient],
                                              fake_time: FakeTime) -> None:
    throttled = batch_error(429, "TooManyRequests", "slow down")
    throttled.headers["Retry-After"] = "2"
    recorder = Recorder(throttled, httpx.Response(201, headers={"ETag": "0x1"}))
    assert make_client(recorder).create_task("job1", {"id": "t1", "commandLine": "true"}) == "0x1"
    assert fake_time.sleeps == [2.0] and len(recorder.requests) == 2


def test_post_500_is_not_retried_and_may_have_been_applied(make_client: Callable[[Recorder], BatchClient]
                                                           ) -> None:
    recorder = Recorder(batch_error(500, "InternalError", "oops"), httpx.Response(201))
    with pytest.raises(BatchError) as caught:
        make_client(recorder).create_job({"id": "render"})
    error = caught.value
    assert (error.status, error.code, error.maybe_applied) == (500, "InternalError", True)
    assert len(recorder.requests) == 1


def test_throttling_that_outlasts_the_attempts_raises_throttled(
        make_client: Callable[[Recorder], BatchClient],
                                                                fake_time: FakeTime) -> None:
    recorder = Recorder(batch_error(429, "TooManyRequests", "slow down"))
    with pytest.raises(Throttled) as caught:
        make_client(recorder).get_job("job1")
    assert (caught.value.status, caught.value.code) == (429, "TooManyRequests")
    assert len(recorder.requests) == 6 and len(fake_time.sleeps) == 5


def test_post_that_lost_its_response_is_maybe_applied_and_not_retried(
        make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.ReadTimeout("timed out"), httpx.Response(201))
    with pytest.raises(TransportError) as caught:
        make_client(recorder).create_job({"id": "render"})
    assert caught.value.maybe_applied and caught.value.attempts == 1
    assert len(recorder.requests) == 1
    assert str(caught.value).startswith("creating job 'render': POST /jobs?api-version=")


def test_connection_refused_is_retried_even_for_post(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.Response(201, headers={"ETag": "0x1"}))
    client = make_client(recorder)
    assert client.create_job({"id": "render"}) == "0x1"
    assert client.retries.snapshot() == {"connect_error": 1}


def test_a_service_that_never_answers_gives_a_transport_error_not_applied(
        make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(TransportError) as caught:
        make_client(recorder).get_job("job1")
    assert (caught.value.maybe_applied, caught.value.attempts) == (False, 6)


def test_total_deadline_turns_long_throttling_into_deadline_exceeded(fake_time: FakeTime) -> None:
    slow = batch_error(503, "ServerBusy", "busy")
    slow.headers["Retry-After"] = "50"
    recorder = Recorder(slow)
    settings = ConnectionSettings(ENDPOINT, "sharedKey", "devbatchaccount", KEY, total_deadline=120.0)
    with BatchClient(settings, transport=httpx.MockTransport(recorder), sleep=fake_time.sleep,
                     clock=fake_time.clock) as client, pytest.raises(DeadlineExceeded) as caught:
        client.get_job("job1")
    assert len(recorder.requests) == 3 and fake_time.sleeps == [50.0, 50.0]
    assert isinstance(caught.value.last_error, Throttled)
    assert "reading job 'job1'" in str(caught.value) and "503 ServerBusy" in str(caught.value)


def test_non_json_error_bodies_still_become_batch_errors(make_client: Callable[[Recorder], BatchClient]
                                                         ) -> None:
    client = make_client(Recorder(httpx.Response(400, text="<html>bad</html>")))
    with pytest.raises(BatchError) as caught:
        client.enable_job("job1")
    assert (caught.value.status, caught.value.code) == (400, "BadRequest")


def test_delete_treats_already_gone_as_success(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.Response(202), batch_error(404, "JobNotFound", "gone"),
                        batch_error(404, "TaskNotFound", "gone"))
    client = make_client(recorder)
    assert client.delete_job("job1") is True
    assert client.delete_job("job1") is False
    assert client.delete_task("job1", "t1") is False
    assert recorder.requests[0].headers["Content-Length"] == "0"


def test_wait_job_deleted_polls_with_growing_delays_until_404(make_client: Callable[[Recorder], BatchClient],
                                                             fake_time: FakeTime) -> None:
    deleting = httpx.Response(200, json={"id": "job1", "state": "deleting"})
    recorder = Recorder(deleting, deleting, deleting, batch_error(404, "JobNotFound", "gone"))
    make_client(recorder).wait_job_deleted("job1", timeout=30)
    assert fake_time.sleeps == [0.1, 0.2, 0.4]


def test_wait_job_deleted_times_out_with_the_state_it_saw(make_client: Callable[[Recorder], BatchClient]
                                                          ) -> None:
    client = make_client(Recorder(httpx.Response(200, json={"id": "job1", "state": "deleting"})))
    with pytest.raises(DeadlineExceeded) as caught:
        client.wait_job_deleted("job1", timeout=5)
    assert "waiting for job 'job1' to be deleted" in str(caught.value) and "'deleting'" in str(caught.value)


def test_wait_job_state_returns_the_job_once_the_state_matches(make_client: Callable[[Recorder], BatchClient]
                                                               ) -> None:
    recorder = Recorder(httpx.Response(200, json={"state": "disabling"}),
                        httpx.Response(200, json={"state": "disabled", "id": "job1"}))
    assert make_client(recorder).wait_job_state("job1", ["disabled"], timeout=10)["id"] == "job1"


def test_wait_job_state_raises_not_found_if_the_job_disappears(make_client: Callable[[Recorder], BatchClient]
                                                               ) -> None:
    client = make_client(Recorder(batch_error(404, "JobNotFound", "gone")))
    with pytest.raises(NotFound, match="waiting for job 'job1' to be disabled"):
        client.wait_job_state("job1", ["disabled"], timeout=10)


def test_job_actions_use_the_documented_paths_and_bodies(make_client: Callable[[Recorder], BatchClient]
                                                         ) -> None:
    recorder = Recorder(httpx.Response(202))
    client = make_client(recorder)
    client.disable_job("job1", "terminate")
    client.enable_job("job1")
    client.terminate_job("job1", reason="done", force=True)
    sent = [(r.method, r.url.path, query(r).get("force"), r.content) for r in recorder.requests]
    assert sent == [("POST", "/jobs/job1/disable", None, b'{"disableTasks":"terminate"}'),
                    ("POST", "/jobs/job1/enable", None, b""),
                    ("POST", "/jobs/job1/terminate", "true", b'{"terminateReason":"done"}')]


def test_add_task_collection_returns_the_per_task_results(make_client: Callable[[Recorder], BatchClient]
                                                          ) -> None:
    results = [{"taskId": "t1", "status": "success"},
               {"taskId": "t2", "status": "clienterror", "error": {"code": "TaskExists"}}]
    recorder = Recorder(httpx.Response(200, json={"value": results}))
    tasks = [{"id": "t1", "commandLine": "true"}, {"id": "t2", "commandLine": "true"}]
    assert make_client(recorder).add_task_collection("job1", tasks) == results
    assert recorder.last.url.path == "/jobs/job1/addtaskcollection"
    assert json.loads(recorder.last.content) == {"value": tasks}


def test_task_file_download_sends_ocp_range_and_returns_bytes(make_client: Callable[[Recorder], BatchClient]
                                                              ) -> None:
    octets = {"Content-Type": "application/octet-stream"}
    recorder = Recorder(httpx.Response(200, content=b"hello", headers=octets))
    data = make_client(recorder).get_task_file("job1", "t1", "wd/out file.txt", byte_range=(0, 4))
    assert data == b"hello"
    assert recorder.last.url.raw_path.startswith(b"/jobs/job1/tasks/t1/files/wd/out%20file.txt?")
    assert recorder.last.headers["ocp-range"] == "bytes=0-4"


def test_listing_helpers_hit_their_paths(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.Response(200, json={"value": [{"name": "x"}]}))
    client = make_client(recorder)
    calls: list[Callable[[], Any]] = [
        lambda: list(client.list_tasks("job1", filter="state eq 'completed'")),
        lambda: list(client.list_task_files("job1", "t1", recursive=True)),
        lambda: client.list_subtasks("job1", "t1"),
        lambda: list(client.list_jobs_from_schedule("sched")),
    ]
    for call in calls:
        assert call() == [{"name": "x"}]
    assert [(r.url.path, query(r).get("recursive")) for r in recorder.requests] == [
        ("/jobs/job1/tasks", None), ("/jobs/job1/tasks/t1/files", "true"),
        ("/jobs/job1/tasks/t1/subtasksinfo", None), ("/jobschedules/sched/jobs", None)]


def test_ids_are_percent_encoded_in_paths(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(batch_error(404, "JobNotFound", "gone"))
    make_client(recorder).get_job("a/b")
    assert recorder.last.url.raw_path.startswith(b"/jobs/a%2Fb?")


def test_shared_client_is_one_per_settings() -> None:
    try:
        one = shared_client(SETTINGS)
        assert shared_client(ConnectionSettings(ENDPOINT, "sharedKey", "devbatchaccount", KEY)) is one
        other = ConnectionSettings(ENDPOINT + "0", "sharedKey", "devbatchaccount", KEY)
        assert shared_client(other) is not one
    finally:
        close_shared_clients()


def test_nobody_listening_is_a_transport_error_that_was_never_applied() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ConnectionSettings(f"http://127.0.0.1:{port}", "sharedKey", "devbatchaccount", KEY)
    with BatchClient(settings, sleep=lambda seconds: None) as batch, pytest.raises(TransportError) as caught:
        batch.create_job({"id": "never"})
    assert caught.value.maybe_applied is False and caught.value.attempts == 6
    assert batch.retries.snapshot() == {"connect_error": 5}


def test_job_schedules_and_pools_use_their_paths(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.Response(201, headers={"ETag": "0x1"}), httpx.Response(200, json={"id": "s1"}),
                        httpx.Response(200, headers={"ETag": "0x2"}), httpx.Response(202),
                        httpx.Response(201, headers={"ETag": "0x3"}),
                        batch_error(404, "PoolNotFound", "gone"),
                        httpx.Response(202))
    client = make_client(recorder)
    assert client.create_job_schedule({"id": "s1", "schedule": {}, "jobSpecification": {}}) == "0x1"
    assert client.get_job_schedule("s1") == {"id": "s1"}
    assert client.patch_job_schedule("s1", {"metadata": []}, if_match="0x1") == "0x2"
    assert client.delete_job_schedule("s1") is True
    assert client.create_pool({"id": "p1", "vmSize": "standard_d2s_v3"}) == "0x3"
    assert client.get_pool("p1") is None
    assert client.delete_pool("p1") is True
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("POST", "/jobschedules"), ("GET", "/jobschedules/s1"), ("PATCH", "/jobschedules/s1"),
        ("DELETE", "/jobschedules/s1"), ("POST", "/pools"), ("GET", "/pools/p1"), ("DELETE", "/pools/p1")]


def test_entra_settings_with_an_explicit_credential_send_bearer_tokens() -> None:
    """The credential is a fake (a real Entra tenant cannot be used here); everything else is real."""

    class StaticCredential:
        def get_token(self, *scopes: str, **kwargs: object) -> SimpleNamespace:
            return SimpleNamespace(token="tok-1", expires_on=4_102_444_800)

    recorder = Recorder(httpx.Response(200, json={"id": "job1"}))
    entra = ConnectionSettings(ENDPOINT, "entra")
    auth = EntraAuth(StaticCredential())
    with BatchClient(entra, transport=httpx.MockTransport(recorder), auth=auth) as client:
        assert client.get_job("job1") == {"id": "job1"}
    assert recorder.last.headers["Authorization"] == "Bearer tok-1"


def test_etags_come_back_bare_like_the_body_etag(make_client: Callable[[Recorder], BatchClient]) -> None:
    recorder = Recorder(httpx.Response(201, headers={"ETag": '"0x8DD1"'}))
    assert make_client(recorder).create_job({"id": "render"}) == "0x8DD1"
