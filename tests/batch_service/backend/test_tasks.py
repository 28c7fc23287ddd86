"""Tasks over raw HTTP: create, add-collection, read defaults, update, delete and the life-cycle verbs (2.3, 6.3)."""
from __future__ import annotations

import re
from typing import Any

import httpx

from tests.batch_service.conftest import create_job, create_task, error_of, follow, value_of
from tests.support.service import RunningService

UNLIMITED = "P10675199DT2H48M5.4775807S"


def _task(api: httpx.Client, job_id: str, task_id: str) -> dict[str, Any]:
    response = api.get(f"/jobs/{job_id}/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_is_201_and_get_fills_in_the_defaults(api: httpx.Client, service: RunningService, uid: str) -> None:
    create_job(api, uid, constraints={"maxTaskRetryCount": 3})
    created = create_task(api, uid, "t1")
    assert re.fullmatch(r'"0x8D[0-9A-F]{13}"', created.headers["ETag"])
    assert created.headers["DataServiceId"] == f"{service.endpoint}/jobs/{uid}/tasks/t1"
    task = _task(api, uid, "t1")
    assert task["url"] == f"{service.endpoint}/jobs/{uid}/tasks/t1"
    assert task["state"] == "active" and "previousState" not in task
    assert task["constraints"] == {"maxWallClockTime": UNLIMITED, "retentionTime": "P7D", "maxTaskRetryCount": 3}
    assert task["requiredSlots"] == 1
    assert task["userIdentity"] == {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
    assert task["executionInfo"] == {"retryCount": 0, "requeueCount": 0}


def test_task_ids_are_unique_case_insensitively(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "Render")
    response = api.post(f"/jobs/{uid}/tasks", json={"id": "RENDER", "commandLine": "x"})
    assert error_of(response) == (409, "TaskExists")


def test_a_task_may_not_take_the_preparation_or_release_task_id(api: httpx.Client, uid: str) -> None:
    create_job(api, uid, jobPreparationTask={"commandLine": "x"}, jobReleaseTask={"id": "cleanup", "commandLine": "x"})
    assert error_of(api.post(f"/jobs/{uid}/tasks", json={"id": "JobPreparation", "commandLine": "x"})) == \
        (409, "TaskIdSameAsJobPreparationTask")
    assert error_of(api.post(f"/jobs/{uid}/tasks", json={"id": "cleanup", "commandLine": "x"})) == \
        (409, "TaskIdSameAsJobReleaseTask")


def test_add_collection_answers_per_task(api: httpx.Client, service: RunningService, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "existing")
    body = {"value": [{"id": "a", "commandLine": "x"}, {"id": "EXISTING", "commandLine": "x"},
                      {"id": "b"}, {"id": "A", "commandLine": "x"}, {"id": "c", "commandLine": "x"}]}
    response = api.post(f"/jobs/{uid}/addtaskcollection", json=body)
    assert response.status_code == 200
    results = {result["taskId"]: result for result in response.json()["value"]}
    assert [results[name]["status"] for name in ("a", "EXISTING", "b", "A", "c")] == \
        ["success", "clienterror", "clienterror", "clienterror", "success"]
    assert results["EXISTING"]["error"]["code"] == "TaskExists"
    assert results["b"]["error"]["code"] == "MissingRequiredProperty"
    assert results["a"]["location"] == f"{service.endpoint}/jobs/{uid}/tasks/a"
    assert results["a"]["eTag"] == _task(api, uid, "a")["eTag"]
    listed = [task["id"] for task in api.get(f"/jobs/{uid}/tasks").json()["value"]]
    assert listed == ["existing", "a", "c"]


def test_add_collection_of_more_than_100_tasks_is_400(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    body = {"value": [{"id": f"t{index}", "commandLine": "x"} for index in range(101)]}
    response = api.post(f"/jobs/{uid}/addtaskcollection", json=body)
    assert error_of(response) == (400, "InvalidPropertyValue")
    assert value_of(response, "PropertyName") == "value"
    assert api.get(f"/jobs/{uid}/tasks").json()["value"] == []


def test_list_pages_and_filters_on_state(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    api.post(f"/jobs/{uid}/addtaskcollection",
             json={"value": [{"id": f"t{index}", "commandLine": "x"} for index in range(7)]})
    api.post(f"/jobs/{uid}/tasks/t2/terminate")
    api.post(f"/jobs/{uid}/tasks/t5/terminate")
    page = api.get(f"/jobs/{uid}/tasks", params={"api-version": "2025-06-01", "maxresults": "3"}).json()
    seen = [task["id"] for task in page["value"]]
    while "odata.nextLink" in page:
        page = follow(api, page["odata.nextLink"]).json()
        seen += [task["id"] for task in page["value"]]
    assert seen == [f"t{index}" for index in range(7)]
    completed = api.get(f"/jobs/{uid}/tasks", params={"api-version": "2025-06-01",
                                                      "$filter": "state eq 'completed'"}).json()["value"]
    assert [task["id"] for task in completed] == ["t2", "t5"]


def test_put_replaces_constraints_and_an_omitted_object_means_defaults(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    created = create_task(api, uid, "t1")
    response = api.put(f"/jobs/{uid}/tasks/t1", json={"constraints": {"maxWallClockTime": "PT1H",
                                                                         "maxTaskRetryCount": 2}})
    assert response.status_code == 200 and response.headers["ETag"] != created.headers["ETag"]
    assert _task(api, uid, "t1")["constraints"] == {"maxWallClockTime": "PT1H", "retentionTime": "P7D",
                                                    "maxTaskRetryCount": 2}
    assert api.put(f"/jobs/{uid}/tasks/t1", json={}).status_code == 200
    assert _task(api, uid, "t1")["constraints"]["maxWallClockTime"] == UNLIMITED


def test_delete_removes_the_task(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "t1")
    assert api.delete(f"/jobs/{uid}/tasks/t1").status_code == 200
    assert error_of(api.get(f"/jobs/{uid}/tasks/t1")) == (404, "TaskNotFound")
    assert error_of(api.delete(f"/jobs/{uid}/tasks/t1")) == (404, "TaskNotFound")


def test_terminate_completes_the_task_and_a_second_terminate_is_409(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "t1")
    response = api.post(f"/jobs/{uid}/tasks/t1/terminate")
    assert response.status_code == 204 and "ETag" in response.headers
    task = _task(api, uid, "t1")
    assert (task["state"], task["previousState"]) == ("completed", "active")
    assert task["executionInfo"]["result"] == "failure"
    assert task["executionInfo"]["failureInfo"]["code"] == "TaskEnded"
    assert error_of(api.post(f"/jobs/{uid}/tasks/t1/terminate")) == (409, "TaskCompleted")


def test_reactivate_makes_a_failed_task_active_again(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "t1")
    assert error_of(api.post(f"/jobs/{uid}/tasks/t1/reactivate")) == (409, "TaskNotCompleted")
    api.post(f"/jobs/{uid}/tasks/t1/terminate")
    assert api.post(f"/jobs/{uid}/tasks/t1/reactivate").status_code == 204
    task = _task(api, uid, "t1")
    assert (task["state"], task["previousState"]) == ("active", "completed")
    assert task["executionInfo"] == {"retryCount": 0, "requeueCount": 0}


def test_reactivate_on_a_completed_job_is_409(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "t1")
    api.post(f"/jobs/{uid}/tasks/t1/terminate")
    api.post(f"/jobs/{uid}/terminate")
    assert error_of(api.post(f"/jobs/{uid}/tasks/t1/reactivate")) == (409, "JobCompleted")


def test_subtasks_of_an_ordinary_task_are_empty(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "t1")
    response = api.get(f"/jobs/{uid}/tasks/t1/subtasksinfo")
    assert (response.status_code, response.json()) == (200, {"value": []})


def test_unknown_tasks_are_404_task_not_found(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    for response in (api.get(f"/jobs/{uid}/tasks/nope"), api.put(f"/jobs/{uid}/tasks/nope", json={}),
                     api.post(f"/jobs/{uid}/tasks/nope/terminate"), api.post(f"/jobs/{uid}/tasks/nope/reactivate"),
                     api.get(f"/jobs/{uid}/tasks/nope/files")):
        assert error_of(response) == (404, "TaskNotFound")
