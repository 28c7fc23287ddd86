"""Azure Batch jobs and tasks (REST api-version 2025-06-01) as Pulumi dynamic resources.

The public API: the resources (`BatchJob`, `BatchTask`, `BatchTaskCollection`, `BatchJobSchedule`), the task
factories, the typed shapes of their `spec`s and of `wait_for_completion`, and the errors a program may catch.
Provider classes and helpers live in the modules and may change.

Layers, top to bottom; a module imports from its own layer and the ones below, and a test fails on any
import cycle:
    job, task, collection, schedule   one module per resource: typed inputs, provider, Resource class
    _base, diff, job_link, waiting, collection_ops, live_tasks, policy, secrets, factories, specs
                                      what the resources share: checks via the schema, the diff, waits
    schema/                           the one rule table per REST object, and the checks that read it
    client/                           the Batch REST client: requests, retries, auth, errors, settings
Beside them, `sdk_fixes`, `warm_host` and `host_handoff` hold the workarounds of Pulumi SDK internals and the
pre-started provider host; none of them imports a resource.

Importing this package defines classes only; it never creates a resource. Each public name is imported from
its module on first use: the dynamic-provider process unpickles one provider class by its module path, and
should not pay for importing every other resource (and its libraries) before its first call.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from providers.sdk_fixes import install_sdk_fixes

if TYPE_CHECKING:
    from providers.client.errors import BatchClientError, BatchError, ConfigurationError
    from providers.collection import BatchTaskCollection
    from providers.factories import FactoryError, ParametricSweep, PerItem, TaskFactory, with_merge_task
    from providers.job import BatchJob, WiringError
    from providers.schedule import BatchJobSchedule
    from providers.specs import (
        JobConstraints,
        JobManagerTask,
        JobPreparationTask,
        JobReleaseTask,
        JobScheduleSpec,
        JobSpec,
        TaskConstraints,
        TaskSpec,
        WaitForCompletion,
    )
    from providers.task import BatchTask

_HOMES = {
    "BatchJob": "job", "BatchJobSchedule": "schedule", "BatchTask": "task", "BatchTaskCollection": "collection",
    "ParametricSweep": "factories", "PerItem": "factories", "TaskFactory": "factories",
    "with_merge_task": "factories",
    "JobSpec": "specs", "JobConstraints": "specs", "JobManagerTask": "specs", "JobPreparationTask": "specs",
    "JobReleaseTask": "specs", "JobScheduleSpec": "specs", "TaskSpec": "specs", "TaskConstraints": "specs",
    "WaitForCompletion": "specs",
    "FactoryError": "factories", "WiringError": "job", "BatchClientError": "client.errors", "BatchError": "client.errors",
    "ConfigurationError": "client.errors",
}

__all__ = [
    "BatchClientError", "BatchError", "BatchJob", "BatchJobSchedule", "BatchTask", "BatchTaskCollection",
    "ConfigurationError", "FactoryError", "JobConstraints", "JobManagerTask", "JobPreparationTask",
    "JobReleaseTask", "JobScheduleSpec", "JobSpec", "ParametricSweep", "PerItem", "TaskConstraints",
    "TaskFactory", "TaskSpec", "WaitForCompletion", "WiringError", "with_merge_task",
]


def __getattr__(name: str) -> Any:
    """The public name from its module, imported now (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'providers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"providers.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Module attributes, the lazily imported public names included."""
    return sorted(set(globals()) | set(_HOMES))


# Programs with hundreds of dynamic resources hit a RecursionError in the SDK without these, and every resource
# costs more than it must (see sdk_fixes.py).
install_sdk_fixes()
