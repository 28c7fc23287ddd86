"""Shared Key verification (section 8.2), written from the reference, not from any client's signing code.

The service computes the string-to-sign for each reading the reference leaves open and accepts a signature
that matches any of them:
  * query parameter names as sent (the Python SDK) or lowercased (the Java SDK and the reference's advice);
  * for a bodiless non-GET/HEAD request, Content-Length "0" (the Python SDK) or empty (the header as sent).
A mismatch is logged with the string-to-sign (never the key), so a disagreement with a client is quick to see.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from batch_service.backend import errors
from batch_service.backend.ids import TICKS_PER_SECOND, now_ticks, ticks_from_rfc1123

log = logging.getLogger("batch_service.auth")

DATE_WINDOW_SECONDS = 15 * 60  # section 8.2: the signed time must be within 15 minutes
_SIGNED_HEADERS = ("Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
                   "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range")
_SHARED_KEY = re.compile(r"SharedKey ([^\s:]+):(\S+)")


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that Shared Key signs, exactly as they came over the wire."""

    method: str
    raw_path: str  # percent-encoded, without the query
    raw_query: str  # without the leading '?'
    headers: Mapping[str, str]  # case-insensitive lookup
    body_length: int


def canonicalized_headers(headers: Mapping[str, str]) -> str:
    """Every `ocp-*` header as `name:value\\n`, names lowercased and sorted (section 8.2)."""
    pairs = sorted((name.lower(), value) for name, value in headers.items() if name.lower().startswith("ocp-"))
    return "".join(f"{name}:{value}\n" for name, value in pairs)


def canonicalized_resource(account: str, raw_path: str, raw_query: str, lowercase_names: bool) -> str:
    """`/account/path` then `\\nname:value` per query parameter, sorted by name, values URL-decoded; several
    values of one name are sorted and joined with commas; empty values are left out."""
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        if value:
            grouped.setdefault(name.lower() if lowercase_names else name, []).append(value)
    resource = f"/{account}{raw_path}"
    for name in sorted(grouped):
        resource += f"\n{name}:{','.join(sorted(grouped[name]))}"
    return resource


def string_to_sign(request: SignedRequest, account: str, *, content_length: str, lowercase_names: bool) -> str:
    """The section 8.2 StringToSign for one reading of the open points."""
    values = [request.method.upper()]
    for name in _SIGNED_HEADERS:
        values.append(content_length if name == "Content-Length" else request.headers.get(name, ""))
    return ("\n".join(values) + "\n" + canonicalized_headers(request.headers)
            + canonicalized_resource(account, request.raw_path, request.raw_query, lowercase_names))


def sign(key: bytes, text: str) -> str:
    """base64(HMAC-SHA256(key, UTF-8 text))."""
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def content_length_readings(request: SignedRequest) -> list[str]:
    """Content-Length values a client may have signed for this request."""
    if request.method.upper() in ("GET", "HEAD"):
        return [""]
    sent = request.headers.get("Content-Length", "")
    if request.body_length == 0:
        return list(dict.fromkeys([sent, "0", ""]))
    return [sent]


class SharedKeyVerifier:
    """Checks the Authorization header of API requests against one account name and key."""

    def __init__(self, account_name: str, account_key: str, *, allow_bearer: bool = False,
                 now: Callable[[], int] = now_ticks) -> None:
        self._account = account_name
        try:
            self._key = base64.b64decode(account_key, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the account key must be base64") from exc
        self._allow_bearer = allow_bearer
        self._now = now

    def verify(self, request: SignedRequest) -> None:
        """Return when the request is authentic; raise 403 AuthenticationFailed or 400
        InvalidAuthenticationInfo otherwise."""
        header = request.headers.get("Authorization")
        if not header:
            raise errors.authentication_failed("The request is not signed: the Authorization header is missing.")
        if header.startswith("Bearer "):
            if self._allow_bearer and header[7:].strip():
                return
            raise errors.authentication_failed(
                "Bearer tokens are not accepted here; sign with Shared Key or start the service with --allow-bearer.")
        match = _SHARED_KEY.fullmatch(header.strip())
        if match is None:
            raise errors.invalid_authentication_info("Expected 'SharedKey <account>:<signature>'.")
        account, signature = match.groups()
        if account != self._account:
            raise errors.authentication_failed(f"The account '{account}' is not served here.")
        self._check_date(request.headers)
        candidates = self._candidates(request)
        if any(hmac.compare_digest(sign(self._key, text), signature) for text in candidates):
            return
        log.warning("Shared Key signature mismatch for %s %s; server string-to-sign: %r",
                    request.method, request.raw_path, candidates[0])
        raise errors.authentication_failed(
            f"The MAC signature found in the HTTP request '{signature}' is not the same as any computed "
            f"signature. Server used following string to sign: '{candidates[0]}'.")

    def _candidates(self, request: SignedRequest) -> list[str]:
        texts = []
        for lowercase in (False, True):
            for length in content_length_readings(request):
                texts.append(string_to_sign(request, self._account, content_length=length,
                                            lowercase_names=lowercase))
        return list(dict.fromkeys(texts))

    def _check_date(self, headers: Mapping[str, str]) -> None:
        text = headers.get("ocp-date") or headers.get("Date")
        if not text:
            raise errors.authentication_failed("The request has neither an ocp-date nor a Date header.")
        try:
            signed = ticks_from_rfc1123(text)
        except ValueError:
            raise errors.authentication_failed("The ocp-date/Date header is not an RFC 1123 date.") from None
        if abs(self._now() - signed) > DATE_WINDOW_SECONDS * TICKS_PER_SECOND:
            raise errors.authentication_failed(
                "Request date header too old or too far in the future: the signed time must be within "
                "15 minutes of the server's time.")
