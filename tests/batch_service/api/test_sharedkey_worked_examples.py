"""The service's Shared Key verifier and the tests' signing helper, each held to the three worked signatures
of reference section 8.2 (written independently, so a shared misreading cannot hide)."""
from __future__ import annotations

import base64

import pytest

from batch_service.api import auth
from batch_service.backend import errors
from batch_service.backend.ids import ticks_from_rfc1123
from tests.support import sharedkey

ACCOUNT = "myaccount"
KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 0123456789abcdef0123456789abcdef
DATE = "Tue, 01 Jul 2025 12:00:00 GMT"
JOB_BODY = b'{"id": "job1", "poolInfo": {"poolId": "pool1"}}'

WORKED = [
    pytest.param("POST", "/jobs", "api-version=2025-06-01",
                 {"Content-Type": "application/json; odata=minimalmetadata", "Content-Length": "47"}, 47,
                 "6uvYrdTigeTbw2BcEM87ofRRBlCl6vUpACE+Yrg2IMI=", id="create-job"),
    pytest.param("GET", "/jobs", "api-version=2025-06-01&maxresults=10&$filter=state%20eq%20%27active%27", {}, 0,
                 "Ftw2fnYbU6kniqyFR6VUwNJzpSdxOgWaqJ/AE4yGUQ8=", id="list-with-filter"),
    pytest.param("GET", "/jobs/job1", "api-version=2025-06-01", {"If-Match": '"0x8DD0000"'}, 0,
                 "KF3WO8gGWrMFj1sueQUoc3lR2MMq9lo5Rdm5X0sUeC0=", id="get-if-match"),
]


def _request(method: str, path: str, query: str, headers: dict[str, str], length: int,
             authorization: str = "") -> auth.SignedRequest:
    all_headers = {"ocp-date": DATE, **headers}
    if authorization:
        all_headers["Authorization"] = authorization
    return auth.SignedRequest(method, path, query, all_headers, length)


@pytest.mark.parametrize(("method", "path", "query", "headers", "length", "expected"), WORKED)
def test_service_verifier_accepts_the_worked_signatures(method: str, path: str, query: str,
                                                        headers: dict[str, str], length: int,
                                                        expected: str) -> None:
    verifier = auth.SharedKeyVerifier(ACCOUNT, KEY, now=lambda: ticks_from_rfc1123(DATE))
    assert verifier.verify(_request(method, path, query, headers, length, f"SharedKey {ACCOUNT}:{expected}")) is None
    # The acceptance means something only if the same request with another signature is refused.
    other = sharedkey.signature(KEY, "not the string to sign")
    with pytest.raises(errors.BatchServiceError) as raised:
        verifier.verify(_request(method, path, query, headers, length, f"SharedKey {ACCOUNT}:{other}"))
    assert (raised.value.status, raised.value.code) == (403, "AuthenticationFailed")


@pytest.mark.parametrize(("method", "path", "query", "headers", "length", "expected"), WORKED)
def test_service_string_to_sign_gives_the_worked_signatures(method: str, path: str, query: str,
                                                            headers: dict[str, str], length: int,
                                                            expected: str) -> None:
    request = _request(method, path, query, headers, length)
    text = auth.string_to_sign(request, ACCOUNT, content_length=auth.content_length_readings(request)[0],
                               lowercase_names=True)
    assert auth.sign(base64.b64decode(KEY), text) == expected


@pytest.mark.parametrize(("method", "path", "query", "headers", "length", "expected"), WORKED)
def test_test_signing_helper_gives_the_worked_signatures(method: str, path: str, query: str,
                                                         headers: dict[str, str], length: int,
                                                         expected: str) -> None:
    text = sharedkey.string_to_sign(method, path, query, {"ocp-date": DATE, **headers}, ACCOUNT)
    assert sharedkey.signature(KEY, text) == expected


def test_worked_example_two_resource_part_is_decoded_and_sorted() -> None:
    resource = auth.canonicalized_resource(ACCOUNT, "/jobs",
                                           "api-version=2025-06-01&maxresults=10&$filter=state%20eq%20%27active%27",
                                           lowercase_names=True)
    assert resource == "/myaccount/jobs\n$filter:state eq 'active'\napi-version:2025-06-01\nmaxresults:10"


def test_a_tampered_signature_is_403_with_the_string_to_sign_in_the_detail() -> None:
    verifier = auth.SharedKeyVerifier(ACCOUNT, KEY, now=lambda: ticks_from_rfc1123(DATE))
    wrong = _request("GET", "/jobs/job2", "api-version=2025-06-01", {}, 0,
                     "SharedKey myaccount:KF3WO8gGWrMFj1sueQUoc3lR2MMq9lo5Rdm5X0sUeC0=")
    with pytest.raises(errors.BatchServiceError) as raised:
        verifier.verify(wrong)
    assert (raised.value.status, raised.value.code) == (403, "AuthenticationFailed")
    detail = raised.value.values[0]["value"]
    assert "/myaccount/jobs/job2" in detail and KEY not in detail


def test_query_names_signed_as_sent_are_accepted_too() -> None:
    # Signed by the tests' own signer, which lowercases query names; the SDK's reading keeps them as sent
    # (section 8.2), so the one line that differs is rewritten to that reading.
    verifier = auth.SharedKeyVerifier(ACCOUNT, KEY, now=lambda: ticks_from_rfc1123(DATE))
    lowered = sharedkey.string_to_sign("GET", "/jobs", "api-version=2025-06-01&timeOut=30", {"ocp-date": DATE},
                                       ACCOUNT)
    assert "\ntimeout:30" in lowered
    as_sent = lowered.replace("\ntimeout:30", "\ntimeOut:30")
    signed = sharedkey.signature(KEY, as_sent)
    assert signed != sharedkey.signature(KEY, lowered)
    verifier.verify(_request("GET", "/jobs", "api-version=2025-06-01&timeOut=30", {}, 0,
                             f"SharedKey {ACCOUNT}:{signed}"))


@pytest.mark.parametrize("signed_length", ["0", ""])
def test_a_bodiless_post_may_sign_content_length_zero_or_empty(signed_length: str) -> None:
    verifier = auth.SharedKeyVerifier(ACCOUNT, KEY, now=lambda: ticks_from_rfc1123(DATE))
    # The tests' signer signs Content-Length as given, so each reading is signed by code apart from the service.
    text = sharedkey.string_to_sign("POST", "/jobs/j/enable", "api-version=2025-06-01",
                                    {"ocp-date": DATE, "Content-Length": signed_length}, ACCOUNT)
    assert text.startswith(f"POST\n\n\n{signed_length}\n")
    signed = sharedkey.signature(KEY, text)
    verifier.verify(_request("POST", "/jobs/j/enable", "api-version=2025-06-01", {"Content-Length": "0"}, 0,
                             f"SharedKey {ACCOUNT}:{signed}"))


def test_a_date_sixteen_minutes_old_is_refused() -> None:
    sixteen_minutes = 16 * 60 * 10_000_000
    verifier = auth.SharedKeyVerifier(ACCOUNT, KEY, now=lambda: ticks_from_rfc1123(DATE) + sixteen_minutes)
    with pytest.raises(errors.BatchServiceError) as raised:
        verifier.verify(_request("GET", "/jobs/job1", "api-version=2025-06-01", {"If-Match": '"0x8DD0000"'}, 0,
                                 "SharedKey myaccount:KF3WO8gGWrMFj1sueQUoc3lR2MMq9lo5Rdm5X0sUeC0="))
    assert (raised.value.status, raised.value.code) == (403, "AuthenticationFailed")
