"""Shared Key over real HTTP (section 8.2): who gets in, and the 403/400 answers for those who do not."""
from __future__ import annotations

import email.utils
import time
from pathlib import Path

import httpx
import pytest

from tests.batch_service.conftest import API_VERSION, error_of, run_service, value_of
from tests.support.service import RunningService
from tests.support.sharedkey import SharedKeyAuth, signature, string_to_sign


def _raw(service: RunningService) -> httpx.Client:
    return httpx.Client(base_url=service.endpoint, params={"api-version": API_VERSION}, timeout=10.0)


def test_a_signed_request_is_answered(api: httpx.Client) -> None:
    assert api.get("/pools/local").status_code == 200


def test_an_unsigned_request_is_403_authentication_failed(service: RunningService) -> None:
    with _raw(service) as client:
        response = client.get("/jobs")
    assert error_of(response) == (403, "AuthenticationFailed")
    assert value_of(response, "AuthenticationErrorDetail")


def test_a_wrong_key_is_403_and_the_detail_shows_the_string_to_sign(service: RunningService) -> None:
    wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktMTIzNDU2Nzg="
    with httpx.Client(base_url=service.endpoint, params={"api-version": API_VERSION},
                      auth=SharedKeyAuth(service.account_name, wrong_key)) as client:
        response = client.get("/jobs/some-job")
    assert error_of(response) == (403, "AuthenticationFailed")
    detail = value_of(response, "AuthenticationErrorDetail") or ""
    assert f"/{service.account_name}/jobs/some-job" in detail
    assert service.account_key not in response.text


def test_another_account_name_is_403(service: RunningService) -> None:
    with httpx.Client(base_url=service.endpoint, params={"api-version": API_VERSION},
                      auth=SharedKeyAuth("otheraccount", service.account_key)) as client:
        assert error_of(client.get("/jobs")) == (403, "AuthenticationFailed")


def test_a_stale_ocp_date_is_403(service: RunningService) -> None:
    stale = email.utils.formatdate(time.time() - 16 * 60, usegmt=True)
    with httpx.Client(base_url=service.endpoint, params={"api-version": API_VERSION},
                      auth=SharedKeyAuth(service.account_name, service.account_key)) as client:
        response = client.get("/jobs", headers={"ocp-date": stale})
    assert error_of(response) == (403, "AuthenticationFailed")
    assert "15 minutes" in (value_of(response, "AuthenticationErrorDetail") or "")


def test_a_date_header_instead_of_ocp_date_is_accepted(service: RunningService) -> None:
    now = email.utils.formatdate(usegmt=True)
    raw_query = f"api-version={API_VERSION}"
    text = string_to_sign("GET", "/pools/local", raw_query, {"Date": now}, service.account_name)
    headers = {"Date": now,
               "Authorization": f"SharedKey {service.account_name}:{signature(service.account_key, text)}"}
    response = httpx.get(f"{service.endpoint}/pools/local?{raw_query}", headers=headers)
    assert response.status_code == 200


def test_query_names_signed_as_sent_are_accepted(service: RunningService) -> None:
    now = email.utils.formatdate(usegmt=True)
    raw_query = f"api-version={API_VERSION}&timeOut=30"
    text = (f"GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:{now}\n/{service.account_name}/pools/local"
            f"\napi-version:{API_VERSION}\ntimeOut:30")
    headers = {"ocp-date": now,
               "Authorization": f"SharedKey {service.account_name}:{signature(service.account_key, text)}"}
    assert httpx.get(f"{service.endpoint}/pools/local?{raw_query}", headers=headers).status_code == 200


@pytest.mark.parametrize("header", ["SharedKey devbatchaccount", "SharedKey :abc", "Basic dXNlcjpwYXNz",
                                    "SharedKey devbatchaccount:sig extra"])
def test_a_malformed_authorization_header_is_400_invalid_authentication_info(service: RunningService,
                                                                             header: str) -> None:
    with _raw(service) as client:
        response = client.get("/jobs", headers={"Authorization": header,
                                                "ocp-date": email.utils.formatdate(usegmt=True)})
    assert error_of(response) == (400, "InvalidAuthenticationInfo")


def test_a_bearer_token_is_refused_unless_allowed(service: RunningService) -> None:
    with _raw(service) as client:
        response = client.get("/jobs", headers={"Authorization": "Bearer some-token"})
    assert error_of(response) == (403, "AuthenticationFailed")


def test_a_bearer_token_is_accepted_with_allow_bearer(tmp_path: Path) -> None:
    with run_service(tmp_path / "svc", "--allow-bearer") as bearer_service, _raw(bearer_service) as client:
        assert client.get("/pools/local", headers={"Authorization": "Bearer anything"}).status_code == 200
        assert error_of(client.get("/pools/local")) == (403, "AuthenticationFailed")


def test_control_endpoints_need_no_auth(service: RunningService) -> None:
    response = httpx.get(f"{service.endpoint}/_local/stats")
    assert response.status_code == 200
    assert set(response.json()) == {"requests", "faults"}
