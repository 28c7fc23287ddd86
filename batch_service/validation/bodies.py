"""Request-body validation of the local Batch service, api-version 2025-06-01 (section 3 schemas, 4 mutability, 7).

Every validate_* function is pure and raises ValidationError for the first problem it finds, walking the body
along its `batch_api` table before anything is stored: first one error naming every unknown property, then
required properties, JSON types, enums (any letter case), ranges, one-of groups and the cross-field rules the
service enforces, some of which need the stored job. Job state (e.g. "poolInfo may only change while
disabled") is the backend's business; changes_pool tells it when that check applies.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batch_api import AUTO_POOL_SPECIFICATION, BODIES, JOB, POOL_INFO
from batch_api.defaults import reported_default, with_defaults
from batch_api.model import INVALID_VALUE, Field, ObjectType, RuleContext, join
from batch_service.validation.core import (
    ValidationError,
    check_body,
    comparable_form,
    reject,
    with_canonical_enums,
)

__all__ = [
    "ValidationError",
    "changes_pool",
    "normalise_enums",
    "validate_job_create",
    "validate_job_disable",
    "validate_job_patch",
    "validate_job_put",
    "validate_job_schedule_create",
    "validate_job_terminate",
    "validate_pool_create",
    "validate_task_collection",
    "validate_task_create",
    "validate_task_update",
]

# The kinds normalise_enums accepts: the request bodies of 2025-06-01 (batch_api.BODIES).
BODY_TYPES = {kind: otype.name for kind, otype in BODIES.items()}
# Of an existing auto-pool specification only keepAlive may change (4.1): the fields PATCH cannot take.
_AUTO_POOL_FIXED = tuple(f.name for f in AUTO_POOL_SPECIFICATION.fields if f.change != "patch")


def _validate(kind: str, body: object, job: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    check_body(BODIES[kind], body, RuleContext(kind, job))
    # check_body has already proved the body is an object; this only narrows the type.
    assert isinstance(body, dict)
    return body


def validate_pool_create(body: object) -> None:
    """Validate a POST /pools body (BatchPoolCreateOptions, 3.3)."""
    _validate("pool", body)


def validate_job_create(body: object) -> None:
    """Validate a POST /jobs body (BatchJobCreateOptions, 3.1)."""
    _validate("job", body)


def validate_job_schedule_create(body: object) -> None:
    """Validate a POST /jobschedules body (BatchJobScheduleCreateOptions, 3.11)."""
    _validate("job_schedule", body)


def validate_task_create(body: object, job: dict[str, Any]) -> None:
    """Validate a POST /jobs/{id}/tasks body (BatchTaskCreateOptions, 3.4) against the stored job."""
    _validate("task", body, job)


def validate_task_collection(body: object, job: dict[str, Any]) -> None:
    """Validate an addtaskcollection body: at most 100 tasks, each valid, no ID twice (2.5)."""
    first_index: dict[str, int] = {}
    for index, task in enumerate(_validate("task_collection", body, job)["value"]):
        path = f"value[{index}]"
        # Task IDs are unique case-insensitively within a job (3.4).
        key = task["id"].lower()
        if key in first_index:
            raise reject(INVALID_VALUE, join(path, "id"),
                         f"the same task ID already appears at value[{first_index[key]}] in this request")
        first_index[key] = index


def validate_job_patch(body: object, job: dict[str, Any]) -> None:
    """Validate a PATCH /jobs/{id} body (BatchJobUpdateOptions, 4.1); absent fields stay unchanged."""
    update = _validate("job_patch", body)
    if update.get("onAllTasksComplete") is not None:
        _one_way(JOB.field("onAllTasksComplete"), update["onAllTasksComplete"], job)
    _only_keep_alive_changes(update, job)


def validate_job_put(body: object, job: dict[str, Any]) -> None:
    """Validate a PUT /jobs/{id} body (writable BatchJob, 4.1); absent fields go back to their defaults."""
    replacement = _validate("job_put", body)
    # An omitted field resets to its default, which a one-way transition may refuse (4.1).
    completion = JOB.field("onAllTasksComplete")
    _one_way(completion, replacement.get("onAllTasksComplete") or reported_default(JOB, "onAllTasksComplete"), job)
    _only_keep_alive_changes(replacement, job)


def validate_task_update(body: object) -> None:
    """Validate a PUT /jobs/{id}/tasks/{id} body: only `constraints` is writable (4.2)."""
    _validate("task_update", body)


def validate_job_disable(body: object) -> None:
    """Validate a POST /jobs/{id}/disable body: `disableTasks` is required (2.1)."""
    _validate("job_disable", body)


def validate_job_terminate(body: object) -> None:
    """Validate a POST /jobs/{id}/terminate body; it is optional, so None (no body) is accepted (2.1)."""
    if body is not None:
        _validate("job_terminate", body)


def normalise_enums(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A copy of `body` with every enum value in its 2025-06-01 spelling; other values are left alone."""
    if kind not in BODIES:
        raise ValueError(f"unknown body kind {kind!r}; expected one of {', '.join(BODIES)}")
    normalised: dict[str, Any] = with_canonical_enums(BODIES[kind], body)
    return normalised


def enum_spellings(kind: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """The 2025-06-01 spellings of the enum at `path` of a request body (`*` steps into list items)."""
    otype: ObjectType | None = BODIES[kind]
    f: Field | None = None
    for name in path:
        if name == "*":
            if f is None or f.kind != "list":
                raise KeyError(f"{kind}: {'.'.join(path)} is not a list")
            continue
        f = otype.field(name) if otype is not None else None
        if f is None:
            raise KeyError(f"{kind}: {'.'.join(path)} is not a property")
        otype = f.object_type
    if f is None or f.kind != "enum":
        raise KeyError(f"{kind}: {'.'.join(path)} is not an enum")
    return f.enum


def changes_pool(body: object, job: Mapping[str, Any]) -> bool:
    """Whether a PATCH/PUT body's poolInfo differs from the job's (then the job must be disabled, 4.1)."""
    if not isinstance(body, dict) or body.get("poolInfo") is None:
        return False
    return bool(pool_identity(body["poolInfo"]) != pool_identity(job.get("poolInfo")))


def pool_identity(pool_info: object) -> Any:
    """poolInfo in a form where equal means "the same pool": pool IDs compare case-insensitively (4.4) and
    an omitted keepAlive is its default. The one statement of that rule: the backend compares with it too."""
    # Compared as reported: the stored specification carries the service's defaults (5.3), a request may not.
    reduced = comparable_form(POOL_INFO, with_defaults(POOL_INFO, pool_info) if isinstance(pool_info, dict)
                              else pool_info)
    if not isinstance(reduced, dict):
        return reduced
    if isinstance(reduced.get("poolId"), str):
        reduced["poolId"] = reduced["poolId"].lower()
    auto_pool = reduced.get("autoPoolSpecification")
    if isinstance(auto_pool, dict):
        keep_alive = AUTO_POOL_SPECIFICATION.field("keepAlive")
        assert keep_alive is not None
        auto_pool["keepAlive"] = auto_pool.get("keepAlive", keep_alive.default) is True
    return reduced


def _one_way(f: Field | None, new_value: object, job: Mapping[str, Any]) -> None:
    """A one-way field refuses the transitions its table lists (4.1: terminatejob → noaction)."""
    assert f is not None
    current = str(job.get(f.name) or f.default).lower()
    for old, new in f.refuse:
        if current == old and str(new_value).lower() == new:
            raise reject(INVALID_VALUE, f.name, f"cannot be changed from {old} to {new}")


def _only_keep_alive_changes(body: Mapping[str, Any], job: Mapping[str, Any]) -> None:
    """Of an existing auto-pool specification only keepAlive can change (4.1)."""
    new = (body.get("poolInfo") or {}).get("autoPoolSpecification")
    old = (job.get("poolInfo") or {}).get("autoPoolSpecification")
    if new is None or old is None:
        return
    # Both as the service reports them: the stored one carries its defaults (5.3), a request may not.
    new_form = comparable_form(AUTO_POOL_SPECIFICATION, with_defaults(AUTO_POOL_SPECIFICATION, new))
    old_form = comparable_form(AUTO_POOL_SPECIFICATION, with_defaults(AUTO_POOL_SPECIFICATION, old))
    for name in _AUTO_POOL_FIXED:
        if new_form.get(name) != old_form.get(name):
            raise reject(INVALID_VALUE, f"poolInfo.autoPoolSpecification.{name}",
                         "only keepAlive of an auto pool specification can be changed")
