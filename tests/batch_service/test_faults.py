"""Seeded fault injection: 503/429 with Retry-After, dropped connections, committed-but-lost responses."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.batch_service.conftest import create_job, error_of, run_service, signed_client
from tests.support.service import RunningService, service_stats, set_faults

THROTTLING = {"seed": 7, "rate": 0.5, "kinds": ["503", "429"], "retryAfter": 2}
OFF = {"seed": 0, "rate": 0.0, "kinds": []}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service of its own, started with fault injection on from the command line."""
    with run_service(tmp_path_factory.mktemp("faults"), "--faults", json.dumps(THROTTLING)) as running:
        yield running


def _statuses(api: httpx.Client, count: int) -> list[int]:
    return [api.get("/pools/local").status_code for _ in range(count)]


def test_the_same_seed_gives_the_same_faults(faulty: RunningService) -> None:
    with signed_client(faulty) as api:
        set_faults(faulty, THROTTLING)
        first = _statuses(api, 40)
        set_faults(faulty, THROTTLING)
        second = _statuses(api, 40)
        set_faults(faulty, {**THROTTLING, "seed": 8})
        other_seed = _statuses(api, 40)
    assert first == second
    assert set(first) == {200, 503, 429}
    assert other_seed != first


def test_throttling_answers_carry_retry_after_and_change_nothing(faulty: RunningService, uid: str) -> None:
    set_faults(faulty, {**THROTTLING, "rate": 1.0, "kinds": ["503"]})
    with signed_client(faulty) as api:
        busy = api.post("/jobs", json={"id": uid, "poolInfo": {"poolId": "local"}})
        set_faults(faulty, {**THROTTLING, "rate": 1.0, "kinds": ["429"]})
        throttled = api.get("/jobs")
        set_faults(faulty, OFF)
        assert error_of(busy) == (503, "ServerBusy") and busy.headers["Retry-After"] == "2"
        assert error_of(throttled) == (429, "TooManyRequests") and throttled.headers["Retry-After"] == "2"
        assert error_of(api.get(f"/jobs/{uid}")) == (404, "JobNotFound")


def test_stats_count_requests_and_faults_by_kind(faulty: RunningService) -> None:
    set_faults(faulty, {"seed": 1, "rate": 1.0, "kinds": ["429"]})
    before = service_stats(faulty)
    with signed_client(faulty) as api:
        _statuses(api, 5)
    after = service_stats(faulty)
    set_faults(faulty, OFF)
    assert after["requests"] - before["requests"] == 5
    assert after["faults"]["429"] - before["faults"]["429"] == 5
    assert set(after["faults"]) == {"503", "429", "drop", "lost"}


def test_drop_closes_the_connection_before_doing_anything(faulty: RunningService, uid: str) -> None:
    set_faults(faulty, {"seed": 1, "rate": 1.0, "kinds": ["drop"]})
    with signed_client(faulty) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            api.post("/jobs", json={"id": uid, "poolInfo": {"poolId": "local"}})
        set_faults(faulty, OFF)
        assert error_of(api.get(f"/jobs/{uid}")) == (404, "JobNotFound")


def test_lost_applies_the_write_but_never_answers(faulty: RunningService, uid: str) -> None:
    set_faults(faulty, {"seed": 1, "rate": 1.0, "kinds": ["lost"]})
    with signed_client(faulty) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            api.post("/jobs", json={"id": uid, "poolInfo": {"poolId": "local"}})
        assert api.get(f"/jobs/{uid}").status_code == 200  # reads are never "lost"
        set_faults(faulty, OFF)
        assert error_of(api.post("/jobs", json={"id": uid, "poolInfo": {"poolId": "local"}})) == (409, "JobExists")


@pytest.mark.parametrize("config", [{"rate": 2}, {"kinds": ["teapot"]}, {"seed": "x"}, {"retryAfter": -1},
                                    {"other": 1}, [1, 2]])
def test_a_bad_fault_configuration_is_400(faulty: RunningService, config: Any) -> None:
    response = httpx.put(f"{faulty.endpoint}/_local/faults", json=config)
    assert error_of(response) == (400, "InvalidRequestBody")


def test_faults_are_off_by_default(service: RunningService, uid: str) -> None:
    with signed_client(service) as api:
        assert set(_statuses(api, 20)) == {200}
        create_job(api, uid)
    assert sum(service_stats(service)["faults"].values()) == 0
