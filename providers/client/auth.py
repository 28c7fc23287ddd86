"""httpx.Auth flows for Batch: Shared Key signing and Entra ID bearer tokens (batch-api.md section 8)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from email.utils import formatdate
from typing import Any, NoReturn, Protocol
from urllib.parse import parse_qsl

import httpx

from providers.client.errors import ConfigurationError

__all__ = ["BATCH_SCOPE", "EntraAuth", "SharedKeyAuth", "TokenCredential", "string_to_sign"]

BATCH_SCOPE = "https://batch.core.windows.net//.default"
# The standard headers of the string-to-sign, in order, after the verb (section 8.2).
_SIGNED_HEADERS = ("Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type",
                   "Date", "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range")
_REFRESH_MARGIN = 300.0


def _http_date() -> str:
    return formatdate(usegmt=True)


def _canonical_headers(request: httpx.Request) -> str:
    # ocp-* headers, names lowercased and sorted; CR/LF folded and leading spaces dropped like the Java SDK.
    lines = []
    for name, value in request.headers.items():
        if name.lower().startswith("ocp-"):
            clean = value.replace("\r", " ").replace("\n", " ").lstrip(" ")
            lines.append((name.lower(), clean))
    return "".join(f"{name}:{value}\n" for name, value in sorted(lines))


def _canonical_resource(account_name: str, request: httpx.Request) -> str:
    # "/" + account + path as sent, then each query name (lowercased, like the Java SDK) with its decoded
    # value(s), sorted by name; several values of one name are sorted and joined with "," (section 8.2).
    path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True):
        grouped.setdefault(name.lower(), []).append(value)
    params = "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(grouped.items()))
    return f"/{account_name.lower()}{path}{params}"


def string_to_sign(account_name: str, request: httpx.Request) -> str:
    """The Shared Key string-to-sign of `request` exactly as it will be sent (section 8.2)."""
    standard = [request.headers.get(name, "") for name in _SIGNED_HEADERS]
    if "ocp-date" in request.headers:
        standard[_SIGNED_HEADERS.index("Date")] = ""
    head = "".join(f"{value}\n" for value in [request.method.upper(), *standard])
    return head + _canonical_headers(request) + _canonical_resource(account_name, request)


class SharedKeyAuth(httpx.Auth):
    """Signs each request with the account key: `Authorization: SharedKey <account>:<signature>`."""

    def __init__(self, account_name: str, account_key: str) -> None:
        if not account_name:
            raise ConfigurationError("Shared Key auth needs an account name")
        try:
            self._key = base64.b64decode(account_key, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigurationError("the Batch account key is not valid base64") from None
        self.account_name = account_name

    def __repr__(self) -> str:
        return f"SharedKeyAuth(account_name={self.account_name!r}, account_key=<hidden>)"

    def __getstate__(self) -> NoReturn:
        raise TypeError("SharedKeyAuth holds an account key and must not be pickled; build it at call time")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set ocp-date if absent, sign the request as it will be sent, and send it."""
        request.headers.setdefault("ocp-date", _http_date())
        if request.method.upper() not in ("GET", "HEAD") and "Content-Length" not in request.headers:
            # Bodiless writes carry an explicit 0, so the signed value and the Python SDK's reading agree.
            request.headers["Content-Length"] = "0"
        digest = hmac.new(self._key, string_to_sign(self.account_name, request).encode("utf-8"),
                          hashlib.sha256).digest()
        signature = base64.b64encode(digest).decode("ascii")
        request.headers["Authorization"] = f"SharedKey {self.account_name}:{signature}"
        yield request


class TokenCredential(Protocol):
    """What EntraAuth needs from an azure-identity credential."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """Return an object with `.token` (str) and `.expires_on` (epoch seconds)."""


class EntraAuth(httpx.Auth):
    """Bearer tokens from azure-identity (DefaultAzureCredential by default), cached and refreshed early."""

    def __init__(self, credential: TokenCredential | None = None, *, scope: str = BATCH_SCOPE,
                 refresh_margin: float = _REFRESH_MARGIN, clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def __repr__(self) -> str:
        return f"EntraAuth(scope={self.scope!r})"

    def __getstate__(self) -> NoReturn:
        raise TypeError("EntraAuth holds a credential and tokens and must not be pickled; "
                        "build it at call time")

    def _get_credential(self) -> TokenCredential:
        if self._credential is None:
            # Imported lazily: Shared Key users should not pay for azure-identity's import.
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential

    def token(self) -> str:
        """A token valid for at least `refresh_margin` more seconds, fetched only when needed."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_on - self.refresh_margin:
                fresh = self._get_credential().get_token(self.scope)
                self._token, self._expires_on = fresh.token, float(fresh.expires_on)
            return self._token

    def drop(self, token: str) -> None:
        """Forget `token` if it is still the cached one (another thread may have refreshed it already)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with the cached token; on 401 drop it and send once more with a new one."""
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # httpx reads and closes the 401 response itself once the flow yields again.
            self.drop(token)
            request.headers["Authorization"] = f"Bearer {self.token()}"
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Not supported: the providers run synchronously."""
        raise NotImplementedError("EntraAuth supports the synchronous httpx.Client only")
        yield request  # pragma: no cover - makes this an async generator
