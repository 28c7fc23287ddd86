"""Azure Batch jobs and tasks (REST api-version 2025-06-01) as Pulumi dynamic resources.

Importing this package defines classes only; it never creates a resource.
"""
from __future__ import annotations

from providers.collection import BatchTaskCollection, BatchTaskCollectionProvider
from providers.factories import ParametricSweep, PerItem, TaskFactory, with_merge_task
from providers.job import BatchJob, BatchJobProvider
from providers.schedule import BatchJobSchedule, BatchJobScheduleProvider
from providers.sdk_fixes import install_sdk_fixes
from providers.specs import JobSpec, TaskSpec
from providers.task import BatchTask, BatchTaskProvider

__all__ = [
    "BatchJob", "BatchJobProvider", "BatchJobSchedule", "BatchJobScheduleProvider", "BatchTask",
    "BatchTaskCollection", "BatchTaskCollectionProvider", "BatchTaskProvider", "JobSpec", "ParametricSweep",
    "PerItem", "TaskFactory", "TaskSpec", "with_merge_task",
]

# Programs with hundreds of dynamic resources hit a RecursionError in the SDK without these, and every resource
# costs more than it must (see sdk_fixes.py).
install_sdk_fixes()
