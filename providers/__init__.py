"""Azure Batch jobs and tasks (REST api-version 2025-06-01) as Pulumi dynamic resources.

Importing this package defines classes only; it never creates a resource. Each public name is imported from
its module on first use: the dynamic-provider process unpickles one provider class by its module path, and
should not pay for importing every other resource (and its libraries) before its first call.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from providers.sdk_fixes import install_sdk_fixes

if TYPE_CHECKING:
    from providers.collection import BatchTaskCollection, BatchTaskCollectionProvider
    from providers.factories import ParametricSweep, PerItem, TaskFactory, with_merge_task
    from providers.job import BatchJob, BatchJobProvider
    from providers.schedule import BatchJobSchedule, BatchJobScheduleProvider
    from providers.specs import JobSpec, TaskSpec
    from providers.task import BatchTask, BatchTaskProvider

_HOMES = {
    "BatchJob": "job", "BatchJobProvider": "job", "BatchJobSchedule": "schedule",
    "BatchJobScheduleProvider": "schedule", "BatchTask": "task", "BatchTaskProvider": "task",
    "BatchTaskCollection": "collection", "BatchTaskCollectionProvider": "collection", "JobSpec": "specs",
    "TaskSpec": "specs", "ParametricSweep": "factories", "PerItem": "factories", "TaskFactory": "factories",
    "with_merge_task": "factories",
}

__all__ = [
    "BatchJob", "BatchJobProvider", "BatchJobSchedule", "BatchJobScheduleProvider", "BatchTask",
    "BatchTaskCollection", "BatchTaskCollectionProvider", "BatchTaskProvider", "JobSpec", "ParametricSweep",
    "PerItem", "TaskFactory", "TaskSpec", "with_merge_task",
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
