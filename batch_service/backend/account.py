"""The Batch backend: pools, jobs and tasks with their rules (sections 2, 4, 5, 6). No HTTP here.

Public methods used by the HTTP handlers take ids as the client sent them and raise BatchServiceError.
Methods for the scheduler (all on the event loop thread):
    get_pool(pool_id) / get_job(job_id) / get_task(job_id, task_id) -> copy of the read model
    iter_pools() / iter_jobs() / iter_tasks(job_id) -> copies, in creation order
    transition_task(job_id, task_id, to_state, **fields) / update_task_info(job_id, task_id, **fields)
    transition_task_live(...) -> the stored model itself (read only), committed within a few ms
    set_subtasks(job_id, task_id, subtasks)
    disable_job(job_id, disable_tasks) / terminate_job(job_id, reason)
    finish_disable(job_id) / finish_enable(job_id) / finish_terminate(job_id) -> bool
    node_root, task_dir(job_id, task_id), job_dir(job_id)
    schedulable_nodes(pool_id) -> the pool's nodes and whether each takes tasks (backend/node_ops.py)
    record_task_usage(job_id, task_id, usage, start, end) -> one finished attempt's accounting (backend/stats.py)
The Backend is a facade over parts that share one AccountState (core.py) by reference, each in its module:
JobOperations (pools as a whole, jobs), TaskOperations, NodeOperations (node records, the running-task index,
node verbs) and PoolOperations (resize, node removal, autoscale, pool updates).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from batch_service.backend.account_reports import AccountReports
from batch_service.backend.conditions import NO_CONDITIONS, Conditions
from batch_service.backend.core import AccountState
from batch_service.backend.job_ops import JobOperations
from batch_service.backend.lifecycle import ImmediateLifecycle, Lifecycle
from batch_service.backend.models import Model
from batch_service.backend.node_extras import NodeExtras
from batch_service.backend.node_ops import NodeOperations
from batch_service.backend.pool_ops import PoolOperations
from batch_service.backend.stats import ResourceUsage
from batch_service.backend.store import Store
from batch_service.backend.task_ops import TaskAddResult, TaskOperations
from batch_service.os_accounts import OsAccounts


class Backend:
    """All state and rules of the local Batch account."""

    def __init__(self, store: Store, data_dir: Path, *, delete_delay: float = 1.0,
                 default_pool_id: str | None = "local", default_pool_slots: int = 8,
                 resize_delay: float | None = None) -> None:
        self._core = AccountState(store, data_dir, delete_delay=delete_delay)
        self._core.lifecycle = ImmediateLifecycle(self)
        # Section 3.3 and nodes.py: a pool gets at most as many nodes as the machine has task slots.
        self._core.max_nodes = max(1, default_pool_slots)
        self._core.resize_delay = delete_delay if resize_delay is None else resize_delay
        self._nodes = NodeOperations(self._core)
        self._pool_ops = PoolOperations(self._core, self._nodes)
        self._tasks = TaskOperations(self._core, self._nodes)
        self._jobs_ops = JobOperations(self._core, self._nodes, self._pool_ops, (default_pool_id, default_pool_slots))
        # Node users, remote login, extensions and log files; catalogues, node counts and usage metrics.
        self.node_extras = NodeExtras(self._core, self._nodes)
        self.reports = AccountReports(self._core, self._nodes)

    # --- the shared state's settings (the server and tests set some after construction) -------------------

    @property
    def lifecycle(self) -> Lifecycle:
        """What the backend reports committed changes to (the scheduler, or ImmediateLifecycle)."""
        return self._core.lifecycle

    @lifecycle.setter
    def lifecycle(self, value: Lifecycle) -> None:
        self._core.lifecycle = value

    @property
    def os_accounts(self) -> OsAccounts:
        """The node users' OS accounts (disabled unless the server enables them)."""
        return self._core.os_accounts

    @os_accounts.setter
    def os_accounts(self, value: OsAccounts) -> None:
        self._core.os_accounts = value

    @property
    def base_url(self) -> str:
        """The service's endpoint, the prefix of every `url` a read returns."""
        return self._core.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._core.base_url = value

    @property
    def node_root(self) -> Path:
        """The one node directory of this machine (<data-dir>/node)."""
        return self._core.node_root

    @node_root.setter
    def node_root(self, value: Path) -> None:
        self._core.node_root = value

    @property
    def delete_delay(self) -> float:
        """Seconds a deleted job or pool stays `deleting`."""
        return self._core.delete_delay

    @property
    def resize_delay(self) -> float:
        """Seconds a resize, node removal or reboot takes."""
        return self._core.resize_delay

    @property
    def max_nodes(self) -> int:
        """The most nodes a pool gets on this machine."""
        return self._core.max_nodes

    def public(self, model: Mapping[str, Any]) -> Model:
        """A deep copy of a stored model with its absolute url (what GET would return)."""
        return self._core.public(model)

    def task_dir(self, job_id: str, task_id: str) -> Path:
        """The task directory on the local node (section 10.2)."""
        return self._core.task_dir(job_id, task_id)

    def job_dir(self, job_id: str) -> Path:
        """The directory holding every task directory of a job."""
        return self._core.job_dir(job_id)

    def cancel_timers(self) -> None:
        """Stop pending timers (on shutdown; they are resumed from the store on the next start)."""
        self._core.cancel_timers()

    # --- pools as a whole and jobs (job_ops.py) -------------------------------------------------------------
    def load(self) -> None:
        """Read the store, make sure the default pool exists and the node directories too."""
        self._jobs_ops.load()

    def resume(self) -> None:
        """Restart the delete timers of jobs and pools that were `deleting` when the service stopped."""
        self._jobs_ops.resume()

    def create_pool(self, body: object) -> Model:
        """POST /pools."""
        return self._jobs_ops.create_pool(body)

    def pool_for_read(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """GET/HEAD /pools/{id}."""
        return self._jobs_ops.pool_for_read(pool_id, conditions)

    def pool_items(self) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of every pool, for list paging."""
        return self._jobs_ops.pool_items()

    def delete_pool(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> None:
        """DELETE /pools/{id}: `deleting` for --delete-delay seconds, then gone (section 2.4)."""
        self._jobs_ops.delete_pool(pool_id, conditions)

    def get_pool(self, pool_id: str) -> Model:
        """A copy of the pool's read model (PoolNotFound when absent)."""
        return self._jobs_ops.get_pool(pool_id)

    def iter_pools(self) -> Iterator[Model]:
        """Copies of every pool's read model."""
        return self._jobs_ops.iter_pools()

    def create_job(self, body: object) -> Model:
        """POST /jobs: the job (active), its auto-pool and its job manager task."""
        return self._jobs_ops.create_job(body)

    def job_for_read(self, job_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """GET /jobs/{id}."""
        return self._jobs_ops.job_for_read(job_id, conditions)

    def job_items(self) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of every job, for list paging."""
        return self._jobs_ops.job_items()

    def job_stats(self, job_id: str) -> Model:
        """BatchJobStatistics from the job's tasks (section 5.1, `$expand=stats`)."""
        return self._jobs_ops.job_stats(job_id)

    def pool_stats(self, pool_id: str) -> Model:
        """BatchPoolStatistics from the accounting of the tasks of the pool's jobs (`$expand=stats`)."""
        return self._jobs_ops.pool_stats(pool_id)

    def get_job(self, job_id: str) -> Model:
        """A copy of the job's read model (JobNotFound when absent)."""
        return self._jobs_ops.get_job(job_id)

    def iter_jobs(self) -> Iterator[Model]:
        """Copies of every job's read model, in creation order."""
        return self._jobs_ops.iter_jobs()

    def preparation_release_items(self, job_id: str) -> Iterator[tuple[int, Model]]:
        """GET /jobs/{id}/jobpreparationandreleasetaskstatus: one entry per node the job prepared, in the order
        the nodes were first used; 409 JobPreparationTaskNotSpecified for a job with neither JP nor JR."""
        return self._jobs_ops.preparation_release_items(job_id)

    def record_preparation_release(self, job_id: str, node: Mapping[str, str], part: str,
                                   info: Mapping[str, Any]) -> None:
        """Merge `info` into the node's jobPreparationTaskExecutionInfo or jobReleaseTaskExecutionInfo (a None
        value removes the key) and persist it with the job."""
        self._jobs_ops.record_preparation_release(job_id, node, part, info)

    def update_job(self, job_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PATCH /jobs/{id}: change only the properties present."""
        return self._jobs_ops.update_job(job_id, body, conditions)

    def replace_job(self, job_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PUT /jobs/{id}: replace every updatable property; an omitted one returns to its default."""
        return self._jobs_ops.replace_job(job_id, body, conditions)

    def disable_tasks_option(self, body: object) -> str:
        """The validated `disableTasks` of a disable body: requeue, terminate or wait (section 2.1)."""
        return self._jobs_ops.disable_tasks_option(body)

    def terminate_reason_option(self, body: object) -> str:
        """The validated `terminateReason` of an optional terminate body (default UserTerminate, 5.1)."""
        return self._jobs_ops.terminate_reason_option(body)

    def disable_job(self, job_id: str, disable_tasks: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /jobs/{id}/disable: `disabling` now; the lifecycle calls finish_disable."""
        return self._jobs_ops.disable_job(job_id, disable_tasks, conditions)

    def enable_job(self, job_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /jobs/{id}/enable: `enabling` now; the lifecycle calls finish_enable."""
        return self._jobs_ops.enable_job(job_id, conditions)

    def terminate_job(self, job_id: str, reason: str = "UserTerminate",
                      conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /jobs/{id}/terminate (and the scheduler's job endings): `terminating` with the reason
        (section 5.1 lists the service's reasons); the lifecycle calls finish_terminate."""
        return self._jobs_ops.terminate_job(job_id, reason, conditions)

    def delete_job(self, job_id: str, conditions: Conditions = NO_CONDITIONS) -> None:
        """DELETE /jobs/{id}: `deleting` for --delete-delay seconds, then 404 (section 2.5)."""
        self._jobs_ops.delete_job(job_id, conditions)

    def finish_disable(self, job_id: str) -> bool:
        """disabling -> disabled; False (and no change) when the job is gone or not disabling."""
        return self._jobs_ops.finish_disable(job_id)

    def finish_enable(self, job_id: str) -> bool:
        """enabling -> active; False when the job is gone or not enabling."""
        return self._jobs_ops.finish_enable(job_id)

    def finish_terminate(self, job_id: str) -> bool:
        """terminating -> completed (endTime set, auto-pool released); False when not terminating."""
        return self._jobs_ops.finish_terminate(job_id)

    # --- tasks (task_ops.py) --------------------------------------------------------------------------------
    def create_task(self, job_id: str, body: object) -> Model:
        """POST /jobs/{id}/tasks: add one task to an active job (409 otherwise)."""
        return self._tasks.create_task(job_id, body)

    def add_task_collection(self, job_id: str, body: object) -> list[TaskAddResult]:
        """POST /jobs/{id}/addtaskcollection: up to 100 tasks, one result each, stored in one transaction."""
        return self._tasks.add_task_collection(job_id, body)

    def task_for_read(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """GET /jobs/{id}/tasks/{id}: the stored model (304/412 when a condition fails)."""
        return self._tasks.task_for_read(job_id, task_id, conditions)

    def task_items(self, job_id: str, after: int | None = None) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of the job's tasks in creation order from sequence `after` on, for list paging."""
        return self._tasks.task_items(job_id, after)

    def task_counts(self, job_id: str) -> dict[str, dict[str, int]]:
        """GET /jobs/{id}/taskcounts: counts and slot counts; preparing counts as running (section 6.3)."""
        return self._tasks.task_counts(job_id)

    def task_files(self, job_id: str, task_id: str) -> tuple[Model, Path]:
        """The task's model and its directory on the node, for the files API (404 when either is absent)."""
        return self._tasks.task_files(job_id, task_id)

    def subtasks(self, job_id: str, task_id: str) -> list[dict[str, Any]]:
        """GET .../subtasksinfo: the subtasks the scheduler recorded (empty unless multi-instance)."""
        return self._tasks.subtasks(job_id, task_id)

    def replace_task(self, job_id: str, task_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PUT /jobs/{id}/tasks/{id}: replace constraints; an omitted object means defaults (section 4.2)."""
        return self._tasks.replace_task(job_id, task_id, body, conditions)

    def delete_task(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> None:
        """DELETE /jobs/{id}/tasks/{id}: remove the task and its files (section 2.5)."""
        self._tasks.delete_task(job_id, task_id, conditions)

    def terminate_task(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST .../terminate: the lifecycle completes the task (at once, or when its process ends)."""
        return self._tasks.terminate_task(job_id, task_id, conditions)

    def reactivate_task(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST .../reactivate: a failed completed task becomes active with retryCount 0 (section 2.5)."""
        return self._tasks.reactivate_task(job_id, task_id, conditions)

    def get_task(self, job_id: str, task_id: str) -> Model:
        """A copy of the task's read model; raises BatchServiceError (JobNotFound/TaskNotFound) when absent."""
        return self._tasks.get_task(job_id, task_id)

    def iter_tasks(self, job_id: str) -> Iterator[Model]:
        """Copies of the job's task read models in creation order (a snapshot, safe to change the job while
        iterating)."""
        return self._tasks.iter_tasks(job_id)

    def transition_task(self, job_id: str, task_id: str, to_state: str, **fields: Any) -> Model:
        """Move a task to `to_state` (checked against states.TASK_TRANSITIONS, raising InvalidTransition),
        keeping previousState and the transition times, and apply `fields` as update_task_info does.
        Returns a copy of the new read model."""
        return self._tasks.transition_task(job_id, task_id, to_state, **fields)

    def transition_task_live(self, job_id: str, task_id: str, to_state: str, **fields: Any) -> Model:
        """transition_task for the scheduler: returns the stored model itself (the caller only reads it, at
        once) and commits the change with the other transitions of the next few ms (store.put_task_later)."""
        return self._tasks.transition_task_live(job_id, task_id, to_state, **fields)

    def update_task_info(self, job_id: str, task_id: str, **fields: Any) -> Model:
        """Change execution details without a state change. `executionInfo` is merged key by key (a None
        value removes the key); `nodeInfo` and `stats` are replaced (None removes them)."""
        return self._tasks.update_task_info(job_id, task_id, **fields)

    def record_task_usage(self, job_id: str, task_id: str, usage: ResourceUsage | None, start: str,
                          end: str) -> None:
        """Add one finished attempt to the task's accounting (its `stats`, section 5.2)."""
        self._tasks.record_task_usage(job_id, task_id, usage, start, end)

    def task_stats(self, job_id: str, task_id: str) -> Model | None:
        """BatchTaskStatistics of a task that has run, else None (no figure is invented)."""
        return self._tasks.task_stats(job_id, task_id)

    def set_subtasks(self, job_id: str, task_id: str, subtasks: list[Mapping[str, Any]]) -> None:
        """Record the subtasks of a multi-instance task (BatchSubtask dicts, section 5.2) for subtasksinfo."""
        self._tasks.set_subtasks(job_id, task_id, subtasks)

    # --- compute nodes (node_ops.py) ------------------------------------------------------------------------
    def schedulable_nodes(self, pool_id: str) -> list[tuple[str, bool]]:
        """(node id, accepts new tasks) of each node of the pool, for the scheduler."""
        return self._nodes.schedulable_nodes(pool_id)

    def node_items(self, pool_id: str) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of each node of the pool, for list paging."""
        return self._nodes.node_items(pool_id)

    def node_for_read(self, pool_id: str, node_id: str) -> Model:
        """GET /pools/{id}/nodes/{nodeId}."""
        return self._nodes.node_for_read(pool_id, node_id)

    def prepare_node_root(self) -> None:
        """Create the node directories (section 10.2), so a node's files can be listed before a task ran."""
        self._nodes.prepare_node_root()

    def node_files(self, pool_id: str, node_id: str) -> tuple[str, Path]:
        """The node's url path and its directory: every virtual node of this machine shares <data-dir>/node."""
        return self._nodes.node_files(pool_id, node_id)

    def disable_scheduling(self, pool_id: str, node_id: str, option: str) -> None:
        """POST .../disablescheduling: no new tasks; running ones requeued, terminated or left to finish."""
        self._nodes.disable_scheduling(pool_id, node_id, option)

    def enable_scheduling(self, pool_id: str, node_id: str) -> None:
        """POST .../enablescheduling: the node takes tasks again."""
        self._nodes.enable_scheduling(pool_id, node_id)

    def reboot_node(self, pool_id: str, node_id: str, option: str) -> None:
        """POST .../reboot: requeue or terminate its tasks and reboot now, or reboot once they finish."""
        self._nodes.reboot_node(pool_id, node_id, option)

    # --- resize, node removal, autoscale, pool updates (pool_ops.py) ----------------------------------------
    def update_pool(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PATCH /pools/{id}: replace the properties present; node-shaping ones only while it has no node."""
        return self._pool_ops.update_pool(pool_id, body, conditions)

    def replace_pool_properties(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/updateproperties: startTask (removed when absent), package references, metadata."""
        return self._pool_ops.replace_pool_properties(pool_id, body, conditions)

    def resize_pool(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/resize: `resizing` now, the nodes --resize-delay seconds later."""
        return self._pool_ops.resize_pool(pool_id, body, conditions)

    def stop_resize(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/stopresize: `stopping`, then `steady` with the nodes the pool has now."""
        return self._pool_ops.stop_resize(pool_id, conditions)

    def remove_nodes(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/removenodes: the named nodes leave (their tasks handled per the option)."""
        return self._pool_ops.remove_nodes(pool_id, body, conditions)

    def enable_autoscale(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/enableautoscale: store the formula and interval, evaluate now and on the interval."""
        return self._pool_ops.enable_autoscale(pool_id, body, conditions)

    def disable_autoscale(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/disableautoscale: the pool keeps its nodes and stops evaluating."""
        return self._pool_ops.disable_autoscale(pool_id, conditions)

    def evaluate_autoscale(self, pool_id: str, body: object) -> Model:
        """POST /pools/{id}/evaluateautoscale: the AutoScaleRun of a formula, without applying it."""
        return self._pool_ops.evaluate_autoscale(pool_id, body)

    def node_verb(self, verb: str, pool_id: str, node_id: str, option: str = "requeue") -> None:
        """POST .../nodes/{id}/reimage, /deallocate (with their option) or /start; 409 in a state the verb
        does not act in."""
        if verb == "reimage":
            self._nodes.reimage_node(pool_id, node_id, option)
        elif verb == "deallocate":
            self._nodes.deallocate_node(pool_id, node_id, option)
        else:
            self._nodes.start_node(pool_id, node_id)
