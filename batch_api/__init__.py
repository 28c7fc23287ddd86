"""The facts of the Azure Batch REST API, api-version 2025-06-01, written once.

One table per REST object type (`tasks`, `pools`, `jobs`; vocabulary in `model`): each field's type, limits,
enum spelling, required-ness, server default as the service reports it, secrecy, read-only and write-only,
and how it may change after creation. Cross-field rules (`rules`, `pool_rules`) state who enforces them.
Normal forms of durations, the "unlimited" value, enum case and timestamps live in `normal`; `defaults`
fills the reported defaults into a body.

A server default is one place per field: `default=` in the wire form the service reports (the local service
fills it in, the providers expect it); `reported=False` when the service applies it but does not write it back
(the providers still treat an omitted field as that value); `also_default=` for other values the service may
report for an omitted field.

Read by both sides: the providers check, normalise and diff with it; the local service validates request
bodies and fills in defaults with it. May import: the standard library and isodate only -- never `providers`
or `batch_service`.
"""
from __future__ import annotations

from batch_api.jobs import (
    JOB,
    JOB_DISABLE,
    JOB_REPLACE,
    JOB_SCHEDULE,
    JOB_SPECIFICATION,
    JOB_TERMINATE,
    JOB_UPDATE,
)
from batch_api.pools import AUTO_POOL_SPECIFICATION, POOL, POOL_INFO, POOL_SPECIFICATION
from batch_api.tasks import TASK, TASK_GROUP, TASK_UPDATE

API_VERSION = "2025-06-01"

# The request bodies of 2025-06-01 by the name both sides use for them.
BODIES = {
    "job": JOB,
    "task": TASK,
    "job_schedule": JOB_SCHEDULE,
    "pool": POOL,
    "job_patch": JOB_UPDATE,
    "job_put": JOB_REPLACE,
    "task_update": TASK_UPDATE,
    "task_collection": TASK_GROUP,
    "job_disable": JOB_DISABLE,
    "job_terminate": JOB_TERMINATE,
}

__all__ = [
    "API_VERSION",
    "AUTO_POOL_SPECIFICATION",
    "BODIES",
    "JOB",
    "JOB_DISABLE",
    "JOB_REPLACE",
    "JOB_SCHEDULE",
    "JOB_SPECIFICATION",
    "JOB_TERMINATE",
    "JOB_UPDATE",
    "POOL",
    "POOL_INFO",
    "POOL_SPECIFICATION",
    "TASK",
    "TASK_GROUP",
    "TASK_UPDATE",
]
