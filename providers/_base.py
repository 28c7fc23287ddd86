"""What every Batch resource provider shares: connection at call time, check failures, plan lines, errors."""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, ResourceProvider
from pulumi.runtime import rpc

from providers.client import BatchClient, shared_client
from providers.client.errors import Exists, TransportError
from providers.client.settings import resolve_settings
from providers.schema import Problem, coerce_numbers
from providers.schema.model import is_unknown

# Keys the engine adds to every property bag; never compared, never echoed.
INTERNAL_KEYS = frozenset({"__provider"})

_stack_config: Mapping[str, Any] | None = None


class BatchProvider(ResourceProvider):
    """Base of the Batch providers: holds no state, so nothing but its class name reaches the Pulumi state."""

    # The pickled provider carries no attribute at all; secrets in a spec are marked by the Resource classes.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack config for this provider host process (never pickled, never in state)."""
        global _stack_config
        _stack_config = req.config  # type: ignore[assignment]


def connection() -> BatchClient:
    """A client for the configured account, resolved now from stack config and environment."""
    return shared_client(resolve_settings(_stack_config or {}))


def contains_unknown(value: Any) -> bool:
    """True when a preview-time value is not known yet, anywhere inside: the host hands check() and diff() an
    unknown as `pulumi.output.Unknown` (pulumi-dynamic 1.1); the raw sentinel string is accepted too."""
    if is_unknown(value):
        return True
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def checkable_spec(news: dict[str, Any], kind: str, body: str) -> dict[str, Any] | CheckResult:
    """The `spec` input with its numbers coerced, ready to check (unknown values inside are skipped by the
    checks and judged once known); or the CheckResult that `check` returns at once: no failures while the
    whole spec is unknown, a failure when it is known and not an object."""
    spec = news.get("spec")
    if is_unknown(spec):
        return CheckResult(news, [])
    if not isinstance(spec, dict):
        return CheckResult(news, [CheckFailure("", f"spec: must be the REST {body} create body")])
    return coerce_numbers(kind, spec)


def failures_from(problems: list[Problem], prefix: str = "spec") -> list[CheckFailure]:
    """Check failures that name the field path and the rule, and never print the value (it may be secret)."""
    # property_="" keeps the engine from printing the property's value next to the reason (§4 of the notes).
    return [CheckFailure("", f"{prefix}.{p.path}: {p.message} [rule: {p.rule}]") for p in problems]


def announce(label: str, lines: list[str]) -> None:
    """Show plan lines in preview/up output: the provider host's stderr becomes engine diagnostics."""
    for line in lines:
        sys.stderr.write(f"{label}: {line}\n")
    sys.stderr.flush()


def public(props: Mapping[str, Any]) -> dict[str, Any]:
    """The property bag without the engine's internal keys."""
    return {k: v for k, v in props.items() if k not in INTERNAL_KEYS}


def same_id(a: str | None, b: str | None) -> bool:
    """Batch ids are case-insensitive (batch-api.md 4.4)."""
    return (a or "").lower() == (b or "").lower()


def post_tolerating_duplicate(post: Callable[[], object]) -> None:
    """Send a create; a 409 …Exists or a lost response is settled by the caller reading the object back
    (a retried POST may meet its own earlier success, batch-api.md 4.4 and 9)."""
    try:
        post()
    except Exists:
        pass
    except TransportError as error:
        if not error.maybe_applied:
            raise


class ProviderFailure(Exception):
    """An operation failed for a reason the user must act on; the message is shown as is by the engine."""
