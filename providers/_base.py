"""What every Batch resource provider shares: connection at call time, check failures, plan lines, errors."""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, ResourceProvider
from pulumi.runtime import rpc

from providers.client import BatchClient, shared_client
from providers.client.errors import BatchClientError, Conflict, Exists, TransportError
from providers.client.settings import resolve_settings
from providers.schema import Problem, coerce_numbers
from providers.schema.model import is_unknown
from providers.sdk_fixes import install_error_paragraphs

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
        install_error_paragraphs(error_paragraph)


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


def post_tolerating_duplicate(post: Callable[[], object]) -> bool:
    """Send a create; True when the service answered that it created it. A 409 …Exists or a lost response
    (False) is settled by the caller reading the object back (a retried POST may meet its own earlier success,
    batch-api.md 4.4 and 9)."""
    try:
        post()
    except Exists:
        return False
    except TransportError as error:
        if not error.maybe_applied:
            raise
        return False
    return True


def post_after_deletion(post: Callable[[], object], wait_deleted: Callable[[], None]) -> bool:
    """A create that may meet its id still being deleted (a replace whose delete was interrupted, or a job
    deleted out of band): wait until the old object is gone, then send the create again. True when the
    service answered that it created it."""
    try:
        return post_tolerating_duplicate(post)
    except Conflict as error:
        if error.code not in ("JobBeingDeleted", "JobScheduleBeingDeleted"):
            raise
        wait_deleted()
        return post_tolerating_duplicate(post)


# What a create says when it carries on with the object an earlier run (or its own lost request) created.
KEPT = "already created by this stack (an interrupted run, or a request whose answer was lost): kept as it is"


class ProviderFailure(Exception):
    """An operation failed for a reason the user must act on; the message is shown as is by the engine."""


# The metadata item by which a job or job schedule names the stack that created it. The program sends it
# with every create; diffs, previews and refresh never see it (`without_owner`).
OWNER_METADATA = "pulumi-stack"


def stack_owner() -> str:
    """`organization/project/stack` of the program now running (called while the program registers)."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def owner_of(live: Mapping[str, Any] | None) -> str | None:
    """The stack named by a live job's (or schedule's) marker; None when it carries none."""
    for item in (live or {}).get("metadata") or []:
        if isinstance(item, Mapping) and item.get("name") == OWNER_METADATA:
            return str(item.get("value"))
    return None


def without_owner(live: dict[str, Any]) -> dict[str, Any]:
    """The live object as the program would declare it: without the ownership marker."""
    metadata = live.get("metadata")
    if not isinstance(metadata, list) or owner_of(live) is None:
        return live
    kept = [item for item in metadata if not (isinstance(item, Mapping) and item.get("name") == OWNER_METADATA)]
    return {**live, "metadata": kept}


def with_owner(body: dict[str, Any], owner: str | None) -> dict[str, Any]:
    """The body to send: the program's metadata plus the marker naming `owner` (none when unknown)."""
    if not owner:
        return body
    kept = without_owner(body).get("metadata") or []
    return {**body, "metadata": [*kept, {"name": OWNER_METADATA, "value": owner}]}


def job_owned_by(client: BatchClient, props: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether the job of a task or collection (`props`) is this stack's, and the stack its marker names
    (None: none). It is when it carries this stack's marker, or when the program wires the task to a BatchJob
    of its own (`job=`): that job is in this stack's state by now (created, or taken over with adopt=True,
    or created before jobs were marked), since a refused job stops everything wired to it."""
    found = owner_of(client.get_job(str(props["job_id"]), select="id,metadata"))
    owner = props.get("owner")
    return props.get("job_instance") is not None or (bool(owner) and found == owner), found


def foreign_owner_text(what: str, found: str | None, remedy: str) -> str:
    """Why an existing object is not taken over: created by another stack (named), or by someone else."""
    if found:
        return (f"{what} already exists and belongs to stack {found!r}, not this one; use another id here, "
                f"or remove it from that stack first ({remedy})")
    return (f"{what} already exists and was not created by this stack; use another id, set adopt=True to take "
            f"it over if it equals the spec, or delete it ({remedy}) and run `pulumi up` again")


# What a user can do about a service error, by its code or kind (batch-api.md section 7).
_WHAT_TO_DO = {
    "AuthenticationFailed": "check batch:accountName and batch:accountKey (or your Entra ID sign-in) with "
                            "`pulumi config`",
    "Throttled": "the service is busy; run the same command again in a minute",
    "NotFound": "check the id it names (a job named by job_id= must exist); if it was deleted outside this "
                "stack, run `pulumi refresh --yes`, then `pulumi up`",
    "Exists": "the id is taken; choose another id, or delete the existing object and run `pulumi up` again",
    "PreconditionFailed": "it changed while this command ran; run `pulumi up` again",
    "Conflict": "its current state does not allow this; run `pulumi refresh --yes`, then the command again",
    "TransportError": "check batch:endpoint (`pulumi config get batch:endpoint`) and that the service is "
                      "reachable, then run the same command again; it resumes where this one stopped",
    "DeadlineExceeded": "run the same command again; it resumes where this one stopped",
    "ConfigurationError": "set the missing setting with `pulumi config set` (see the README) and run the "
                          "command again",
}


def error_paragraph(error: BaseException, resource: str, operation: str) -> str | None:
    """One paragraph for an error a user must act on: the resource, the operation, the object or field, the
    service's code and what to do. None for anything else (a bug keeps its traceback)."""
    if isinstance(error, ProviderFailure):
        return f"{resource} {operation}: {error}"
    if not isinstance(error, BatchClientError):
        return None
    kind = next((cls.__name__ for cls in type(error).__mro__ if cls.__name__ in _WHAT_TO_DO), None)
    advice = _WHAT_TO_DO.get(kind or "", "fix what the service names and run the command again")
    return f"{resource} {operation}: {error}. What to do: {advice}."
