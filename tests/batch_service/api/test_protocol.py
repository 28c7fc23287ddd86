"""Protocol conventions of section 1 and the error shape of section 7.1."""
from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from tests.batch_service.conftest import BODY_TYPE, create_job, error_of, value_of
from tests.support.service import RunningService
from tests.support.sharedkey import SharedKeyAuth


def _unversioned(service: RunningService) -> httpx.Client:
    return httpx.Client(base_url=service.endpoint, auth=SharedKeyAuth(service.account_name, service.account_key))


def test_missing_api_version_is_400_missing_required_query_parameter(service: RunningService) -> None:
    with _unversioned(service) as client:
        response = client.get("/jobs")
    assert error_of(response) == (400, "MissingRequiredQueryParameter")
    assert value_of(response, "QueryParameterName") == "api-version"


def test_another_api_version_is_400_unsupported_request_version(service: RunningService) -> None:
    with _unversioned(service) as client:
        response = client.get("/jobs", params={"api-version": "2024-07-01.20.0"})
    assert error_of(response) == (400, "UnsupportedRequestVersion")


def test_error_body_has_the_batch_error_shape(api: httpx.Client) -> None:
    response = api.get("/jobs/no-such-job")
    body = response.json()
    assert error_of(response) == (404, "JobNotFound")
    assert set(body) == {"odata.metadata", "code", "message"}
    assert body["message"]["lang"] == "en-US"
    request_id = response.headers["request-id"]
    assert re.fullmatch(r"The specified job does not exist\.\nRequestId:" + request_id
                        + r"\nTime:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", body["message"]["value"])
    assert response.headers["Content-Type"] == "application/json"


def test_every_response_carries_a_request_id(api: httpx.Client) -> None:
    first, second = api.get("/pools/local"), api.get("/pools/local")
    assert uuid.UUID(first.headers["request-id"]) != uuid.UUID(second.headers["request-id"])


def test_client_request_id_is_echoed_when_asked(api: httpx.Client) -> None:
    client_id = str(uuid.uuid4())
    asked = api.get("/pools/local", headers={"client-request-id": client_id, "return-client-request-id": "true"})
    not_asked = api.get("/pools/local", headers={"client-request-id": client_id})
    assert asked.headers["client-request-id"] == client_id
    assert "client-request-id" not in not_asked.headers


def test_an_unknown_path_is_404_resource_not_found(api: httpx.Client) -> None:
    assert error_of(api.get("/nothing/here")) == (404, "ResourceNotFound")


def test_an_unsupported_verb_is_405(api: httpx.Client) -> None:
    assert error_of(api.put("/jobs", json={})) == (405, "UnsupportedHttpVerb")


def test_a_body_that_is_not_json_is_400_invalid_request_body(api: httpx.Client) -> None:
    response = api.post("/jobs", content=b"{not json", headers={"Content-Type": BODY_TYPE})
    assert error_of(response) == (400, "InvalidRequestBody")


def test_a_body_of_one_megabyte_is_413_request_body_too_large(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    padding = "x" * (1024 * 1024)
    response = api.post(f"/jobs/{uid}/addtaskcollection",
                        content=json.dumps({"value": [{"id": "t1", "commandLine": padding}]}).encode(),
                        headers={"Content-Type": BODY_TYPE})
    assert error_of(response) == (413, "RequestBodyTooLarge")


@pytest.mark.parametrize(("params", "code"), [({"maxresults": "0"}, "OutOfRangeQueryParameterValue"),
                                              ({"maxresults": "1001"}, "OutOfRangeQueryParameterValue"),
                                              ({"maxresults": "ten"}, "InvalidQueryParameterValue"),
                                              ({"$filter": "state eq"}, "InvalidQueryParameterValue"),
                                              ({"$filter": "state is 'active'"}, "InvalidQueryParameterValue")])
def test_bad_list_parameters_are_400(api: httpx.Client, params: dict[str, str], code: str) -> None:
    assert error_of(api.get("/jobs", params={"api-version": "2025-06-01", **params})) == (400, code)


def test_the_timeout_parameter_is_accepted(api: httpx.Client) -> None:
    assert api.get("/pools/local", params={"api-version": "2025-06-01", "timeOut": "30"}).status_code == 200
