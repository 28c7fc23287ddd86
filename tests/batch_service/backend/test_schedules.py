"""Job schedules on the local service (batch-api.md 2.2, 3.11, 4.3, 6.8): raw signed HTTP, real process."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.batch_service.conftest import create_job, error_of, run_service, signed_client


def _now_iso(offset_seconds: float = 0.0) -> str:
    stamp = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _schedule_body(schedule_id: str, **schedule: Any) -> dict[str, Any]:
    return {"id": schedule_id, "schedule": {"doNotRunUntil": _now_iso(), **schedule},
            "jobSpecification": {"priority": 7, "poolInfo": {"poolId": "local"}},
            "metadata": [{"name": "team", "value": "nightly"}]}


def _create(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    response = api.post("/jobschedules", json=body)
    assert response.status_code == 201, response.text
    return response


def _eventually(probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def _recent_job(api: httpx.Client, schedule_id: str) -> str | None:
    info = api.get(f"/jobschedules/{schedule_id}").json().get("executionInfo", {})
    recent = info.get("recentJob")
    return recent["id"] if recent else None


def test_schedule_due_now_creates_its_first_job_from_the_job_specification(api: httpx.Client, uid: str) -> None:
    created = _create(api, _schedule_body(uid))
    assert created.headers["DataServiceId"].endswith(f"/jobschedules/{uid}")
    job_id = _eventually(lambda: _recent_job(api, uid))
    assert job_id == f"{uid}-job-1"
    job = api.get(f"/jobs/{job_id}")
    assert job.status_code == 200 and job.json()["priority"] == 7
    schedule = api.get(f"/jobschedules/{uid}").json()
    assert schedule["state"] == "active"
    assert schedule["executionInfo"]["recentJob"]["url"].endswith(f"/jobs/{job_id}")
    assert "nextRunTime" not in schedule["executionInfo"]  # no recurrenceInterval: one run only
    listed = api.get(f"/jobschedules/{uid}/jobs").json()["value"]
    assert [item["id"] for item in listed] == [job_id]


def test_schedule_in_the_future_has_a_next_run_time_and_no_job(api: httpx.Client, uid: str) -> None:
    _create(api, _schedule_body(uid, doNotRunUntil=_now_iso(3600), recurrenceInterval="PT1H"))
    # The positive control: a schedule due now, created after it, gets its job; the scheduler has looked at both.
    _create(api, _schedule_body(f"{uid}-due"))
    assert _eventually(lambda: _recent_job(api, f"{uid}-due")) == f"{uid}-due-job-1"
    schedule = api.get(f"/jobschedules/{uid}").json()
    assert "recentJob" not in schedule["executionInfo"] and schedule["executionInfo"]["nextRunTime"]
    assert api.get(f"/jobschedules/{uid}/jobs").json()["value"] == []
    assert api.head(f"/jobschedules/{uid}").status_code == 200
    assert uid in [item["id"] for item in api.get("/jobschedules").json()["value"]]


def test_ids_are_unique_across_jobs_and_schedules(api: httpx.Client, uid: str) -> None:
    _create(api, _schedule_body(uid, doNotRunUntil=_now_iso(3600)))
    assert error_of(api.post("/jobschedules", json=_schedule_body(uid.upper()))) == (409, "JobScheduleExists")
    job_body = {"id": uid, "poolInfo": {"poolId": "local"}}
    assert error_of(api.post("/jobs", json=job_body)) == (409, "JobScheduleWithSameIdExists")
    create_job(api, f"{uid}-plain")
    clash = api.post("/jobschedules", json=_schedule_body(f"{uid}-plain"))
    assert error_of(clash) == (409, "JobWithSameIdExists")


def test_missing_schedule_is_404_and_bad_body_is_400(api: httpx.Client, uid: str) -> None:
    assert error_of(api.get(f"/jobschedules/{uid}")) == (404, "JobScheduleNotFound")
    assert api.head(f"/jobschedules/{uid}").status_code == 404
    body = _schedule_body(uid)
    del body["jobSpecification"]
    assert error_of(api.post("/jobschedules", json=body)) == (400, "MissingRequiredProperty")


def test_patch_changes_the_specification_for_future_jobs_only(api: httpx.Client, uid: str) -> None:
    _create(api, _schedule_body(uid, recurrenceInterval="PT1H"))
    job_id = _eventually(lambda: _recent_job(api, uid))
    before = api.get(f"/jobschedules/{uid}")
    patched = api.patch(f"/jobschedules/{uid}", json={"jobSpecification": {"priority": 50,
                                                                            "poolInfo": {"poolId": "local"}}},
                        headers={"If-Match": before.headers["ETag"]})
    assert patched.status_code == 200, patched.text
    after = api.get(f"/jobschedules/{uid}").json()
    assert after["jobSpecification"]["priority"] == 50
    assert after["metadata"] == [{"name": "team", "value": "nightly"}]  # absent in the PATCH: unchanged
    assert after["eTag"] != before.json()["eTag"]
    assert api.get(f"/jobs/{job_id}").json()["priority"] == 7  # the current job keeps its specification
    stale = api.patch(f"/jobschedules/{uid}", json={"metadata": []}, headers={"If-Match": before.headers["ETag"]})
    assert error_of(stale) == (412, "ConditionNotMet")
    replaced = api.put(f"/jobschedules/{uid}", json={"schedule": {"recurrenceInterval": "PT2H"},
                                                     "jobSpecification": {"poolInfo": {"poolId": "local"}}})
    assert replaced.status_code == 200
    assert "metadata" not in api.get(f"/jobschedules/{uid}").json()  # PUT replaces all three: none left


def test_disable_enable_and_terminate_move_the_states(api: httpx.Client, uid: str) -> None:
    _create(api, _schedule_body(uid, recurrenceInterval="PT1H"))
    job_id = _eventually(lambda: _recent_job(api, uid))
    assert api.post(f"/jobschedules/{uid}/disable").status_code == 204
    assert api.get(f"/jobschedules/{uid}").json()["state"] == "disabled"
    assert api.post(f"/jobschedules/{uid}/enable").status_code == 204
    assert api.get(f"/jobschedules/{uid}").json()["state"] == "active"
    assert api.post(f"/jobschedules/{uid}/terminate").status_code == 202
    state = _eventually(lambda: api.get(f"/jobschedules/{uid}").json()["state"] == "completed")
    assert state
    job = api.get(f"/jobs/{job_id}").json()
    assert job["state"] == "completed" and job["executionInfo"]["terminateReason"] == "TerminateJobSchedule"
    assert error_of(api.patch(f"/jobschedules/{uid}", json={"metadata": []})) == (409, "JobScheduleCompleted")


def test_delete_removes_the_schedule_and_its_jobs(api: httpx.Client, uid: str) -> None:
    _create(api, _schedule_body(uid))
    job_id = _eventually(lambda: _recent_job(api, uid))
    assert api.delete(f"/jobschedules/{uid}").status_code == 202
    assert api.get(f"/jobschedules/{uid}").json()["state"] == "deleting"
    gone = _eventually(lambda: api.get(f"/jobschedules/{uid}").status_code == 404)
    assert gone
    assert error_of(api.get(f"/jobs/{job_id}")) == (404, "JobNotFound")


def test_schedules_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    with run_service(data) as service, signed_client(service) as api:
        _create(api, _schedule_body("waiting", doNotRunUntil=_now_iso(3600), recurrenceInterval="PT1H"))
        _create(api, _schedule_body("ran"))
        assert _eventually(lambda: _recent_job(api, "ran"))
        before = {sid: api.get(f"/jobschedules/{sid}").json() for sid in ("waiting", "ran")}
    assert (data / "schedules.db").is_file()
    with run_service(data) as service, signed_client(service) as api:
        for sid, body in before.items():
            after = api.get(f"/jobschedules/{sid}").json()
            after.pop("odata.metadata"), body.pop("odata.metadata")
            after_url, body_url = after.pop("url"), body.pop("url")
            assert after_url.endswith(f"/jobschedules/{sid}") and body_url.endswith(f"/jobschedules/{sid}")
            after["executionInfo"].pop("recentJob", None), body["executionInfo"].pop("recentJob", None)
            assert after == body
        assert _recent_job(api, "ran") == "ran-job-1"
        assert [item["id"] for item in api.get("/jobschedules/ran/jobs").json()["value"]] == ["ran-job-1"]
        assert error_of(api.post("/jobschedules", json=_schedule_body("ran"))) == (409, "JobScheduleExists")
