"""Shared Key signing for test clients (section 8.2 of the reference), independent of batch_service.auth.

Signs query parameter names lowercased (the reference's recommendation) and Content-Length as sent, so the
service's acceptance of a second client reading (the SDK's, names as sent and "0") is tested by the SDK tests.
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
from collections.abc import Generator
from urllib.parse import parse_qsl

import httpx

_STANDARD_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5", "content-type",
                     "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")


def string_to_sign(method: str, raw_path: str, raw_query: str, headers: dict[str, str], account: str) -> str:
    """VERB, eleven standard headers, ocp-* headers, then /account/path and sorted query parameters."""
    lowered = {name.lower(): value for name, value in headers.items()}
    lines = [method.upper()]
    for name in _STANDARD_HEADERS:
        value = lowered.get(name, "")
        if name == "content-length" and method.upper() in ("GET", "HEAD"):
            value = ""
        lines.append(value)
    text = "\n".join(lines) + "\n"
    for name in sorted(name for name in lowered if name.startswith("ocp-")):
        text += f"{name}:{lowered[name]}\n"
    text += f"/{account}{raw_path}"
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=False):
        params.setdefault(name.lower(), []).append(value)
    for name in sorted(params):
        text += f"\n{name}:{','.join(sorted(params[name]))}"
    return text


def signature(key_b64: str, text: str) -> str:
    """base64 HMAC-SHA256 of the string-to-sign with the decoded account key."""
    digest = hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class SharedKeyAuth(httpx.Auth):
    """httpx auth flow: add ocp-date (unless set) and the SharedKey Authorization header."""

    requires_request_body = True

    def __init__(self, account: str, key_b64: str) -> None:
        self.account = account
        self.key_b64 = key_b64

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign and send once."""
        if "ocp-date" not in request.headers:
            request.headers["ocp-date"] = email.utils.formatdate(usegmt=True)
        text = string_to_sign(request.method, request.url.raw_path.split(b"?")[0].decode("ascii"),
                              request.url.query.decode("ascii"), dict(request.headers), self.account)
        request.headers["Authorization"] = f"SharedKey {self.account}:{signature(self.key_b64, text)}"
        yield request
