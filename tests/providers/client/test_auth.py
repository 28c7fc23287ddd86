"""Auth flows: Shared Key signing held to the worked signatures of batch-api.md section 8.2, Entra ID tokens.

EntraAuth is tested with a fake credential object, the only mock in these tests: a real Azure account and
Entra tenant cannot be used here, and the fake stands in for azure-identity's `get_token` only.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass

import httpx
import pytest

from providers.client.auth import BATCH_SCOPE, EntraAuth, SharedKeyAuth, string_to_sign
from providers.client.errors import ConfigurationError

# The fake key and account of section 8.2 (base64 of "0123456789abcdef0123456789abcdef").
KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
ACCOUNT = "myaccount"
DATE = "Tue, 01 Jul 2025 12:00:00 GMT"
BASE = "https://myaccount.westus.batch.azure.com"
JSON_TYPE = "application/json; odata=minimalmetadata"


def signed(request: httpx.Request, auth: httpx.Auth | None = None) -> httpx.Request:
    """Run the Shared Key flow as a bare generator and return the request it yields."""
    flow = (auth or SharedKeyAuth(ACCOUNT, KEY)).auth_flow(request)
    out = next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(201))
    return out


def test_worked_example_1_post_create_job() -> None:
    body = b'{"id": "job1", "poolInfo": {"poolId": "pool1"}}'
    request = httpx.Request("POST", f"{BASE}/jobs?api-version=2025-06-01", content=body,
                            headers={"ocp-date": DATE, "Content-Type": JSON_TYPE})
    assert len(body) == 47
    assert signed(request).headers["Authorization"] == (
        "SharedKey myaccount:6uvYrdTigeTbw2BcEM87ofRRBlCl6vUpACE+Yrg2IMI=")


def test_worked_example_1_string_to_sign_is_the_documented_one() -> None:
    request = httpx.Request("POST", f"{BASE}/jobs?api-version=2025-06-01",
                            content=b'{"id": "job1", "poolInfo": {"poolId": "pool1"}}',
                            headers={"ocp-date": DATE, "Content-Type": JSON_TYPE})
    expected = ("POST\n\n\n47\n\n" + JSON_TYPE + "\n\n\n\n\n\n\n"
                f"ocp-date:{DATE}\n/myaccount/jobs\napi-version:2025-06-01")
    assert string_to_sign(ACCOUNT, request) == expected


def test_worked_example_2_list_with_filter_signs_decoded_sorted_query() -> None:
    url = f"{BASE}/jobs?api-version=2025-06-01&maxresults=10&$filter=state%20eq%20%27active%27"
    request = httpx.Request("GET", url, headers={"ocp-date": DATE})
    assert string_to_sign(ACCOUNT, request).endswith(
        "/myaccount/jobs\n$filter:state eq 'active'\napi-version:2025-06-01\nmaxresults:10")
    assert signed(request).headers["Authorization"] == (
        "SharedKey myaccount:Ftw2fnYbU6kniqyFR6VUwNJzpSdxOgWaqJ/AE4yGUQ8=")


def test_worked_example_3_if_match_is_signed_with_its_quotes() -> None:
    request = httpx.Request("GET", f"{BASE}/jobs/job1?api-version=2025-06-01",
                            headers={"ocp-date": DATE, "If-Match": '"0x8DD0000"'})
    assert string_to_sign(ACCOUNT, request).split("\n")[8] == '"0x8DD0000"'
    assert signed(request).headers["Authorization"] == (
        "SharedKey myaccount:KF3WO8gGWrMFj1sueQUoc3lR2MMq9lo5Rdm5X0sUeC0=")


def test_query_names_are_lowercased_and_several_values_joined() -> None:
    request = httpx.Request("GET", f"{BASE}/jobs?timeOut=30&b=2&b=1&api-version=2025-06-01",
                            headers={"ocp-date": DATE})
    assert string_to_sign(ACCOUNT, request).endswith(
        "/myaccount/jobs\napi-version:2025-06-01\nb:1,2\ntimeout:30")


def test_ocp_date_is_added_when_absent_and_signed() -> None:
    request = signed(httpx.Request("GET", f"{BASE}/jobs?api-version=2025-06-01"))
    assert request.headers["ocp-date"].endswith(" GMT")
    assert f"ocp-date:{request.headers['ocp-date']}\n" in string_to_sign(ACCOUNT, request)


def test_bodiless_delete_sends_and_signs_content_length_zero() -> None:
    request = signed(httpx.Request("DELETE", f"{BASE}/jobs/job1?api-version=2025-06-01",
                                   headers={"ocp-date": DATE}))
    assert request.headers["Content-Length"] == "0"
    assert string_to_sign(ACCOUNT, request).split("\n")[3] == "0"


def test_get_signs_an_empty_content_length_line() -> None:
    request = signed(httpx.Request("GET", f"{BASE}/jobs?api-version=2025-06-01", headers={"ocp-date": DATE}))
    assert "Content-Length" not in request.headers
    assert string_to_sign(ACCOUNT, request).split("\n")[3] == ""


def test_ocp_headers_are_lowercased_sorted_and_folded() -> None:
    request = httpx.Request("GET", f"{BASE}/jobs/j/tasks/t/files/stdout.txt?api-version=2025-06-01",
                            headers={"Ocp-Range": "bytes=0-9", "ocp-date": DATE})
    text = string_to_sign(ACCOUNT, request)
    assert f"ocp-date:{DATE}\nocp-range:bytes=0-9\n/myaccount/jobs/j/tasks/t/files/stdout.txt" in text


def test_shared_key_repr_and_pickle_hide_the_key() -> None:
    auth = SharedKeyAuth(ACCOUNT, KEY)
    assert KEY not in repr(auth) and "<hidden>" in repr(auth)
    with pytest.raises(TypeError) as caught:
        pickle.dumps(auth)
    assert KEY not in str(caught.value)


def test_shared_key_rejects_a_key_that_is_not_base64_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SharedKeyAuth(ACCOUNT, "not base64 !!secret!!")
    assert "secret" not in str(caught.value)


@dataclass
class FakeToken:
    token: str
    expires_on: int


class FakeCredential:
    """Stands in for an azure-identity credential: hands out numbered tokens and records the scopes asked."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.now = 1_000_000
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: object) -> FakeToken:
        self.scopes.extend(scopes)
        return FakeToken(f"token-{len(self.scopes)}", self.now + self.lifetime)


def run_entra(auth: EntraAuth, statuses: list[int]) -> list[str]:
    """Drive the sync flow with the given response statuses; return the Authorization header of each send."""
    flow = auth.sync_auth_flow(httpx.Request("GET", f"{BASE}/jobs?api-version=2025-06-01"))
    sent = [next(flow).headers["Authorization"]]
    for status in statuses:
        try:
            sent.append(flow.send(httpx.Response(status)).headers["Authorization"])
        except StopIteration:
            break
    return sent


def test_entra_asks_for_the_batch_scope_and_sends_a_bearer_token() -> None:
    credential = FakeCredential()
    auth = EntraAuth(credential, clock=lambda: credential.now)
    assert run_entra(auth, [200]) == ["Bearer token-1"]
    assert credential.scopes == [BATCH_SCOPE] == ["https://batch.core.windows.net//.default"]


def test_entra_caches_the_token_until_five_minutes_before_expiry() -> None:
    credential = FakeCredential(lifetime=3600)
    auth = EntraAuth(credential, clock=lambda: credential.now)
    first = run_entra(auth, [200])
    credential.now += 3600 - 301
    second = run_entra(auth, [200])
    credential.now += 2
    third = run_entra(auth, [200])
    assert (first, second, third) == (["Bearer token-1"], ["Bearer token-1"], ["Bearer token-2"])


def test_entra_drops_the_token_and_retries_once_on_401() -> None:
    credential = FakeCredential()
    auth = EntraAuth(credential, clock=lambda: credential.now)
    assert run_entra(auth, [401, 401]) == ["Bearer token-1", "Bearer token-2"]
    assert run_entra(auth, [200]) == ["Bearer token-2"]


def test_entra_repr_and_pickle_hide_the_token() -> None:
    credential = FakeCredential()
    auth = EntraAuth(credential, clock=lambda: credential.now)
    run_entra(auth, [200])
    assert "token-1" not in repr(auth)
    with pytest.raises(TypeError):
        pickle.dumps(auth)


def test_entra_through_a_client_fetches_one_token_for_many_requests() -> None:
    credential = FakeCredential()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={})

    auth = EntraAuth(credential, clock=lambda: credential.now)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client:
        for _ in range(3):
            client.get(f"{BASE}/jobs")
    assert seen == ["Bearer token-1"] * 3 and len(credential.scopes) == 1


def test_entra_through_a_client_recovers_from_one_401_with_a_fresh_token() -> None:
    credential = FakeCredential()
    answers = [httpx.Response(401, json={"code": "InvalidAuthenticationInfo"}), httpx.Response(200, json={})]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return answers.pop(0)

    with httpx.Client(auth=EntraAuth(credential, clock=lambda: credential.now),
                      transport=httpx.MockTransport(handler)) as client:
        assert client.get(f"{BASE}/jobs").status_code == 200
    assert seen == ["Bearer token-1", "Bearer token-2"]


def test_entra_401_retry_works_over_a_real_socket() -> None:
    """A real HTTP exchange on 127.0.0.1 (streamed bodies, unlike MockTransport): 401, then 200."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers["Authorization"])
            status = 401 if len(seen) == 1 else 200
            body = b'{"code":"AuthenticationFailed"}' if status == 401 else b"{}"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    credential = FakeCredential()
    try:
        with httpx.Client(auth=EntraAuth(credential, clock=lambda: credential.now)) as client:
            response = client.get(f"http://127.0.0.1:{server.server_address[1]}/jobs")
        assert (response.status_code, seen) == (200, ["Bearer token-1", "Bearer token-2"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
