"""Pools (create, read, delete, statistics) and jobs of the backend: create, read, PATCH/PUT, the state
verbs and the end of asynchronous transitions (sections 2.1, 2.4, 2.5, 4.1, 6.1). No HTTP here."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from batch_api import POOL_INFO
from batch_api.defaults import with_defaults
from batch_service.backend import errors, states, stats
from batch_service.backend.conditions import NO_CONDITIONS, Conditions
from batch_service.backend.core import AccountState, Entry, JobEntry, key_of
from batch_service.backend.ids import auto_pool_id, iso, now_ticks
from batch_service.backend.models import (
    JOB_ENUMS,
    JOB_ORDER,
    JOB_UPDATABLE_DEFAULTS,
    POOL_ENUMS,
    Model,
    canonical_enums,
    copy_json,
    job_constraints,
    job_manager_as_task,
    move_state,
    new_job,
    new_pool,
    new_task,
    ordered,
    stamp,
)
from batch_service.backend.node_ops import NodeOperations
from batch_service.backend.pool_ops import PoolOperations
from batch_service.validation import bodies


class JobOperations:
    """Pools as a whole and jobs: their creation, reads, updates, state verbs and removal."""

    def __init__(self, core: AccountState, nodes: NodeOperations, pool_ops: PoolOperations,
                 default_pool: tuple[str | None, int]) -> None:
        self._core = core
        self._nodes = nodes
        self._pool_ops = pool_ops
        self._default_pool = default_pool

    def load(self) -> None:
        """Read the store, make sure the default pool exists and the node directories too."""
        self._core.load_snapshot()
        self._nodes.prepare_node_root()
        for pool in self._core.pools.values():
            if "nodes" not in pool.extra and pool.state != "deleting":
                self._pool_ops.allocate_new_pool(pool)  # stored before pools had node records
                self._core.save_pool(pool)
        pool_id, slots = self._default_pool
        if pool_id and key_of(pool_id) not in self._core.pools:
            self._add_pool({"id": pool_id, "vmSize": "local", "targetDedicatedNodes": 1, "taskSlotsPerNode": slots})

    def resume(self) -> None:
        """Restart the delete timers of jobs and pools that were `deleting` when the service stopped."""
        now = time.time()
        for key, job in list(self._core.jobs.items()):
            if job.state == "deleting":
                self._core.call_later(("job", key), job.extra.get("purgeAt", now) - now,
                                 functools.partial(self._purge_job, key))
        for key, pool in list(self._core.pools.items()):
            if pool.state == "deleting":
                self._core.call_later(("pool", key), pool.extra.get("purgeAt", now) - now,
                                 functools.partial(self._purge_pool, key))
        self._pool_ops.resume_pools()

    # --- pools --------------------------------------------------------------------------------------------

    def create_pool(self, body: object) -> Model:
        """POST /pools."""
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        bodies.validate_pool_create(body)
        if not isinstance(body.get("id"), str):
            raise errors.missing_property("id")
        existing = self._core.pools.get(key_of(body["id"]))
        if existing is not None:
            raise errors.pool_being_deleted() if existing.state == "deleting" else errors.pool_exists()
        return self._add_pool(canonical_enums(body, POOL_ENUMS)).model

    def _add_pool(self, body: Mapping[str, Any]) -> Entry:
        pool = Entry(self._core.next_seq(), new_pool(body, self._core.clock.tick()))
        self._core.pools[key_of(body["id"])] = pool
        self._pool_ops.allocate_new_pool(pool)
        self._core.save_pool(pool)
        self._core.lifecycle.pool_added(pool.model["id"])
        return pool

    def pool_for_read(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """GET/HEAD /pools/{id}."""
        pool = self._core.pool_entry(pool_id)
        conditions.check(pool.model, read=True)
        return pool.model

    def pool_items(self) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of every pool, for list paging."""
        return ((pool.seq, pool.model) for pool in list(self._core.pools.values()))

    def delete_pool(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> None:
        """DELETE /pools/{id}: `deleting` for --delete-delay seconds, then gone (section 2.4)."""
        pool = self._core.pool_entry(pool_id)
        conditions.check(pool.model, read=False)
        if pool.state == "deleting":
            raise errors.pool_being_deleted()
        if key_of(pool.model["id"]) == key_of(self._default_pool[0] or ""):
            raise errors.invalid_for_current_state("The default pool of the local service cannot be deleted.")
        self._begin_pool_delete(pool)

    def _begin_pool_delete(self, pool: Entry) -> None:
        ticks = self._core.clock.tick()
        move_state(pool.model, "deleting", ticks)
        stamp(pool.model, ticks)
        pool.extra["purgeAt"] = time.time() + self._core.delete_delay
        self._core.save_pool(pool)
        self._core.lifecycle.pool_deleted(pool.model["id"])
        key = key_of(pool.model["id"])
        purge = functools.partial(self._purge_pool, key)
        self._core.call_later(("pool", key), self._core.delete_delay, purge)

    def _purge_pool(self, key: str) -> None:
        pool = self._core.pools.pop(key, None)
        if pool is not None:
            self._core.store.delete_pool(key)
            self._core.os_accounts.remove_pool(pool.model["id"])
            self._nodes.forget_nodes({key_of(record["id"]) for record in self._nodes.records(pool)})

    def get_pool(self, pool_id: str) -> Model:
        """A copy of the pool's read model (PoolNotFound when absent)."""
        return self._core.public(self._core.pool_entry(pool_id).model)

    def iter_pools(self) -> Iterator[Model]:
        """Copies of every pool's read model."""
        return (self._core.public(pool.model) for pool in list(self._core.pools.values()))

    # --- jobs: create and read ----------------------------------------------------------------------------

    def create_job(self, body: object) -> Model:
        """POST /jobs: the job (active), its auto-pool and its job manager task."""
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        bodies.validate_job_create(body)
        if not isinstance(body.get("id"), str):
            raise errors.missing_property("id")
        if not isinstance(body.get("poolInfo"), dict):
            raise errors.missing_property("poolInfo")
        existing = self._core.jobs.get(key_of(body["id"]))
        if existing is not None:
            # Section 2.5: a job being deleted still holds its id until it is gone.
            raise errors.job_being_deleted() if existing.state == "deleting" else errors.job_exists()
        body = canonical_enums(body, JOB_ENUMS)
        auto = body["poolInfo"].get("autoPoolSpecification")
        pool_id = self._create_auto_pool(auto) if auto else str(body["poolInfo"].get("poolId", ""))
        job = JobEntry(self._core.next_seq(), new_job(body, self._core.clock.tick(), pool_id))
        self._core.jobs[key_of(body["id"])] = job
        self._core.save_job(job)
        if job.model.get("jobManagerTask"):
            manager = Entry(self._core.next_seq(), new_task(job_manager_as_task(job.model["jobManagerTask"]),
                                                       job.model, self._core.clock.tick()))
            job.tasks[key_of(manager.model["id"])] = manager
            self._core.save_tasks(job, [manager])
        self._core.lifecycle.job_added(job.model["id"])
        return job.model

    def _create_auto_pool(self, spec: Mapping[str, Any]) -> str:
        # Section 3.2: the id is the prefix plus a unique suffix; executionInfo.poolId records it.
        pool_id = auto_pool_id(spec.get("autoPoolIdPrefix"))
        pool_spec: dict[str, Any] = spec["pool"] if isinstance(spec.get("pool"), dict) else {}
        self._add_pool({**pool_spec, "id": pool_id})
        return pool_id

    def job_for_read(self, job_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """GET /jobs/{id}."""
        job = self._core.job_entry(job_id)
        conditions.check(job.model, read=True)
        return job.model

    def job_items(self) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of every job, for list paging."""
        return ((job.seq, job.model) for job in list(self._core.jobs.values()))

    def job_stats(self, job_id: str) -> Model:
        """BatchJobStatistics from the job's tasks (section 5.1, `$expand=stats`)."""
        job = self._core.job_entry(job_id)
        pairs = ((task.model, task.extra.get("usage")) for task in list(job.tasks.values()))
        return stats.job_stats(job.model, pairs, self._core.base_url + job.model["url"], iso(now_ticks()))

    def pool_stats(self, pool_id: str) -> Model:
        """BatchPoolStatistics from the accounting of the tasks of the pool's jobs (`$expand=stats`)."""
        pool = self._core.pool_entry(pool_id)
        key = key_of(pool.model["id"])
        records = (task.extra.get("usage") or {} for job in list(self._core.jobs.values())
                   if key_of(str(job.model["executionInfo"].get("poolId", ""))) == key
                   for task in list(job.tasks.values()))
        url = self._core.base_url + pool.model["url"]
        return stats.pool_stats(pool.model, records, url, iso(now_ticks()))

    def get_job(self, job_id: str) -> Model:
        """A copy of the job's read model (JobNotFound when absent)."""
        return self._core.public(self._core.job_entry(job_id).model)

    def iter_jobs(self) -> Iterator[Model]:
        """Copies of every job's read model, in creation order."""
        return (self._core.public(job.model) for job in list(self._core.jobs.values()))

    # --- job preparation and release status (section 6.7) ----------------------------------------------------

    def preparation_release_items(self, job_id: str) -> Iterator[tuple[int, Model]]:
        """GET /jobs/{id}/jobpreparationandreleasetaskstatus: one entry per node the job prepared, in the order
        the nodes were first used; 409 JobPreparationTaskNotSpecified for a job with neither JP nor JR."""
        job = self._core.job_entry(job_id)
        if not job.model.get("jobPreparationTask") and not job.model.get("jobReleaseTask"):
            raise errors.job_preparation_task_not_specified()
        nodes = job.extra.get("preparationRelease", {})
        return ((order, copy_json(entry)) for order, entry in enumerate(list(nodes.values())))

    def record_preparation_release(self, job_id: str, node: Mapping[str, str], part: str,
                                   info: Mapping[str, Any]) -> None:
        """Merge `info` into the node's jobPreparationTaskExecutionInfo or jobReleaseTaskExecutionInfo (a None
        value removes the key) and persist it with the job."""
        job = self._core.job_entry(job_id)
        nodes = job.extra.setdefault("preparationRelease", {})
        entry = nodes.setdefault(node["nodeId"], dict(node))
        merged = {**entry.get(part, {}), **info}
        entry[part] = {name: value for name, value in merged.items() if value is not None}
        self._core.save_job(job)

    # --- jobs: PATCH and PUT (section 4.1) ----------------------------------------------------------------

    def update_job(self, job_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PATCH /jobs/{id}: change only the properties present."""
        job = self._prepare_update(job_id, body, conditions, bodies.validate_job_patch)
        assert isinstance(body, dict)
        changes = canonical_enums(body, JOB_ENUMS)
        self._apply_job_changes(job, changes, replace=False)
        return job.model

    def replace_job(self, job_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PUT /jobs/{id}: replace every updatable property; an omitted one returns to its default."""
        job = self._prepare_update(job_id, body, conditions, bodies.validate_job_put)
        assert isinstance(body, dict)
        if not isinstance(body.get("poolInfo"), dict):
            raise errors.missing_property("poolInfo")
        self._apply_job_changes(job, canonical_enums(body, JOB_ENUMS), replace=True)
        return job.model

    def _prepare_update(self, job_id: str, body: object, conditions: Conditions,
                        check: Callable[[object, Model], None]) -> JobEntry:
        job = self._core.job_entry(job_id)
        conditions.check(job.model, read=False)
        states.check(states.JOB_RULES["update"], job.state)
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        check(body, self._core.public(job.model))
        return job

    def _apply_job_changes(self, job: JobEntry, changes: Mapping[str, Any], *, replace: bool) -> None:
        model = job.model
        updated: dict[str, Any] = dict(JOB_UPDATABLE_DEFAULTS) if replace else {}
        updated.update({key: changes[key] for key in JOB_UPDATABLE_DEFAULTS if key in changes})
        if "onAllTasksComplete" in updated and model["onAllTasksComplete"] == "terminatejob" \
                and updated["onAllTasksComplete"] == "noaction":
            # Section 4.1: terminatejob -> noaction is refused.
            raise errors.invalid_property("onAllTasksComplete", "It cannot change from terminatejob to noaction.")
        pool_info = self._changed_pool_info(job, changes["poolInfo"]) if "poolInfo" in changes else None
        if not replace and "networkConfiguration" in changes:
            updated["networkConfiguration"] = changes["networkConfiguration"]
        if "constraints" in updated:
            updated["constraints"] = job_constraints(updated["constraints"])
        model.update(updated)
        if pool_info is not None:
            model["poolInfo"] = with_defaults(POOL_INFO, pool_info)  # reported with its defaults (5.3)
            if "poolId" in pool_info:
                model["executionInfo"]["poolId"] = pool_info["poolId"]
        stamp(model, self._core.clock.tick())
        job.model = ordered(model, JOB_ORDER)
        self._core.save_job(job)
        self._core.lifecycle.job_updated(model["id"])

    def _changed_pool_info(self, job: JobEntry, new: object) -> dict[str, Any]:
        if not isinstance(new, dict):
            raise errors.invalid_property("poolInfo", "poolInfo must be an object.")
        current: dict[str, Any] = job.model["poolInfo"]
        if bodies.pool_identity(new) == bodies.pool_identity(current):
            return current  # section 4.1: the unchanged value is accepted in any state
        current_auto, new_auto = current.get("autoPoolSpecification"), new.get("autoPoolSpecification")
        if current_auto is not None and new_auto is not None:
            # validate_job_patch/put have refused any change but keepAlive (section 4.1).
            if current_auto.get("poolLifetimeOption") != "job":
                raise errors.invalid_property("poolInfo.autoPoolSpecification.keepAlive",
                                              "keepAlive can change only when poolLifetimeOption is job.")
            return new
        if new_auto is not None:
            raise errors.invalid_property("poolInfo.autoPoolSpecification",
                                          "An auto-pool specification cannot be added to an existing job.")
        if job.state != "disabled":
            raise errors.invalid_for_current_state("The job must be disabled to change poolInfo.")
        return new

    # --- jobs: state verbs (section 6.1) ------------------------------------------------------------------

    def disable_tasks_option(self, body: object) -> str:
        """The validated `disableTasks` of a disable body: requeue, terminate or wait (section 2.1)."""
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        bodies.validate_job_disable(body)
        value = body.get("disableTasks")
        if not isinstance(value, str):
            raise errors.missing_property("disableTasks")
        if value.lower() not in ("requeue", "terminate", "wait"):
            raise errors.invalid_property("disableTasks", "Allowed values: requeue, terminate, wait.")
        return value.lower()

    def terminate_reason_option(self, body: object) -> str:
        """The validated `terminateReason` of an optional terminate body (default UserTerminate, 5.1)."""
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        bodies.validate_job_terminate(body)
        reason = body.get("terminateReason")
        return reason if isinstance(reason, str) and reason else "UserTerminate"

    def disable_job(self, job_id: str, disable_tasks: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /jobs/{id}/disable: `disabling` now; the lifecycle calls finish_disable."""
        job = self._core.job_entry(job_id)
        conditions.check(job.model, read=False)
        if states.check(states.JOB_RULES["disable"], job.state):
            self._move_job(job, "disabling")
            self._core.lifecycle.job_disabling(job.model["id"], disable_tasks)
        return job.model

    def enable_job(self, job_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /jobs/{id}/enable: `enabling` now; the lifecycle calls finish_enable."""
        job = self._core.job_entry(job_id)
        conditions.check(job.model, read=False)
        if states.check(states.JOB_RULES["enable"], job.state):
            self._move_job(job, "enabling")
            self._core.lifecycle.job_enabling(job.model["id"])
        return job.model

    def terminate_job(self, job_id: str, reason: str = "UserTerminate",
                      conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /jobs/{id}/terminate (and the scheduler's job endings): `terminating` with the reason
        (section 5.1 lists the service's reasons); the lifecycle calls finish_terminate."""
        job = self._core.job_entry(job_id)
        conditions.check(job.model, read=False)
        states.check(states.JOB_RULES["terminate"], job.state)
        job.model["executionInfo"]["terminateReason"] = reason
        self._move_job(job, "terminating")
        self._core.lifecycle.job_terminating(job.model["id"], reason)
        return job.model

    def delete_job(self, job_id: str, conditions: Conditions = NO_CONDITIONS) -> None:
        """DELETE /jobs/{id}: `deleting` for --delete-delay seconds, then 404 (section 2.5)."""
        job = self._core.job_entry(job_id)
        conditions.check(job.model, read=False)
        states.check(states.JOB_RULES["delete"], job.state)
        job.extra["purgeAt"] = time.time() + self._core.delete_delay
        self._move_job(job, "deleting")
        self._core.lifecycle.job_deleting(job.model["id"])
        key = key_of(job.model["id"])
        self._core.call_later(("job", key), self._core.delete_delay, functools.partial(self._purge_job, key))

    def _move_job(self, job: JobEntry, to_state: str) -> None:
        states.require_job_transition(job.state, to_state)
        ticks = self._core.clock.tick()
        move_state(job.model, to_state, ticks)
        if to_state == "completed":
            job.model["executionInfo"]["endTime"] = iso(ticks)
        stamp(job.model, ticks)
        job.model = ordered(job.model, JOB_ORDER)
        self._core.save_job(job)

    def _purge_job(self, key: str) -> None:
        job = self._core.jobs.pop(key, None)
        if job is None:
            return
        self._core.store.delete_job(key)
        for task_key in job.tasks:
            self._nodes.task_gone(key, task_key)
        self._core.remove_tree(self._core.job_dir(job.model["id"]))
        self._release_auto_pool(job)

    def _release_auto_pool(self, job: JobEntry) -> None:
        # Section 3.2: an auto-pool with lifetime `job` goes when the job ends, unless keepAlive.
        spec = job.model["poolInfo"].get("autoPoolSpecification")
        if not spec or spec.get("poolLifetimeOption") != "job" or spec.get("keepAlive"):
            return
        pool = self._core.pools.get(key_of(job.model["executionInfo"].get("poolId", "")))
        if pool is not None and pool.state != "deleting":
            self._begin_pool_delete(pool)

    # --- for the scheduler: finishing asynchronous transitions --------------------------------------------

    def finish_disable(self, job_id: str) -> bool:
        """disabling -> disabled; False (and no change) when the job is gone or not disabling."""
        return self._finish(job_id, "disabling", "disabled")

    def finish_enable(self, job_id: str) -> bool:
        """enabling -> active; False when the job is gone or not enabling."""
        return self._finish(job_id, "enabling", "active")

    def finish_terminate(self, job_id: str) -> bool:
        """terminating -> completed (endTime set, auto-pool released); False when not terminating."""
        if not self._finish(job_id, "terminating", "completed"):
            return False
        self._release_auto_pool(self._core.job_entry(job_id))
        return True

    def _finish(self, job_id: str, from_state: str, to_state: str) -> bool:
        job = self._core.jobs.get(key_of(job_id))
        if job is None or job.state != from_state:
            return False
        self._move_job(job, to_state)
        return True
