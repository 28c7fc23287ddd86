"""The Batch REST client: the one place a request is built, signed, retried and its error mapped.

Owns: `batch` (the client on httpx: URLs, headers, paging, ETags), `retry` (the retry policy), `auth` (Shared
Key and Entra ID flows), `errors` (the exception tree and the mapping of error responses onto it) and
`settings` (connection settings resolved from stack config and the environment).

May import: the standard library, httpx, tenacity and azure-identity, and its own modules. Never `pulumi`,
`providers.schema` or a resource module: the client knows the wire, not the rules, so deploy tools and
benchmarks can use it without the Pulumi SDK's state.
"""
from __future__ import annotations

from providers.client.batch import (
    API_VERSION,
    JSON_CONTENT_TYPE,
    BatchClient,
    close_shared_clients,
    quote_etag,
    serialize_body,
    shared_client,
    warm_up,
)

__all__ = ["API_VERSION", "JSON_CONTENT_TYPE", "BatchClient", "close_shared_clients", "quote_etag",
           "serialize_body", "shared_client", "warm_up"]
