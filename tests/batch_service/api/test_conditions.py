"""Conditional requests (section 1.4): 412 on writes, 304 on reads; the ETag changes on every change."""
from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from azure.batch import BatchClient, models
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError

from tests.batch_service.conftest import create_job, create_task, error_of


def test_if_match_with_the_current_etag_lets_the_write_through(api: httpx.Client, uid: str) -> None:
    etag = create_job(api, uid).headers["ETag"]
    response = api.patch(f"/jobs/{uid}", json={"priority": 5}, headers={"If-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag


def test_if_match_with_a_stale_etag_is_412_and_changes_nothing(api: httpx.Client, uid: str) -> None:
    stale = create_job(api, uid).headers["ETag"]
    api.patch(f"/jobs/{uid}", json={"priority": 5})
    response = api.patch(f"/jobs/{uid}", json={"priority": 9}, headers={"If-Match": stale})
    assert error_of(response) == (412, "ConditionNotMet")
    assert api.get(f"/jobs/{uid}").json()["priority"] == 5


@pytest.mark.parametrize("verb", ["disable", "enable", "terminate", "delete"])
def test_every_job_verb_honours_if_match(api: httpx.Client, uid: str, verb: str) -> None:
    create_job(api, uid)
    headers = {"If-Match": '"0x8D000000000000"'}
    if verb == "delete":
        response = api.delete(f"/jobs/{uid}", headers=headers)
    else:
        response = api.post(f"/jobs/{uid}/{verb}", json={"disableTasks": "wait"} if verb == "disable" else {},
                            headers=headers)
    assert error_of(response) == (412, "ConditionNotMet")


def test_task_writes_honour_if_match(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    etag = create_task(api, uid, "t1").headers["ETag"]
    assert error_of(api.put(f"/jobs/{uid}/tasks/t1", json={}, headers={"If-Match": '"0x8D1"'})) == \
        (412, "ConditionNotMet")
    assert api.post(f"/jobs/{uid}/tasks/t1/terminate", headers={"If-Match": etag}).status_code == 204


def test_if_none_match_with_the_current_etag_is_304_on_get(api: httpx.Client, uid: str) -> None:
    etag = create_job(api, uid).headers["ETag"]
    response = api.get(f"/jobs/{uid}", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert api.get(f"/jobs/{uid}", headers={"If-None-Match": '"0x8D1"'}).status_code == 200


def test_if_modified_since_and_if_unmodified_since(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    future = email.utils.formatdate(time.time() + 3600, usegmt=True)
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    assert api.get(f"/jobs/{uid}", headers={"If-Modified-Since": future}).status_code == 304
    assert api.get(f"/jobs/{uid}", headers={"If-Modified-Since": past}).status_code == 200
    assert error_of(api.patch(f"/jobs/{uid}", json={"priority": 1}, headers={"If-Unmodified-Since": past})) == \
        (412, "ConditionNotMet")
    assert error_of(api.get(f"/jobs/{uid}", headers={"If-Modified-Since": "yesterday"})) == \
        (400, "InvalidHeaderValue")


def test_the_sdk_raises_resource_modified_for_a_stale_etag(sdk: BatchClient, uid: str) -> None:
    sdk.create_job(models.BatchJobCreateOptions(id=uid, pool_info=models.BatchPoolInfo(pool_id="local")))
    etag = sdk.get_job(uid).etag
    sdk.update_job(uid, models.BatchJobUpdateOptions(priority=1), etag=etag,
                   match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceModifiedError) as raised:
        sdk.update_job(uid, models.BatchJobUpdateOptions(priority=2), etag=etag,
                       match_condition=MatchConditions.IfNotModified)
    assert raised.value.status_code == 412
    assert sdk.get_job(uid).priority == 1
