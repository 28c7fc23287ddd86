"""The seam between the API and whatever runs tasks: the backend tells a Lifecycle what changed.

The backend commits the API-visible change first (a job in `disabling`, a task added) and then calls the
Lifecycle. ImmediateLifecycle finishes every transition at once and runs nothing; the scheduler
(batch_service.scheduler.Scheduler) implements the same protocol with real slots, runners and timers, and
reports back through the backend's public methods (finish_disable, transition_task, ...).
All calls happen on the event loop thread and must not block.
"""
from __future__ import annotations

from typing import Any, Protocol

from batch_service.backend.ids import iso, now_ticks


class Lifecycle(Protocol):
    """What the backend reports after each committed change."""

    def job_added(self, job_id: str) -> None:
        """A job was created (state active; its job manager task, if any, was added as a task)."""

    def job_updated(self, job_id: str) -> None:
        """PATCH or PUT changed a job's properties (priority, constraints, poolInfo, ...)."""

    def job_disabling(self, job_id: str, disable_tasks: str) -> None:
        """The job is now `disabling`; handle running tasks per disable_tasks, then call finish_disable."""

    def job_enabling(self, job_id: str) -> None:
        """The job is now `enabling`; call finish_enable when scheduling may resume."""

    def job_terminating(self, job_id: str, reason: str) -> None:
        """The job is now `terminating`; kill running tasks, run release tasks, then call finish_terminate."""

    def job_deleting(self, job_id: str) -> None:
        """The job is now `deleting`; stop its tasks. The backend removes it after --delete-delay."""

    def tasks_added(self, job_id: str, task_ids: list[str]) -> None:
        """Tasks were added (create task or add-collection), all in state active."""

    def task_terminating(self, job_id: str, task_id: str) -> None:
        """A client asked to terminate the task; complete it through transition_task."""

    def task_reactivated(self, job_id: str, task_id: str) -> None:
        """A completed task is active again with retryCount 0."""

    def task_deleted(self, job_id: str, task_id: str) -> None:
        """The task is gone from the API; stop its process if it runs."""

    def pool_added(self, pool_id: str) -> None:
        """A pool (or an auto-pool) was created."""

    def pool_deleted(self, pool_id: str) -> None:
        """A pool entered `deleting`."""

    def nodes_changed(self, pool_id: str) -> None:
        """The pool's nodes changed: added, removed, rebooting, scheduling enabled or disabled."""

    def node_tasks_stopping(self, pool_id: str, node_ids: list[str], option: str) -> None:
        """Stop what runs on the nodes: `requeue` puts the tasks back in the queue, `terminate` completes them."""


# Section 2.5/6.3: a task the user terminates completes as a failure with this failure info.
TERMINATED_BY_USER = {"category": "usererror", "code": "TaskEnded", "message": "Task Was Ended by User Request"}


class TransitionSink(Protocol):
    """The backend methods a lifecycle calls to finish an asynchronous transition (the Backend has them)."""

    def finish_disable(self, job_id: str) -> bool:
        """disabling -> disabled."""

    def finish_enable(self, job_id: str) -> bool:
        """enabling -> active."""

    def finish_terminate(self, job_id: str) -> bool:
        """terminating -> completed."""

    def transition_task(self, job_id: str, task_id: str, to_state: str, **fields: Any) -> dict[str, Any]:
        """Move a task to another state and apply the execution details in `fields`."""


class ImmediateLifecycle:
    """Completes every asynchronous transition at once and runs no task (tasks stay active)."""

    def __init__(self, backend: TransitionSink) -> None:
        self._backend = backend

    def job_added(self, job_id: str) -> None:
        """Nothing runs, so nothing to start."""

    def job_updated(self, job_id: str) -> None:
        """Nothing is scheduled, so nothing to re-plan."""

    def job_disabling(self, job_id: str, disable_tasks: str) -> None:
        """No task runs, so the job is disabled at once."""
        self._backend.finish_disable(job_id)

    def job_enabling(self, job_id: str) -> None:
        """The job is active again at once."""
        self._backend.finish_enable(job_id)

    def job_terminating(self, job_id: str, reason: str) -> None:
        """No task runs and no release task exists here, so the job completes at once."""
        self._backend.finish_terminate(job_id)

    def job_deleting(self, job_id: str) -> None:
        """The backend's delete timer does the rest."""

    def tasks_added(self, job_id: str, task_ids: list[str]) -> None:
        """Tasks stay active."""

    def task_terminating(self, job_id: str, task_id: str) -> None:
        """Complete the task as ended by the user."""
        now = iso(now_ticks())
        self._backend.transition_task(job_id, task_id, "completed", executionInfo={
            "endTime": now, "result": "failure", "failureInfo": dict(TERMINATED_BY_USER)})

    def task_reactivated(self, job_id: str, task_id: str) -> None:
        """The task stays active."""

    def task_deleted(self, job_id: str, task_id: str) -> None:
        """Nothing runs."""

    def pool_added(self, pool_id: str) -> None:
        """Nodes are instant."""

    def pool_deleted(self, pool_id: str) -> None:
        """Nothing runs on it."""

    def nodes_changed(self, pool_id: str) -> None:
        """Nothing is placed on nodes."""

    def node_tasks_stopping(self, pool_id: str, node_ids: list[str], option: str) -> None:
        """Nothing runs on nodes."""
