"""Request-body errors from batch_service.validation, each seen once through HTTP with its status and code."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.batch_service.conftest import create_job, error_of, value_of

POOL = {"poolId": "local"}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"poolInfo": POOL}, 400, "MissingRequiredProperty"),
    ({"id": "bad id!", "poolInfo": POOL}, 400, "InvalidPropertyValue"),
    ({"id": "x" * 65, "poolInfo": POOL}, 400, "InvalidPropertyValue"),
    ({"id": "ok", "poolInfo": POOL, "priority": 5000}, 400, "InvalidPropertyValue"),
    ({"id": "ok", "poolInfo": POOL, "onAllTasksComplete": "sometimes"}, 400, "InvalidPropertyValue"),
    ({"id": "ok", "poolInfo": POOL, "colour": "blue"}, 400, "InvalidRequestBody"),
    ({"id": "ok", "poolInfo": {"poolId": "a", "autoPoolSpecification": {"poolLifetimeOption": "job"}}},
     400, "InvalidPropertyValue"),
    ({"id": "ok", "poolInfo": POOL, "metadata": [{"name": "", "value": "v"}]}, 400, "EmptyMetadataKey"),
])
def test_invalid_job_bodies_are_refused(api: httpx.Client, body: dict[str, Any], status: int, code: str) -> None:
    response = api.post("/jobs", json=body)
    assert error_of(response) == (status, code), response.text
    assert value_of(response, "PropertyName") is not None or code == "InvalidRequestBody"


def test_an_unknown_property_is_named_in_the_error(api: httpx.Client, uid: str) -> None:
    response = api.post("/jobs", json={"id": uid, "poolInfo": POOL, "colour": "blue"})
    assert "colour" in response.json()["message"]["value"] or "colour" in str(response.json().get("values"))


def test_depends_on_needs_uses_task_dependencies(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    response = api.post(f"/jobs/{uid}/tasks", json={"id": "t", "commandLine": "x", "dependsOn": {"taskIds": ["a"]}})
    assert error_of(response) == (400, "TaskDependenciesNotSpecifiedOnJob")


def test_a_job_action_on_a_noaction_job_is_400(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    body = {"id": "t", "commandLine": "x",
            "exitConditions": {"default": {"jobAction": "disable"}}}
    assert error_of(api.post(f"/jobs/{uid}/tasks", json=body)) == (400, "InvalidPropertyValue")


def test_a_task_without_command_line_is_400(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    assert error_of(api.post(f"/jobs/{uid}/tasks", json={"id": "t"})) == (400, "MissingRequiredProperty")


def test_patch_with_a_property_patch_does_not_have_is_400(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    response = api.patch(f"/jobs/{uid}", json={"displayName": "renamed"})
    assert error_of(response)[0] == 400
    assert "displayName" not in api.get(f"/jobs/{uid}").json()


def test_task_update_accepts_only_constraints(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    api.post(f"/jobs/{uid}/tasks", json={"id": "t", "commandLine": "x"})
    assert error_of(api.put(f"/jobs/{uid}/tasks/t", json={"commandLine": "y"}))[0] == 400


def test_disable_needs_disable_tasks(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    assert error_of(api.post(f"/jobs/{uid}/disable", json={})) == (400, "MissingRequiredProperty")
    assert error_of(api.post(f"/jobs/{uid}/disable", json={"disableTasks": "later"})) == (400, "InvalidPropertyValue")
    assert api.get(f"/jobs/{uid}").json()["state"] == "active"


def test_release_task_longer_than_fifteen_minutes_is_400(api: httpx.Client, uid: str) -> None:
    body = {"id": uid, "poolInfo": POOL, "jobPreparationTask": {"commandLine": "x"},
            "jobReleaseTask": {"commandLine": "x", "maxWallClockTime": "PT16M"}}
    assert error_of(api.post("/jobs", json=body)) == (400, "InvalidPropertyValue")


def test_pool_bodies_are_validated(api: httpx.Client, uid: str) -> None:
    assert error_of(api.post("/pools", json={"id": uid}))[0] == 400
