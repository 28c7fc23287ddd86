"""Connection settings for the Batch client, resolved at call time from stack config and the environment.

Pulumi pickles the provider object into the state, so nothing here is ever stored on it: providers call
`resolve_settings(config)` inside configure()/CRUD methods (pulumi-dynamic.md section 5).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NoReturn, Protocol
from urllib.parse import urlsplit

import httpx

from providers.client.auth import EntraAuth, SharedKeyAuth
from providers.client.errors import ConfigurationError

__all__ = ["AUTH_MODES", "ConfigSource", "ConnectionSettings", "resolve_settings"]

AuthMode = Literal["sharedKey", "entra"]
AUTH_MODES: tuple[AuthMode, ...] = ("sharedKey", "entra")

# (stack config key, environment variable) per setting; the config key wins.
ENDPOINT = ("batch:endpoint", "AZURE_BATCH_ENDPOINT")
AUTH = ("batch:auth", "AZURE_BATCH_AUTH")
ACCOUNT_NAME = ("batch:accountName", "AZURE_BATCH_ACCOUNT_NAME")
ACCOUNT_KEY = ("batch:accountKey", "AZURE_BATCH_ACCESS_KEY")
_AZURE_HOST_SUFFIX = ".batch.azure.com"


class ConfigSource(Protocol):
    """Anything with `get(key)`: a plain mapping or `pulumi.dynamic.Config`."""

    def get(self, key: str) -> str | None:
        """The raw string value of a fully-qualified key, or None."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the Batch account is and how to authenticate to it; the key never shows in repr()."""

    endpoint: str
    auth_mode: AuthMode
    account_name: str | None = None
    account_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    total_deadline: float = 120.0

    def __post_init__(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise ConfigurationError(
                f"auth mode must be one of {', '.join(AUTH_MODES)}, got {self.auth_mode!r}")
        if self.auth_mode == "sharedKey" and not (self.account_name and self.account_key):
            raise ConfigurationError(
                "Shared Key auth needs an account name and key: set stack config "
                f"'{ACCOUNT_NAME[0]}' / '{ACCOUNT_KEY[0]}' or environment variables "
                f"{ACCOUNT_NAME[1]} / {ACCOUNT_KEY[1]}")

    def __getstate__(self) -> NoReturn:
        raise TypeError("ConnectionSettings may hold an account key and must not be pickled; "
                        "call resolve_settings() at call time")

    def make_auth(self) -> httpx.Auth:
        """The httpx.Auth flow for these settings."""
        if self.auth_mode == "sharedKey":
            assert self.account_name is not None and self.account_key is not None
            return SharedKeyAuth(self.account_name, self.account_key)
        return EntraAuth()


def _lookup(config: ConfigSource | Mapping[str, str] | None, environ: Mapping[str, str],
            names: tuple[str, str]) -> str | None:
    key, variable = names
    value = config.get(key) if config is not None else None
    if value is None or str(value).strip() == "":
        value = environ.get(variable)
    return str(value).strip() if value is not None and str(value).strip() else None


def _check_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"'{ENDPOINT[0]}' / {ENDPOINT[1]} must be an http(s) URL such as "
            "https://myaccount.westus.batch.azure.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        # Never echo it: a query string or user-info part could hold a secret.
        raise ConfigurationError(
            f"'{ENDPOINT[0]}' / {ENDPOINT[1]} must be a bare account URL, "
            "without query, fragment or credentials")
    return endpoint.rstrip("/")


def _account_from_endpoint(endpoint: str) -> str | None:
    # https://{account}.{region}.batch.azure.com: the first label is the account (section 1.1).
    host = urlsplit(endpoint).hostname or ""
    return host.split(".", 1)[0] if host.endswith(_AZURE_HOST_SUFFIX) else None


def _auth_mode(raw: str | None, have_key: bool) -> AuthMode:
    if raw is None:
        return "sharedKey" if have_key else "entra"
    for mode in AUTH_MODES:
        if raw.lower() == mode.lower():
            return mode
    raise ConfigurationError(
        f"'{AUTH[0]}' / {AUTH[1]} must be one of {', '.join(AUTH_MODES)}, got {raw!r}")


def resolve_settings(config: ConfigSource | Mapping[str, str] | None = None,
                     environ: Mapping[str, str] = os.environ, *, timeout: float = 30.0,
                     total_deadline: float = 120.0) -> ConnectionSettings:
    """Settings from stack config keys batch:* (fully qualified), falling back to AZURE_BATCH_* variables."""
    endpoint = _lookup(config, environ, ENDPOINT)
    if endpoint is None:
        raise ConfigurationError(
            f"no Batch endpoint: set stack config '{ENDPOINT[0]}' or environment variable {ENDPOINT[1]}")
    endpoint = _check_endpoint(endpoint)
    key = _lookup(config, environ, ACCOUNT_KEY)
    name = _lookup(config, environ, ACCOUNT_NAME) or _account_from_endpoint(endpoint)
    mode = _auth_mode(_lookup(config, environ, AUTH), key is not None)
    if mode == "entra":
        key = None
    return ConnectionSettings(endpoint=endpoint, auth_mode=mode, account_name=name, account_key=key,
                              timeout=timeout, total_deadline=total_deadline)
