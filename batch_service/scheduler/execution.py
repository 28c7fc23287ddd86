"""How the scheduler runs one placed task: job preparation on its node, the `running` transition, the runner,
multi-instance subtasks, and the job release task when a job ends.

Batch facts cite ../shared/reference/batch-api.md: 5.2 (nodeInfo, subtasks), 6.3 (states), 6.7 (JM/JP/JR),
10 (node environment and directories).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from batch_service.backend.account import Backend
from batch_service.backend.errors import BatchServiceError
from batch_service.backend.ids import iso, ticks_from_unix
from batch_service.backend.lifecycle import TERMINATED_BY_USER
from batch_service.backend.states import InvalidTransition
from batch_service.durations import duration_seconds
from batch_service.runner.process import (
    MultiInstanceContext,
    NodeContext,
    Runner,
    TaskKind,
    TaskLaunch,
    TaskOutcome,
    user_environment,
    utc_now,
    with_appended_output,
)
from batch_service.scheduler.model import PoolSlots, VirtualNode

log = logging.getLogger("batch_service.scheduler")
T = TypeVar("T")
Model = dict[str, Any]
# Stop reasons, strongest last: discarding (task or job deleted) and shutdown override a requeue or terminate.
STOP_STRENGTH = {"requeue": 1, "terminate": 1, "discard": 2, "shutdown": 2}


def stamp_time(moment: dt.datetime) -> str:
    """A datetime in the service's timestamp format (seven fractional digits, section 1.1)."""
    return iso(ticks_from_unix(moment.timestamp()))


def guarded(action: Callable[[], T]) -> T | None:
    """Run a backend write, tolerating the task or job having gone (deleted meanwhile) or moved on."""
    try:
        return action()
    except (BatchServiceError, InvalidTransition) as error:
        log.debug("scheduler write skipped: %s", error)
        return None


@dataclass
class Attempt:
    """One placed run of a task: where it holds slots and how to stop it."""

    job_id: str
    task_id: str
    pool: PoolSlots
    nodes: list[VirtualNode]
    slots: int
    exclusive: bool = False
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str | None = None
    future: asyncio.Task[None] | None = None

    @property
    def key(self) -> str:
        """The case-folded task id."""
        return self.task_id.lower()

    def stop(self, reason: str) -> None:
        """Ask the attempt to end; a stronger reason replaces a weaker one (STOP_STRENGTH)."""
        if self.stop_reason is None or STOP_STRENGTH[reason] > STOP_STRENGTH[self.stop_reason]:
            self.stop_reason = reason
        self.cancel.set()


def cancelled_outcome(started: dt.datetime) -> TaskOutcome:
    """The outcome of an attempt stopped before its command started."""
    return TaskOutcome(None, dict(TERMINATED_BY_USER), "cancelled", started, utc_now())


class Executor:
    """Runs placed attempts, job preparation and release tasks through a Runner."""

    def __init__(self, backend: Backend, runner: Runner, account_name: str, endpoint: Callable[[], str]) -> None:
        self._backend = backend
        self._runner = runner
        self._account_name = account_name
        self._endpoint = endpoint
        self._preparations: dict[tuple[str, str], asyncio.Task[bool]] = {}
        self._job_ending: dict[str, asyncio.Event] = {}
        self.shutdown = asyncio.Event()

    # --- where things are -----------------------------------------------------------------------------

    def node_context(self, pool_id: str, node_id: str) -> NodeContext:
        """The AZ_BATCH_* view of a virtual node."""
        return NodeContext(self._backend.node_root, pool_id, node_id, self._account_name, self._endpoint())

    def node_info(self, job_id: str, task_id: str, pool_id: str, node_id: str) -> Model:
        """The task's nodeInfo (section 5.2)."""
        node_url = f"{self._endpoint()}/pools/{pool_id}/nodes/{node_id}"
        root = f"workitems/{job_id}/job-1/{task_id}"
        return {"affinityId": f"TVM:{node_id}", "nodeUrl": node_url, "poolId": pool_id, "nodeId": node_id,
                "taskRootDirectory": root, "taskRootDirectoryUrl": f"{node_url}/files/{root}"}

    def node_task_dir(self, job_id: str, task_id: str, node_id: str) -> Path:
        """A per-node directory of the job (JP, JR): `<id>@<node>`, since every virtual node shares one disk."""
        return self._backend.job_dir(job_id) / "job-1" / f"{task_id}@{node_id}"

    def failed_preparation_nodes(self, job_id: str) -> frozenset[str]:
        """Nodes where the job's preparation task failed with waitForSuccess (section 6.7): skipped for it."""
        key = job_id.lower()
        return frozenset(node for (job, node), run in self._preparations.items()
                         if job == key and run.done() and not run.cancelled() and run.result() is False)

    def prepared(self, job_id: str, node_id: str) -> bool:
        """Whether the job's preparation task already succeeded on the node."""
        run = self._preparations.get((job_id.lower(), node_id))
        return run is not None and run.done() and not run.cancelled() and run.result() is True

    def launch(self, job: Model, spec: Model, kind: TaskKind, task_dir: Path, pool_id: str, node_id: str,
               **overrides: Any) -> TaskLaunch:
        """The TaskLaunch of a task, JM, JP, JR or subtask from its read-model spec on a node."""
        preparation = job.get("jobPreparationTask")
        prep_dir = self.node_task_dir(job["id"], preparation["id"], node_id) if preparation else None
        limit = spec.get("maxWallClockTime") if kind == "jobrelease" else (spec.get("constraints") or {}).get(
            "maxWallClockTime")
        launch = TaskLaunch(
            job_id=job["id"], task_id=spec["id"], kind=kind, command_line=spec["commandLine"], task_dir=task_dir,
            node=self.node_context(pool_id, node_id),
            env=user_environment(job.get("commonEnvironmentSettings"), spec.get("environmentSettings")),
            resource_files=list(spec.get("resourceFiles") or []), output_files=list(spec.get("outputFiles") or []),
            container_settings=spec.get("containerSettings"), max_wall_clock_seconds=duration_seconds(limit),
            user_identity=spec.get("userIdentity"), job_prep_dir=prep_dir,
            pool_user_admin=self._pool_user_admin(pool_id, spec.get("userIdentity")))
        return replace(launch, **overrides) if overrides else launch

    def _pool_user_admin(self, pool_id: str, identity: Model | None) -> bool | None:
        """Whether the user a task names is one of the pool's userAccounts with elevationLevel admin; None
        when it names none of them (or no user at all)."""
        name = (identity or {}).get("username")
        if not name or not self._backend.os_accounts.enabled:
            return None
        pool = guarded(lambda: self._backend.get_pool(pool_id))
        for account in (pool or {}).get("userAccounts") or []:
            if str(account.get("name", "")).lower() == str(name).lower():
                return bool(account.get("elevationLevel") == "admin")
        return None

    # --- one attempt ----------------------------------------------------------------------------------

    async def execute(self, attempt: Attempt, job: Model) -> TaskOutcome | None:
        """Prepare the node(s), move the task to running and run it; None when it went back to active."""
        started = utc_now()
        job_id, task_id, primary = job["id"], attempt.task_id, attempt.nodes[0].node_id
        info = self.node_info(job_id, task_id, attempt.pool.pool_id, primary)
        if job.get("jobPreparationTask") and not all(self.prepared(job_id, n.node_id) for n in attempt.nodes):
            self._backend.transition_task_live(job_id, task_id, "preparing", nodeInfo=info)
            ready = await self._prepare_nodes(attempt, job)
            if ready is None:
                return cancelled_outcome(started)
            if not ready:
                # Section 6.3: a failed preparation sends the task back to active, for another node.
                guarded(lambda: self._backend.transition_task_live(job_id, task_id, "active", nodeInfo=None))
                return None
        started = utc_now()
        # The transition returns the task as it is now (constraints may have changed since it was added).
        task = self._backend.transition_task_live(job_id, task_id, "running", nodeInfo=info, executionInfo={
            "startTime": stamp_time(started), "endTime": None, "exitCode": None, "result": None,
            "failureInfo": None})
        task_dir = self._backend.task_dir(job_id, task["id"])
        if task.get("multiInstanceSettings"):
            outcome = await self._run_multi_instance(attempt, job, task, task_dir)
        else:
            kind: TaskKind = "jobmanager" if _is_manager(job, task) else "task"
            launch = self.launch(job, task, kind, task_dir, attempt.pool.pool_id, primary)
            outcome = await self._runner.run(launch, attempt.cancel)
        guarded(lambda: self._backend.record_task_usage(job_id, task_id, outcome.usage, stamp_time(
            outcome.start_time), stamp_time(outcome.end_time)))
        return outcome

    # --- job preparation and release (section 6.7) ----------------------------------------------------

    async def _prepare_nodes(self, attempt: Attempt, job: Model) -> bool | None:
        runs = [self._preparation(job, attempt.pool.pool_id, node.node_id) for node in attempt.nodes]
        waiter: asyncio.Future[Any] = asyncio.ensure_future(attempt.cancel.wait())
        try:
            # Shielded: the preparation belongs to the node, not to this task; terminating the task must not
            # kill it.
            gathered: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*(asyncio.shield(run) for run in runs)))
            done, _ = await asyncio.wait({gathered, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if gathered not in done:
            gathered.cancel()
            return None
        return all(gathered.result())

    def _preparation(self, job: Model, pool_id: str, node_id: str) -> asyncio.Task[bool]:
        key = (job["id"].lower(), node_id)
        run = self._preparations.get(key)
        if run is None or run.cancelled():
            run = asyncio.ensure_future(self._run_preparation(job, pool_id, node_id))
            self._preparations[key] = run
        return run

    async def _run_preparation(self, job: Model, pool_id: str, node_id: str) -> bool:
        spec = job["jobPreparationTask"]
        retries = int((spec.get("constraints") or {}).get("maxTaskRetryCount", 0))
        task_dir = self.node_task_dir(job["id"], spec["id"], node_id)
        launch = self.launch(job, spec, "jobpreparation", task_dir, pool_id, node_id)
        part = "jobPreparationTaskExecutionInfo"
        self._record_node_task(job, pool_id, node_id, part, spec["id"],
                               {"state": "running", "startTime": stamp_time(utc_now()), "retryCount": 0})
        attempt = 0
        while True:
            outcome = await self._runner.run(launch, self._ending_event(job["id"]))
            if outcome.succeeded or outcome.failure_kind != "exit" or (0 <= retries <= attempt):
                break
            attempt += 1
            self._record_node_task(job, pool_id, node_id, part, spec["id"],
                                   {"retryCount": attempt, "lastRetryTime": stamp_time(utc_now())})
        self._record_node_task(job, pool_id, node_id, part, spec["id"], _ended(outcome))
        log.info("job %s: preparation on %s ended %s (exit %s)", job["id"], node_id, outcome.failure_kind,
                 outcome.exit_code)
        # waitForSuccess=false lets the job's tasks run on the node whatever the preparation did.
        return outcome.succeeded or not spec.get("waitForSuccess", True)

    def _record_node_task(self, job: Model, pool_id: str, node_id: str, part: str, task_id: str,
                          info: Model) -> None:
        """Keep the JP/JR execution info of a node for GET .../jobpreparationandreleasetaskstatus."""
        node_url = f"{self._endpoint()}/pools/{pool_id}/nodes/{node_id}"
        root = f"workitems/{job['id']}/job-1/{task_id}@{node_id}"
        node = {"poolId": pool_id, "nodeId": node_id, "nodeUrl": node_url}
        info = {"taskRootDirectory": root, "taskRootDirectoryUrl": f"{node_url}/files/{root}", **info}
        guarded(lambda: self._backend.record_preparation_release(job["id"], node, part, info))

    def _ending_event(self, job_id: str) -> asyncio.Event:
        return self._job_ending.setdefault(job_id.lower(), asyncio.Event())

    async def release_job(self, job: Model) -> None:
        """Stop the job's preparation tasks, then run its release task on each node the preparation ran on."""
        key = job["id"].lower()
        self._ending_event(job["id"]).set()
        runs = {node: run for (job_key, node), run in self._preparations.items() if job_key == key}
        if runs:
            await asyncio.gather(*runs.values(), return_exceptions=True)
        release = job.get("jobReleaseTask")
        pool_id = str((job.get("executionInfo") or {}).get("poolId", ""))
        if release and runs:
            await asyncio.gather(*(self._run_release(job, release, pool_id, node) for node in sorted(runs)))
        self.forget_job(job["id"])

    async def _run_release(self, job: Model, release: Model, pool_id: str, node_id: str) -> None:
        launch = self.launch(job, release, "jobrelease", self.node_task_dir(job["id"], release["id"], node_id),
                             pool_id, node_id)
        part = "jobReleaseTaskExecutionInfo"
        self._record_node_task(job, pool_id, node_id, part, release["id"],
                               {"state": "running", "startTime": stamp_time(utc_now())})
        outcome = await self._runner.run(launch, self.shutdown)
        self._record_node_task(job, pool_id, node_id, part, release["id"], _ended(outcome))

    def forget_job(self, job_id: str) -> None:
        """Drop what is remembered about a job's nodes (it ended or was deleted)."""
        key = job_id.lower()
        for pair in [pair for pair in self._preparations if pair[0] == key]:
            del self._preparations[pair]
        self._job_ending.pop(key, None)

    async def close(self) -> None:
        """Stop preparation tasks (service shutdown)."""
        self.shutdown.set()
        for event in self._job_ending.values():
            event.set()
        runs = list(self._preparations.values())
        for run in runs:
            run.cancel()
        if runs:
            await asyncio.gather(*runs, return_exceptions=True)

    # --- multi-instance tasks (section 5.2 subtasks, 3.9 MultiInstanceSettings) -----------------------

    async def _run_multi_instance(self, attempt: Attempt, job: Model, task: Model, task_dir: Path) -> TaskOutcome:
        settings = task["multiInstanceSettings"]
        count, pool_id = len(attempt.nodes), attempt.pool.pool_id
        common = list(settings.get("commonResourceFiles") or [])
        launches = []
        for index, node in enumerate(attempt.nodes):
            context = MultiInstanceContext(count, index == 0)
            directory = task_dir if index == 0 else task_dir / "subtasks" / str(index)
            launch = self.launch(job, task, "task" if index == 0 else "subtask", directory, pool_id, node.node_id,
                                 multi_instance=context, common_resource_files=common)
            if index:
                # Section 3.4: resource and output files belong to the primary only.
                launch = replace(launch, resource_files=[], output_files=[])
            launches.append(launch)
        subtasks = [self._subtask(job, task, index, pool_id, node.node_id)
                    for index, node in enumerate(attempt.nodes) if index]
        guarded(lambda: self._backend.set_subtasks(job["id"], task["id"],
                                                      cast("list[Mapping[str, Any]]", subtasks)))
        coordination = settings.get("coordinationCommandLine")
        if not coordination:
            self._finish_subtasks(job, task, subtasks, [None] * len(subtasks))
            return await self._runner.run(launches[0], attempt.cancel)
        first = [replace(launch, command_line=coordination,
                         output_files=[]) for launch in launches]
        outcomes = await asyncio.gather(*(self._runner.run(launch, attempt.cancel) for launch in first))
        self._finish_subtasks(job, task, subtasks, list(outcomes[1:]))
        failed = next((outcome for outcome in outcomes if not outcome.succeeded), None)
        if failed is not None:
            return failed
        # The primary runs the command line once every coordination command has finished.
        primary = with_appended_output(launches[0], task["commandLine"])
        outcome = await self._runner.run(primary, attempt.cancel)
        return replace(outcome, start_time=outcomes[0].start_time)

    def _subtask(self, job: Model, task: Model, index: int, pool_id: str, node_id: str) -> Model:
        now = stamp_time(utc_now())
        return {"id": index, "nodeInfo": self.node_info(job["id"], f"{task['id']}/subtasks/{index}", pool_id,
                                                         node_id),
                "startTime": now, "state": "running", "stateTransitionTime": now}

    def _finish_subtasks(self, job: Model, task: Model, subtasks: list[Model],
                         outcomes: list[TaskOutcome | None]) -> None:
        for subtask, outcome in zip(subtasks, outcomes):
            end = stamp_time(outcome.end_time if outcome else utc_now())
            subtask.update({"previousState": subtask["state"], "previousStateTransitionTime":
                            subtask["stateTransitionTime"], "state": "completed", "stateTransitionTime": end,
                            "endTime": end, "exitCode": outcome.exit_code if outcome else 0,
                            "result": "success" if outcome is None or outcome.succeeded else "failure"})
            if outcome is not None and outcome.failure_info:
                subtask["failureInfo"] = outcome.failure_info
        guarded(lambda: self._backend.set_subtasks(job["id"], task["id"],
                                                      cast("list[Mapping[str, Any]]", subtasks)))


def _ended(outcome: TaskOutcome) -> Model:
    """The execution-info fields of a JP or JR run that has ended (None values are dropped when merged)."""
    return {"state": "completed", "endTime": stamp_time(outcome.end_time), "exitCode": outcome.exit_code,
            "result": "success" if outcome.succeeded else "failure", "failureInfo": outcome.failure_info}


def _is_manager(job: Model, task: Model) -> bool:
    manager = job.get("jobManagerTask")
    return manager is not None and str(manager["id"]).lower() == str(task["id"]).lower()


async def cancel_quietly(future: asyncio.Future[Any]) -> None:
    """Cancel a future and wait for it, swallowing its cancellation."""
    future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await future
