"""Jobs over raw HTTP: status codes, headers, read-model defaults, PATCH vs PUT, states, delete (2.1, 4.1, 5, 6)."""
from __future__ import annotations

import email.utils
import re
import time
from typing import Any

import httpx

from tests.batch_service.conftest import BODY_TYPE, create_job, error_of, follow
from tests.support.service import RunningService

ETAG = re.compile(r'"0x8D[0-9A-F]{13}"')
UNLIMITED = "P10675199DT2H48M5.4775807S"


def _job(api: httpx.Client, job_id: str) -> dict[str, Any]:
    response = api.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_is_201_with_etag_last_modified_and_data_service_id(api: httpx.Client, service: RunningService,
                                                                   uid: str) -> None:
    response = create_job(api, uid)
    assert response.content == b""
    assert ETAG.fullmatch(response.headers["ETag"])
    assert email.utils.parsedate_to_datetime(response.headers["Last-Modified"]) is not None
    assert response.headers["DataServiceId"] == f"{service.endpoint}/jobs/{uid}"


def test_get_fills_in_the_documented_defaults(api: httpx.Client, service: RunningService, uid: str) -> None:
    created = create_job(api, uid)
    response = api.get(f"/jobs/{uid}")
    job = response.json()
    assert response.headers["ETag"] == created.headers["ETag"] == f'"{job["eTag"]}"'
    assert job["url"] == f"{service.endpoint}/jobs/{uid}"
    assert job["state"] == "active" and "previousState" not in job
    assert job["creationTime"] == job["lastModified"] == job["stateTransitionTime"]
    assert (job["priority"], job["maxParallelTasks"], job["allowTaskPreemption"]) == (0, -1, False)
    assert job["usesTaskDependencies"] is False
    assert job["constraints"] == {"maxWallClockTime": UNLIMITED, "maxTaskRetryCount": 0}
    assert (job["onAllTasksComplete"], job["onTaskFailure"]) == ("noaction", "noaction")
    assert job["executionInfo"] == {"startTime": job["creationTime"], "poolId": "local"}


def test_enum_values_are_stored_lowercase(api: httpx.Client, uid: str) -> None:
    create_job(api, uid, onAllTasksComplete="NoAction", onTaskFailure="PerformExitOptionsJobAction")
    job = _job(api, uid)
    assert (job["onAllTasksComplete"], job["onTaskFailure"]) == ("noaction", "performexitoptionsjobaction")


def test_job_manager_preparation_and_release_get_their_defaults(api: httpx.Client, uid: str) -> None:
    create_job(api, uid, jobManagerTask={"id": "manager", "commandLine": "/bin/true"},
               jobPreparationTask={"commandLine": "/bin/true"}, jobReleaseTask={"commandLine": "/bin/true"})
    job = _job(api, uid)
    manager = job["jobManagerTask"]
    assert (manager["killJobOnCompletion"], manager["runExclusive"], manager["allowLowPriorityNode"],
            manager["requiredSlots"]) == (True, True, True, 1)
    preparation, release = job["jobPreparationTask"], job["jobReleaseTask"]
    assert (preparation["id"], preparation["waitForSuccess"], preparation["rerunOnNodeRebootAfterSuccess"]) == \
        ("jobpreparation", True, True)
    assert (release["id"], release["maxWallClockTime"], release["retentionTime"]) == ("jobrelease", "PT15M", "P7D")
    assert [task["id"] for task in api.get(f"/jobs/{uid}/tasks").json()["value"]] == ["manager"]


def test_job_ids_are_unique_case_insensitively(api: httpx.Client, uid: str) -> None:
    create_job(api, uid.lower())
    response = api.post("/jobs", json={"id": uid.upper(), "poolInfo": {"poolId": "local"}})
    assert error_of(response) == (409, "JobExists")
    assert _job(api, uid.upper())["id"] == uid.lower()


def test_list_pages_with_maxresults_and_next_link(api: httpx.Client, uid: str) -> None:
    for index in range(5):
        create_job(api, f"{uid}-{index}")
    params = {"api-version": "2025-06-01", "maxresults": "2", "$filter": f"startswith(id,'{uid}')"}
    page = api.get("/jobs", params=params).json()
    seen, pages = [job["id"] for job in page["value"]], 1
    while "odata.nextLink" in page:
        page = follow(api, page["odata.nextLink"]).json()
        assert len(page["value"]) <= 2
        seen += [job["id"] for job in page["value"]]
        pages += 1
    assert seen == [f"{uid}-{index}" for index in range(5)]
    assert pages == 3


def test_list_filters_on_state_with_and_or(api: httpx.Client, uid: str) -> None:
    for name in ("a", "b", "c"):
        create_job(api, f"{uid}-{name}")
    api.post(f"/jobs/{uid}-b/terminate")
    api.post(f"/jobs/{uid}-c/disable", json={"disableTasks": "wait"})

    def ids(expression: str) -> list[str]:
        response = api.get("/jobs", params={"api-version": "2025-06-01",
                                            "$filter": f"startswith(id,'{uid}') and ({expression})"})
        assert response.status_code == 200, response.text
        return [job["id"][-1] for job in response.json()["value"]]

    assert ids("state eq 'active'") == ["a"]
    assert ids("state eq 'completed' or state eq 'disabled'") == ["b", "c"]
    assert ids("state ne 'active'") == ["b", "c"]


def test_select_returns_only_the_named_properties(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    one = api.get(f"/jobs/{uid}", params={"api-version": "2025-06-01", "$select": "id,state"}).json()
    assert set(one) == {"odata.metadata", "id", "state"}
    listed = api.get("/jobs", params={"api-version": "2025-06-01", "$select": "id",
                                      "$filter": f"id eq '{uid}'"}).json()["value"]
    assert listed == [{"id": uid}]


def test_patch_changes_only_the_properties_present(api: httpx.Client, uid: str) -> None:
    created = create_job(api, uid, priority=10, metadata=[{"name": "team", "value": "render"}])
    response = api.patch(f"/jobs/{uid}", json={"maxParallelTasks": 4}, headers={"Content-Type": BODY_TYPE})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["ETag"] != created.headers["ETag"]
    job = _job(api, uid)
    assert (job["priority"], job["maxParallelTasks"], job["metadata"]) == \
        (10, 4, [{"name": "team", "value": "render"}])


def test_put_resets_the_omitted_updatable_properties(api: httpx.Client, uid: str) -> None:
    create_job(api, uid, priority=10, maxParallelTasks=3, allowTaskPreemption=True,
               constraints={"maxTaskRetryCount": 2}, metadata=[{"name": "a", "value": "b"}])
    response = api.put(f"/jobs/{uid}", json={"poolInfo": {"poolId": "local"}})
    assert response.status_code == 200
    job = _job(api, uid)
    assert (job["priority"], job["maxParallelTasks"], job["allowTaskPreemption"]) == (0, -1, False)
    assert job["constraints"] == {"maxWallClockTime": UNLIMITED, "maxTaskRetryCount": 0}
    assert "metadata" not in job


def test_put_without_pool_info_is_400(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    status, code = error_of(api.put(f"/jobs/{uid}", json={"priority": 1}))
    assert (status, code) == (400, "MissingRequiredProperty")


def test_terminatejob_cannot_go_back_to_noaction(api: httpx.Client, uid: str) -> None:
    create_job(api, uid, onAllTasksComplete="terminatejob")
    response = api.patch(f"/jobs/{uid}", json={"onAllTasksComplete": "noaction"})
    assert error_of(response) == (400, "InvalidPropertyValue")
    assert error_of(api.put(f"/jobs/{uid}", json={"poolInfo": {"poolId": "local"}})) == \
        (400, "InvalidPropertyValue")


def test_pool_info_changes_only_while_disabled(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    assert api.patch(f"/jobs/{uid}", json={"poolInfo": {"poolId": "local"}}).status_code == 200
    assert error_of(api.patch(f"/jobs/{uid}", json={"poolInfo": {"poolId": "other"}})) == \
        (409, "OperationInvalidForCurrentState")
    assert api.post(f"/jobs/{uid}/disable", json={"disableTasks": "requeue"}).status_code == 202
    assert api.patch(f"/jobs/{uid}", json={"poolInfo": {"poolId": "other"}}).status_code == 200
    assert api.post(f"/jobs/{uid}/enable").status_code == 202
    job = _job(api, uid)
    assert (job["state"], job["poolInfo"], job["executionInfo"]["poolId"]) == \
        ("active", {"poolId": "other"}, "other")


def test_auto_pool_gets_a_generated_id_and_goes_with_the_job(api: httpx.Client, uid: str) -> None:
    spec = {"autoPoolIdPrefix": "render", "poolLifetimeOption": "job",
            "pool": {"vmSize": "standard_d2s_v3", "targetDedicatedNodes": 1, "virtualMachineConfiguration": {
                "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
                "nodeAgentSKUId": "batch.node.ubuntu 22.04"}}}
    create_job(api, uid, poolInfo={"autoPoolSpecification": spec})
    pool_id = _job(api, uid)["executionInfo"]["poolId"]
    assert re.fullmatch(r"render_[0-9A-F-]{36}", pool_id)
    assert api.get(f"/pools/{pool_id}").json()["vmSize"] == "standard_d2s_v3"
    keep = {"autoPoolSpecification": {**spec, "keepAlive": False}}
    assert api.patch(f"/jobs/{uid}", json={"poolInfo": keep}).status_code == 200
    changed = {"autoPoolSpecification": {**spec, "autoPoolIdPrefix": "other"}}
    assert error_of(api.patch(f"/jobs/{uid}", json={"poolInfo": changed}))[0] == 400
    api.post(f"/jobs/{uid}/terminate")
    assert api.get(f"/pools/{pool_id}").json()["state"] == "deleting"


def test_disable_and_enable_are_202_and_move_the_state(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    response = api.post(f"/jobs/{uid}/disable", json={"disableTasks": "wait"}, headers={"Content-Type": BODY_TYPE})
    assert response.status_code == 202 and "DataServiceId" in response.headers
    job = _job(api, uid)
    assert (job["state"], job["previousState"]) == ("disabled", "disabling")
    assert api.post(f"/jobs/{uid}/enable").status_code == 202
    job = _job(api, uid)
    assert (job["state"], job["previousState"]) == ("active", "enabling")


def test_terminate_completes_the_job_with_its_reason(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    assert api.post(f"/jobs/{uid}/terminate", json={"terminateReason": "Done"}).status_code == 202
    job = _job(api, uid)
    assert job["state"] == "completed"
    assert job["executionInfo"]["terminateReason"] == "Done"
    assert job["executionInfo"]["endTime"] == job["stateTransitionTime"]


def test_a_completed_job_accepts_no_changes(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    api.post(f"/jobs/{uid}/terminate")
    assert error_of(api.patch(f"/jobs/{uid}", json={"priority": 1})) == (409, "JobCompleted")
    assert error_of(api.put(f"/jobs/{uid}", json={"poolInfo": {"poolId": "local"}})) == (409, "JobCompleted")
    assert error_of(api.post(f"/jobs/{uid}/disable", json={"disableTasks": "wait"})) == (409, "JobCompleted")
    assert error_of(api.post(f"/jobs/{uid}/enable")) == (409, "JobCompleted")
    assert error_of(api.post(f"/jobs/{uid}/terminate")) == (409, "JobCompleted")
    assert error_of(api.post(f"/jobs/{uid}/tasks", json={"id": "t", "commandLine": "x"})) == (409, "JobCompleted")


def test_a_disabled_job_refuses_new_tasks(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    api.post(f"/jobs/{uid}/disable", json={"disableTasks": "wait"})
    assert error_of(api.post(f"/jobs/{uid}/tasks", json={"id": "t", "commandLine": "x"})) == (409, "JobNotActive")
    response = api.post(f"/jobs/{uid}/addtaskcollection", json={"value": [{"id": "t", "commandLine": "x"}]})
    assert error_of(response) == (409, "JobNotActive")


def test_delete_is_asynchronous_and_holds_the_id_until_gone(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    response = api.delete(f"/jobs/{uid}")
    assert response.status_code == 202
    assert _job(api, uid)["state"] == "deleting"
    assert error_of(api.post("/jobs", json={"id": uid, "poolInfo": {"poolId": "local"}})) == (409, "JobBeingDeleted")
    assert error_of(api.patch(f"/jobs/{uid}", json={"priority": 1})) == (409, "JobBeingDeleted")
    assert error_of(api.delete(f"/jobs/{uid}")) == (409, "JobBeingDeleted")
    deadline = time.monotonic() + 5
    while api.get(f"/jobs/{uid}").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert error_of(api.get(f"/jobs/{uid}")) == (404, "JobNotFound")
    create_job(api, uid)


def test_task_counts_count_tasks_and_slots(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    api.post(f"/jobs/{uid}/tasks", json={"id": "one", "commandLine": "x"})
    api.post(f"/jobs/{uid}/tasks", json={"id": "two", "commandLine": "x", "requiredSlots": 2})
    api.post(f"/jobs/{uid}/tasks/one/terminate")
    counts = api.get(f"/jobs/{uid}/taskcounts").json()
    assert counts["taskCounts"] == {"active": 1, "running": 0, "completed": 1, "succeeded": 0, "failed": 1}
    assert counts["taskSlotCounts"] == {"active": 2, "running": 0, "completed": 1, "succeeded": 0, "failed": 1}


def test_unknown_job_operations_are_404_job_not_found(api: httpx.Client) -> None:
    for response in (api.get("/jobs/nope"), api.patch("/jobs/nope", json={"priority": 1}),
                     api.post("/jobs/nope/enable"), api.delete("/jobs/nope"), api.get("/jobs/nope/taskcounts"),
                     api.get("/jobs/nope/tasks")):
        assert error_of(response) == (404, "JobNotFound")
