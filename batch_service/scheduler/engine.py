"""The Lifecycle that runs tasks: slots on virtual nodes, priorities, dependencies, retries, wall clocks,
exit conditions, job manager / preparation / release tasks, and the asynchronous job transitions.

All state lives in the backend (and so in SQLite); this object only keeps what it can derive again from it
(queues, slot usage, timers), so `start()` after a restart picks up where the service stopped. Nothing here
sleeps or polls: a scheduling pass runs after each Lifecycle call and each finished attempt, and wall clocks
and retention are loop timers. Batch facts cite ../shared/reference/batch-api.md section 6.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from batch_service.backend.account import Backend
from batch_service.backend.core import key_of
from batch_service.backend.lifecycle import TERMINATED_BY_USER
from batch_service.durations import duration_seconds
from batch_service.runner.files import failure_info
from batch_service.runner.process import Runner, TaskOutcome, utc_now
from batch_service.scheduler.execution import Attempt, Executor, Model, guarded, stamp_time
from batch_service.scheduler.model import (
    PoolSlots,
    VirtualNode,
    resolve_exit_options,
)
from batch_service.scheduler.pools import PoolEvents
from batch_service.scheduler.state import JobView, RetentionTimers, TaskMeta, failure_kind, unix_time
from batch_service.settings import Settings

log = logging.getLogger("batch_service.scheduler")
_LIVE_JOB_STATES = ("active", "disabling", "disabled", "enabling")


class Scheduler(PoolEvents):
    """Implements batch_service.lifecycle.Lifecycle with real slots and a Runner."""

    def __init__(self, backend: Backend, runner: Runner, settings: Settings) -> None:
        self._backend = backend
        self._settings = settings
        self._max_slots = max(1, settings.max_slots)
        self._runner = runner
        self._executor = Executor(backend, runner, settings.account_name,
                                  lambda: settings.endpoint or backend.base_url)
        self._jobs: dict[str, JobView] = {}
        self._pools: dict[str, PoolSlots] = {}
        self._used = 0
        self._order = itertools.count()
        self._pass_queued = False
        self._started = False
        self._stopping = False
        self._retention = RetentionTimers(backend)
        self._background: set[asyncio.Future[Any]] = set()

    # --- start and stop -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Derive queues and slots from the backend; requeue what was running when the service stopped."""
        self._started = True
        for pool in self._backend.iter_pools():
            self._add_pool(pool)
        for job in self._backend.iter_jobs():
            if job["state"] != "deleting":
                self._load_job(job, restarting=True)
        self._request_pass()

    async def stop(self) -> None:
        """Kill running attempts without recording them (the next start requeues them) and stop timers."""
        self._stopping = True
        attempts = [attempt for view in self._jobs.values() for attempt in view.running.values()]
        for attempt in attempts:
            attempt.stop("shutdown")
        pending: list[asyncio.Future[Any]] = [attempt.future for attempt in attempts if attempt.future is not None]
        pending += list(self._background)
        await self._executor.close()
        if pending:
            _, late = await asyncio.wait(pending, timeout=10)
            for future in late:
                future.cancel()
        for view in self._jobs.values():
            if view.wall_clock is not None:
                view.wall_clock.cancel()
        self._retention.cancel_all()
        self._runner.close()

    def _load_job(self, model: Model, restarting: bool) -> JobView:
        view = JobView(model["id"], next(self._order), model)
        self._jobs[view.job_id.lower()] = view
        for task in self._backend.iter_tasks(view.job_id):
            self._track_task(view, task, restarting)
        self._arm_wall_clock(view)
        if restarting and view.state in ("disabling", "enabling", "terminating"):
            # Nothing of the job runs any more after a restart, so its pending transition can finish.
            finish = {"disabling": self._backend.finish_disable, "enabling": self._backend.finish_enable,
                      "terminating": self._backend.finish_terminate}[view.state]
            guarded(lambda: finish(view.job_id))
            self._refresh(view)
        self._check_all_complete(view)
        return view

    def _track_task(self, view: JobView, task: Model, restarting: bool) -> None:
        key = key_of(task["id"])  # the id itself when it is lower case: one string per task, not several
        manager = view.manager_key == key
        settings = task.get("multiInstanceSettings") or {}
        meta = TaskMeta(task["id"], next(self._order), int(task.get("requiredSlots") or 1),
                        int(settings.get("numberOfInstances") or 1), task.get("dependsOn"), manager,
                        manager and bool(view.model["jobManagerTask"].get("runExclusive", True)))
        view.tasks[key] = meta
        view.book.add(task["id"])
        state = task["state"]
        if restarting and state in ("preparing", "running"):
            self._requeue(view, task["id"])
        elif state == "active":
            view.pending.push(key, meta.order)
        elif state == "completed":
            self._settle_completed(view, task)

    def _settle_completed(self, view: JobView, task: Model, kind: str | None = None) -> None:
        info = task.get("executionInfo") or {}
        if kind is None:
            kind = "none" if info.get("result") == "success" else failure_kind(info)
        options = resolve_exit_options(task.get("exitConditions"), info.get("exitCode"), kind)
        view.completed.add(task["id"].lower())
        view.book.settle(task["id"], options.dependency_action == "satisfy")
        self._retention.arm(view.job_id, task)

    # --- Lifecycle ------------------------------------------------------------------------------------

    def job_added(self, job_id: str) -> None:
        """Queue the new job's tasks (its job manager task among them)."""
        if self._started:
            self._load_job(self._backend.get_job(job_id), restarting=False)
            self._request_pass()

    def job_updated(self, job_id: str) -> None:
        """Pick up priority, maxParallelTasks, constraints, poolInfo and onAllTasksComplete changes."""
        view = self._view(job_id)
        if view is not None:
            self._refresh(view)
            self._arm_wall_clock(view)
            self._check_all_complete(view)
            self._request_pass()

    def job_disabling(self, job_id: str, disable_tasks: str) -> None:
        """Requeue, terminate or wait for running tasks (section 6.1), then finish disabling."""
        view = self._view(job_id)
        if view is None:
            return
        self._refresh(view)
        if disable_tasks in ("requeue", "terminate"):
            for attempt in list(view.running.values()):
                attempt.stop(disable_tasks)
        self._spawn(self._finish_after_running(view, self._backend.finish_disable))

    def job_enabling(self, job_id: str) -> None:
        """Scheduling resumes at once."""
        view = self._view(job_id)
        guarded(lambda: self._backend.finish_enable(job_id))
        if view is not None:
            self._refresh(view)
            self._check_all_complete(view)
            self._request_pass()

    def job_terminating(self, job_id: str, reason: str) -> None:
        """Kill running tasks, run the release tasks, then complete the job (sections 2.5, 6.7)."""
        view = self._view(job_id)
        if view is None:
            return
        self._refresh(view)
        if view.wall_clock is not None:
            view.wall_clock.cancel()
        for attempt in list(view.running.values()):
            attempt.stop("terminate")
        self._spawn(self._end_job(view))

    def job_deleting(self, job_id: str) -> None:
        """Stop everything of the job; its release tasks still run where its preparation ran."""
        view = self._jobs.pop(job_id.lower(), None)
        if view is None:
            return
        if view.wall_clock is not None:
            view.wall_clock.cancel()
        self._retention.cancel_job(job_id)
        for attempt in list(view.running.values()):
            attempt.stop("discard")
        self._spawn(self._release_deleted_job(view))

    def tasks_added(self, job_id: str, task_ids: list[str]) -> None:
        """Queue the new tasks."""
        view = self._view(job_id)
        if view is None:
            return
        for task_id in task_ids:
            # task_for_read hands out the stored model without a copy; it is only read here.
            task = guarded(functools.partial(self._backend.task_for_read, job_id, task_id))
            if task is not None:
                self._track_task(view, task, restarting=False)
        self._request_pass()

    def task_terminating(self, job_id: str, task_id: str) -> None:
        """Kill the task if it runs; otherwise complete it at once as ended by the user."""
        view = self._view(job_id)
        if view is None:
            return
        attempt = view.running.get(task_id.lower())
        if attempt is not None:
            attempt.stop("terminate")
            return
        now = utc_now()
        self._complete(view, task_id, TaskOutcome(None, dict(TERMINATED_BY_USER), "cancelled", now, now))
        self._request_pass()

    def task_reactivated(self, job_id: str, task_id: str) -> None:
        """Queue the task again; its earlier outcome no longer satisfies dependents."""
        view = self._view(job_id)
        meta = view.tasks.get(task_id.lower()) if view is not None else None
        if view is None or meta is None:
            return
        view.completed.discard(task_id.lower())
        view.book.settle(task_id, False)
        self._retention.cancel(view.job_id, task_id)
        view.pending.push(task_id.lower(), meta.order)
        self._request_pass()

    def task_deleted(self, job_id: str, task_id: str) -> None:
        """Forget the task and kill its process if it runs."""
        view = self._view(job_id)
        if view is None:
            return
        key = task_id.lower()
        attempt = view.running.get(key)
        if attempt is not None:
            attempt.stop("discard")
        view.pending.discard(key)
        view.tasks.pop(key, None)
        view.completed.discard(key)
        view.book.remove(task_id)
        self._retention.cancel(view.job_id, task_id)
        self._check_all_complete(view)
        self._request_pass()

    # --- scheduling pass ------------------------------------------------------------------------------

    def _request_pass(self) -> None:
        if self._pass_queued or not self._started or self._stopping:
            return
        self._pass_queued = True
        asyncio.get_running_loop().call_soon(self._pass)

    def _pass(self) -> None:
        self._pass_queued = False
        if self._stopping or self._used >= self._max_slots:
            return
        # Section 3.1: a higher job priority runs first; then the older job.
        ready = [view for view in self._jobs.values() if view.state == "active" and len(view.pending)]
        for view in sorted(ready, key=lambda view: (-int(view.model.get("priority") or 0), view.order)):
            pool = self._pools.get(view.pool_key)
            if pool is not None:
                self._fill(view, pool)
            if self._used >= self._max_slots:
                return

    def _fill(self, view: JobView, pool: PoolSlots) -> None:
        avoid = self._executor.failed_preparation_nodes(view.job_id)
        limit = int(view.model.get("maxParallelTasks") or -1)
        for _, key in view.pending:
            if self._used >= self._max_slots or (limit > 0 and len(view.running) >= limit):
                return
            if not any(node.free for node in pool.nodes):
                return
            manager = view.manager_key
            if manager is not None and manager in view.pending.members and key != manager:
                return  # section 6.7: the job manager task is scheduled before the job's other tasks
            meta = view.tasks[key]
            if meta.slots * meta.instances > self._max_slots - self._used or not view.book.ready(meta.depends_on):
                continue
            nodes = self._place(pool, meta, avoid)
            if nodes is not None:
                self._start(view, pool, meta, nodes)

    @staticmethod
    def _place(pool: PoolSlots, meta: TaskMeta, avoid: frozenset[str]) -> list[VirtualNode] | None:
        if meta.instances > 1:
            return pool.place_distinct(meta.instances, avoid)
        node = pool.place(meta.slots, meta.exclusive, avoid)
        return [node] if node is not None else None

    def _start(self, view: JobView, pool: PoolSlots, meta: TaskMeta, nodes: list[VirtualNode]) -> None:
        key = meta.task_id.lower()
        view.pending.discard(key)
        for node in nodes:
            node.used += meta.slots
            node.exclusive = meta.exclusive
        self._used += meta.slots * len(nodes)
        attempt = Attempt(view.job_id, meta.task_id, pool, nodes, meta.slots, meta.exclusive)
        view.running[key] = attempt
        attempt.future = asyncio.ensure_future(self._run(view, attempt))

    def _release(self, view: JobView, attempt: Attempt) -> None:
        for node in attempt.nodes:
            node.used -= attempt.slots
            if attempt.exclusive:
                node.exclusive = False
        self._used -= attempt.slots * len(attempt.nodes)
        if view.running.get(attempt.key) is attempt:
            del view.running[attempt.key]

    # --- one attempt, start to end --------------------------------------------------------------------

    async def _run(self, view: JobView, attempt: Attempt) -> None:
        outcome: TaskOutcome | None = None
        try:
            # The view's copy of the job is refreshed on every job change, so no read is needed here.
            outcome = await self._executor.execute(attempt, view.model)
        except asyncio.CancelledError:
            attempt.stop("shutdown")
        except Exception as error:  # a broken launch must not leave the task running forever
            exists = guarded(lambda: self._backend.get_task(view.job_id, attempt.task_id)) is not None
            if attempt.stop_reason is None and exists:
                log.exception("task %s/%s could not be run", view.job_id, attempt.task_id)
                now = utc_now()
                outcome = TaskOutcome(None, failure_info("TaskLaunchFailed", f"The task could not be started: "
                                                         f"{type(error).__name__}", category="servererror"),
                                      "preprocessing", now, now)
            else:
                attempt.stop("discard")
        finally:
            self._release(view, attempt)
        if not self._stopping:
            self._after_attempt(view, attempt, outcome)
            self._request_pass()

    def _after_attempt(self, view: JobView, attempt: Attempt, outcome: TaskOutcome | None) -> None:
        reason = attempt.stop_reason
        if reason in ("shutdown", "discard") or self._jobs.get(view.job_id.lower()) is not view:
            return
        if outcome is None:
            # The job preparation task failed on the node: the task is active again (section 6.3).
            if reason == "terminate":
                now = utc_now()
                self._complete(view, attempt.task_id, TaskOutcome(None, dict(TERMINATED_BY_USER), "cancelled",
                                                                  now, now))
            else:
                view.pending.push(attempt.key, view.tasks[attempt.key].order)
            return
        if outcome.failure_kind == "cancelled" and reason == "requeue":
            self._requeue(view, attempt.task_id)
        elif outcome.failure_kind == "cancelled":
            self._complete(view, attempt.task_id, replace(outcome, failure_info=dict(TERMINATED_BY_USER)))
        elif not self._retry(view, attempt.task_id, outcome):
            self._complete(view, attempt.task_id, outcome)

    def _retry(self, view: JobView, task_id: str, outcome: TaskOutcome) -> bool:
        # Section 6.4: only a nonzero exit is retried; up to maxTaskRetryCount times, -1 meaning unlimited.
        if outcome.failure_kind != "exit":
            return False
        task = guarded(lambda: self._backend.get_task(view.job_id, task_id))
        if task is None:
            return False
        limit = int((task.get("constraints") or {}).get("maxTaskRetryCount") or 0)
        count = int(task["executionInfo"].get("retryCount") or 0)
        if limit != -1 and count >= limit:
            return False
        guarded(lambda: self._backend.transition_task_live(
            view.job_id, task_id, "active", nodeInfo=None, executionInfo={
                "retryCount": count + 1, "lastRetryTime": stamp_time(utc_now()), "exitCode": outcome.exit_code,
                "endTime": None, "result": None, "failureInfo": None}))
        view.pending.push(task_id.lower(), view.tasks[task_id.lower()].order)
        return True

    def _requeue(self, view: JobView, task_id: str) -> None:
        # Section 6.4: requeueCount counts requeues (disable with requeue, node removal, restart).
        task = guarded(lambda: self._backend.get_task(view.job_id, task_id))
        if task is None:
            return
        count = int(task["executionInfo"].get("requeueCount") or 0)
        moved = guarded(lambda: self._backend.transition_task_live(
            view.job_id, task_id, "active", nodeInfo=None,
            executionInfo={"requeueCount": count + 1, "lastRequeueTime": stamp_time(utc_now())}))
        if task.get("multiInstanceSettings"):
            guarded(lambda: self._backend.set_subtasks(view.job_id, task_id, []))
        meta = view.tasks.get(task_id.lower())
        if moved is not None and meta is not None:
            view.pending.push(task_id.lower(), meta.order)

    def _complete(self, view: JobView, task_id: str, outcome: TaskOutcome) -> None:
        """Record the task's end, then apply its exit options, JM completion and onAllTasksComplete."""
        key = task_id.lower()
        view.pending.discard(key)
        # The stored model itself comes back (no copy): it is only read below, before anything else runs.
        task = guarded(lambda: self._backend.transition_task_live(view.job_id, task_id, "completed", executionInfo={
            "endTime": stamp_time(outcome.end_time), "exitCode": outcome.exit_code,
            "result": "success" if outcome.succeeded else "failure", "failureInfo": outcome.failure_info}))
        if task is None:
            return
        self._settle_completed(view, task, outcome.failure_kind)
        options = resolve_exit_options(task.get("exitConditions"), outcome.exit_code, outcome.failure_kind)
        manager = view.model.get("jobManagerTask") if view.manager_key == key else None
        if view.model.get("onTaskFailure") == "performexitoptionsjobaction" and options.job_action != "none":
            # Section 6.2: a disable means disable with requeue; a terminate has reason TaskFailed.
            if options.job_action == "terminate":
                guarded(lambda: self._backend.terminate_job(view.job_id, "TaskFailed"))
            else:
                guarded(lambda: self._backend.disable_job(view.job_id, "requeue"))
        if manager and manager.get("killJobOnCompletion", True) and view.state in _LIVE_JOB_STATES:
            guarded(lambda: self._backend.terminate_job(view.job_id, "JMComplete"))
        self._check_all_complete(view)

    def _check_all_complete(self, view: JobView) -> None:
        # Section 6.2: with terminatejob, a job whose every task is completed (zero tasks included) terminates.
        if view.model.get("onAllTasksComplete") == "terminatejob" and view.state == "active" \
                and view.incomplete == 0:
            guarded(lambda: self._backend.terminate_job(view.job_id, "AllTasksComplete"))

    # --- job endings ----------------------------------------------------------------------------------

    async def _wait_for_running(self, view: JobView) -> None:
        while view.running:
            futures = [attempt.future for attempt in view.running.values() if attempt.future is not None]
            await asyncio.gather(*futures, return_exceptions=True)

    async def _finish_after_running(self, view: JobView, finish: Callable[[str], bool]) -> None:
        await self._wait_for_running(view)
        if not self._stopping:
            guarded(lambda: finish(view.job_id))
            self._refresh(view)

    async def _end_job(self, view: JobView) -> None:
        await self._wait_for_running(view)
        job = guarded(lambda: self._backend.get_job(view.job_id))
        if job is not None:
            await self._executor.release_job(job)
        if not self._stopping:
            guarded(lambda: self._backend.finish_terminate(view.job_id))
            self._refresh(view)

    async def _release_deleted_job(self, view: JobView) -> None:
        await self._wait_for_running(view)
        await self._executor.release_job(view.model)
        if not self._stopping and guarded(lambda: self._backend.get_job(view.job_id)) is None:
            # The backend already removed the job's files; the release task must not leave new ones behind.
            shutil.rmtree(self._backend.job_dir(view.job_id), ignore_errors=True)

    # --- timers ---------------------------------------------------------------------------------------

    def _arm_wall_clock(self, view: JobView) -> None:
        if view.wall_clock is not None:
            view.wall_clock.cancel()
            view.wall_clock = None
        limit = duration_seconds((view.model.get("constraints") or {}).get("maxWallClockTime"))
        if limit is None or view.state not in _LIVE_JOB_STATES:
            return
        # Section 3.1: the job's wall clock runs from its creation.
        remaining = unix_time(view.model["creationTime"]) + limit - time.time()
        view.wall_clock = asyncio.get_running_loop().call_later(max(0.0, remaining), self._job_expired, view)

    def _job_expired(self, view: JobView) -> None:
        view.wall_clock = None
        if self._view(view.job_id) is view and view.state in _LIVE_JOB_STATES:
            guarded(lambda: self._backend.terminate_job(view.job_id, "MaxWallClockTimeExpiry"))

    # --- helpers --------------------------------------------------------------------------------------

    def _view(self, job_id: str) -> JobView | None:
        return self._jobs.get(job_id.lower()) if self._started else None

    def _refresh(self, view: JobView) -> None:
        model = guarded(lambda: self._backend.get_job(view.job_id))
        if model is not None:
            view.model = model

    def _spawn(self, coroutine: Any) -> None:
        future = asyncio.ensure_future(coroutine)
        self._background.add(future)
        future.add_done_callback(self._background.discard)

