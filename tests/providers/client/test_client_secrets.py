"""No secret (account key, token, SAS query string) appears in a repr, str or error of the client layer."""
from __future__ import annotations

import pickle

import httpx
import pytest

from providers.client import BatchClient
from providers.client.auth import EntraAuth, SharedKeyAuth
from providers.client.errors import (
    BatchClientError,
    BatchError,
    DeadlineExceeded,
    TransportError,
    error_from_response,
    redact_text,
    redact_url,
)
from providers.client.settings import ConnectionSettings, resolve_settings

KEY = "ZGV2YmF0Y2hhY2NvdW50LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ=="
SAS = "sv=2024-01-01&se=2030-01-01&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
ENDPOINT = "http://127.0.0.1:9"


def texts_of(obj: object) -> str:
    return f"{obj!r}\n{obj!s}"


def assert_clean(text: str) -> None:
    assert KEY not in text and "c2VjcmV0LXNpZ25hdHVyZQ" not in text and "sig=" not in text


def test_settings_auth_and_client_reprs_hide_the_key() -> None:
    settings = resolve_settings({"batch:endpoint": ENDPOINT, "batch:accountName": "devbatchaccount",
                                 "batch:accountKey": KEY}, environ={})
    with BatchClient(settings, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        holders = (settings, settings.make_auth(), client, client.retries, SharedKeyAuth("a", KEY))
        for obj in (*holders, EntraAuth()):
            assert_clean(texts_of(obj))


def test_nothing_holding_a_credential_can_be_pickled_into_pulumi_state() -> None:
    settings = ConnectionSettings(ENDPOINT, "sharedKey", "devbatchaccount", KEY)
    with BatchClient(settings, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        for obj in (settings, settings.make_auth(), client):
            with pytest.raises(TypeError) as caught:
                pickle.dumps(obj)
            assert_clean(str(caught.value))


def test_urls_in_errors_keep_only_api_version() -> None:
    assert redact_url(f"https://acct.blob.core.windows.net/c/f.txt?api-version=2025-06-01&{SAS}") == (
        "/c/f.txt?api-version=2025-06-01")
    assert redact_url(f"https://acct.blob.core.windows.net/c/f.txt?{SAS}") == "/c/f.txt"


def test_sas_urls_inside_server_messages_are_redacted() -> None:
    message = f"Blob https://acct.blob.core.windows.net/c/f.txt?{SAS} is not accessible"
    assert redact_text(message) == "Blob https://acct.blob.core.windows.net/c/f.txt?… is not accessible"


def test_every_error_kind_is_free_of_secrets() -> None:
    request = httpx.Request("GET", f"{ENDPOINT}/jobs/j/tasks/t/files/x?api-version=2025-06-01&{SAS}",
                            headers={"Authorization": f"SharedKey devbatchaccount:{KEY}"})
    body = {"code": "BlobAccessDenied", "message": {"value": f"denied: https://a.blob.core.windows.net/c?{SAS}"},
            "values": [{"key": "Url", "value": f"https://a.blob.core.windows.net/c?{SAS}"}]}
    batch = error_from_response(httpx.Response(403, json=body, request=request), "reading file 'x'")
    transport = TransportError("GET", redact_url(request.url), "ReadTimeout: timed out", maybe_applied=False)
    deadline = DeadlineExceeded("reading file 'x'", 12.0, f"last: {batch}", last_error=batch)
    errors: list[BatchClientError] = [batch, transport, deadline]
    for error in errors:
        assert_clean(texts_of(error))
    assert isinstance(batch, BatchError)
    assert_clean(repr(batch.values))
    assert (batch.status, batch.code) == (403, "BlobAccessDenied")
