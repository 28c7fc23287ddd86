"""What the scheduler derives from the backend and keeps in memory: per-job views and task facts, and the
retention timers of completed tasks. Everything here can be rebuilt from the backend after a restart."""
from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from batch_service.backend.account import Backend
from batch_service.backend.ids import ticks_from_iso, ticks_from_unix
from batch_service.backend.lifecycle import TERMINATED_BY_USER
from batch_service.durations import duration_seconds
from batch_service.scheduler.execution import Attempt, Model, guarded
from batch_service.scheduler.model import DependencyBook, PendingQueue

_TICKS_AT_UNIX_EPOCH = ticks_from_unix(0)


def unix_time(timestamp: str) -> float:
    """A service timestamp (section 1.1) as seconds since the Unix epoch."""
    return (ticks_from_iso(timestamp) - _TICKS_AT_UNIX_EPOCH) / 10_000_000


@dataclass(slots=True)
class TaskMeta:
    """What a scheduling pass needs to know about a task without reading it again."""

    task_id: str
    order: int
    slots: int
    instances: int
    depends_on: dict[str, Any] | None
    manager: bool
    exclusive: bool


@dataclass
class JobView:
    """The scheduler's derived view of one job: its queue, its running attempts, its dependency book."""

    job_id: str
    order: int
    model: Model
    pending: PendingQueue = field(default_factory=PendingQueue)
    book: DependencyBook = field(default_factory=DependencyBook)
    tasks: dict[str, TaskMeta] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)
    running: dict[str, Attempt] = field(default_factory=dict)
    wall_clock: asyncio.TimerHandle | None = None

    @property
    def state(self) -> str:
        """The job's state as last read from the backend."""
        return str(self.model["state"])

    @property
    def pool_key(self) -> str:
        """The case-folded id of the pool the job runs on (an auto-pool's generated id included)."""
        return str((self.model.get("executionInfo") or {}).get("poolId", "")).lower()

    @property
    def manager_key(self) -> str | None:
        """The case-folded id of the job manager task, if the job has one."""
        manager = self.model.get("jobManagerTask")
        return str(manager["id"]).lower() if manager else None

    @property
    def incomplete(self) -> int:
        """How many of the job's tasks are not completed."""
        return len(self.tasks) - len(self.completed)


class RetentionTimers:
    """Deletes a completed task's directory once its retentionTime has passed (section 3.5)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._handles: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def arm(self, job_id: str, task: Model) -> None:
        """Start the timer of a completed task, measured from its endTime."""
        end = (task.get("executionInfo") or {}).get("endTime")
        limit = duration_seconds((task.get("constraints") or {}).get("retentionTime"))
        if not end or limit is None:
            return
        self.cancel(job_id, task["id"])
        remaining = unix_time(end) + limit - time.time()
        self._handles[(job_id.lower(), task["id"].lower())] = asyncio.get_running_loop().call_later(
            max(0.0, remaining), self._expired, job_id, task["id"], end)

    def cancel(self, job_id: str, task_id: str) -> None:
        """Stop the timer of one task (reactivated or deleted)."""
        handle = self._handles.pop((job_id.lower(), task_id.lower()), None)
        if handle is not None:
            handle.cancel()

    def cancel_job(self, job_id: str) -> None:
        """Stop the timers of a deleted job's tasks."""
        for key in [key for key in self._handles if key[0] == job_id.lower()]:
            self._handles.pop(key).cancel()

    def cancel_all(self) -> None:
        """Stop every timer (service shutdown; start() arms them again from the stored endTimes)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()

    def _expired(self, job_id: str, task_id: str, end: str) -> None:
        self._handles.pop((job_id.lower(), task_id.lower()), None)
        task = guarded(lambda: self._backend.get_task(job_id, task_id))
        # Only the completion the timer was armed for: a rerun since then has its own timer.
        if task is not None and task["state"] == "completed" and task["executionInfo"].get("endTime") == end:
            shutil.rmtree(self._backend.task_dir(job_id, task["id"]), ignore_errors=True)


def failure_kind(info: Model) -> str:
    """The runner's failure kind of a stored completion (what resolve_exit_options needs after a restart)."""
    failure = info.get("failureInfo") or {}
    code = failure.get("code")
    if code == TERMINATED_BY_USER["code"]:
        return "cancelled"
    if code == "FileUploadFailed":
        return "fileupload"
    if code == "MaxWallClockTimeExpiry":
        return "timeout"
    if info.get("exitCode") is None:
        return "preprocessing"
    return "exit"
