"""Task operations of the backend (sections 2.3, 2.5, 4.2, 6.3) and the task methods the scheduler uses."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch_service.backend import errors, states, stats
from batch_service.backend.conditions import NO_CONDITIONS, Conditions
from batch_service.backend.core import AccountState, Entry, JobEntry, key_of
from batch_service.backend.errors import BatchServiceError
from batch_service.backend.ids import iso, now_ticks
from batch_service.backend.models import (
    TASK_ENUMS,
    TASK_ORDER,
    Model,
    canonical_enums,
    move_state,
    new_task,
    ordered,
    stamp,
    task_constraints,
)
from batch_service.backend.node_ops import NodeOperations
from batch_service.backend.stats import ResourceUsage
from batch_service.validation import bodies

MAX_TASKS_PER_COLLECTION = 100  # section 2.5
_TASK_INFO_FIELDS = ("executionInfo", "nodeInfo", "stats")


@dataclass
class TaskAddResult:
    """The outcome for one task of an add-collection (section 2.5): a stored model or the error."""

    task_id: str
    model: Model | None = None
    error: BatchServiceError | None = None


def _reserved_ids(job: Model) -> list[tuple[str, BatchServiceError]]:
    reserved = []
    if job.get("jobPreparationTask"):
        reserved.append((key_of(job["jobPreparationTask"]["id"]), errors.task_id_same_as_job_preparation_task()))
    if job.get("jobReleaseTask"):
        reserved.append((key_of(job["jobReleaseTask"]["id"]), errors.task_id_same_as_job_release_task()))
    return reserved


class TaskOperations:
    """Create, read, update, delete and the life-cycle verbs of tasks."""

    def __init__(self, core: AccountState, nodes: NodeOperations) -> None:
        self._core = core
        self._nodes = nodes  # told of every move, for its running-task index

    # --- create -------------------------------------------------------------------------------------------

    def create_task(self, job_id: str, body: object) -> Model:
        """POST /jobs/{id}/tasks: add one task to an active job (409 otherwise)."""
        job = self._core.job_entry(job_id)
        states.check(states.JOB_RULES["add_tasks"], job.state)
        entry = self._new_task_entry(job, body, set(), self._core.public(job.model))
        job.tasks[key_of(entry.model["id"])] = entry
        self._core.save_tasks(job, [entry])
        self._core.lifecycle.tasks_added(job.model["id"], [entry.model["id"]])
        return entry.model

    def add_task_collection(self, job_id: str, body: object) -> list[TaskAddResult]:
        """POST /jobs/{id}/addtaskcollection: up to 100 tasks, one result each, stored in one transaction."""
        job = self._core.job_entry(job_id)
        tasks = body.get("value") if isinstance(body, dict) else None
        if not isinstance(tasks, list):
            raise errors.missing_property("value")
        if len(tasks) > MAX_TASKS_PER_COLLECTION:
            raise errors.invalid_property("value", f"A collection holds at most {MAX_TASKS_PER_COLLECTION} tasks.")
        states.check(states.JOB_RULES["add_tasks"], job.state)
        results: list[TaskAddResult] = []
        added: list[Entry] = []
        taken: set[str] = set()
        job_view = self._core.public(job.model)  # what validation sees; one copy for the whole collection
        for item in tasks:
            task_id = str(item.get("id", "")) if isinstance(item, dict) else ""
            try:
                entry = self._new_task_entry(job, item, taken, job_view)
            except Exception as exc:  # a ValidationError or BatchServiceError becomes this task's result
                error = errors.coerce(exc)
                if error is None:
                    raise
                results.append(TaskAddResult(task_id, error=error))
                continue
            taken.add(key_of(entry.model["id"]))
            added.append(entry)
            results.append(TaskAddResult(entry.model["id"], model=entry.model))
        for entry in added:
            job.tasks[key_of(entry.model["id"])] = entry
        if added:
            self._core.save_tasks(job, added)
            self._core.lifecycle.tasks_added(job.model["id"], [entry.model["id"] for entry in added])
        return results

    def _new_task_entry(self, job: JobEntry, body: object, taken: set[str], job_view: Model) -> Entry:
        if not isinstance(body, dict):
            raise errors.invalid_request_body("A task must be a JSON object.")
        bodies.validate_task_create(body, job_view)
        for name in ("id", "commandLine"):
            if not isinstance(body.get(name), str):
                raise errors.missing_property(name)
        key = key_of(body["id"])
        for reserved, error in _reserved_ids(job.model):
            if key == reserved:
                raise error
        if key in job.tasks or key in taken:
            raise errors.task_exists()
        model = new_task(canonical_enums(body, TASK_ENUMS), job.model, self._core.clock.tick())
        return Entry(self._core.next_seq(), model)

    # --- read ---------------------------------------------------------------------------------------------

    def task_for_read(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """GET /jobs/{id}/tasks/{id}: the stored model (304/412 when a condition fails)."""
        task = self._core.task_entry(self._core.job_entry(job_id), task_id)
        conditions.check(task.model, read=True)
        return task.model

    def task_items(self, job_id: str, after: int | None = None) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of the job's tasks in creation order from sequence `after` on, for list paging."""
        return ((task.seq, task.model) for task in self._core.job_entry(job_id).tasks_after(after))

    def task_counts(self, job_id: str) -> dict[str, dict[str, int]]:
        """GET /jobs/{id}/taskcounts: counts and slot counts; preparing counts as running (section 6.3)."""
        counts = dict.fromkeys(("active", "running", "completed", "succeeded", "failed"), 0)
        slots = dict(counts)
        outcomes = {"success": "succeeded", "failure": "failed"}
        for task in self._core.job_entry(job_id).tasks.values():
            model = task.model
            state = model["state"]
            required = int(model.get("requiredSlots", 1))
            bucket = "running" if state == "preparing" else state
            counts[bucket] += 1
            slots[bucket] += required
            if state == "completed":
                outcome = outcomes.get(model.get("executionInfo", {}).get("result"))
                if outcome is not None:
                    counts[outcome] += 1
                    slots[outcome] += required
        return {"taskCounts": counts, "taskSlotCounts": slots}

    def task_files(self, job_id: str, task_id: str) -> tuple[Model, Path]:
        """The task's model and its directory on the node, for the files API (404 when either is absent)."""
        job = self._core.job_entry(job_id)
        task = self._core.task_entry(job, task_id)
        return task.model, self._core.task_dir(job.model["id"], task.model["id"])

    def subtasks(self, job_id: str, task_id: str) -> list[dict[str, Any]]:
        """GET .../subtasksinfo: the subtasks the scheduler recorded (empty unless multi-instance)."""
        task = self._core.task_entry(self._core.job_entry(job_id), task_id)
        return list(task.extra.get("subtasks", []))

    # --- update and verbs ---------------------------------------------------------------------------------

    def replace_task(self, job_id: str, task_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PUT /jobs/{id}/tasks/{id}: replace constraints; an omitted object means defaults (section 4.2)."""
        job, task = self._task_to_change(job_id, task_id, conditions, "update_task", "update")
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        bodies.validate_task_update(body)
        task.model["constraints"] = task_constraints(body.get("constraints"), job.model)
        stamp(task.model, self._core.clock.tick())
        self._core.save_tasks(job, [task])
        return task.model

    def _task_to_change(self, job_id: str, task_id: str, conditions: Conditions, job_rule: str,
                        task_rule: str | None = None) -> tuple[JobEntry, Entry]:
        """The job and task a write verb acts on, once the preconditions, the job's state and (when given) the
        task's state allow it, checked in that order."""
        job = self._core.job_entry(job_id)
        task = self._core.task_entry(job, task_id)
        conditions.check(task.model, read=False)
        states.check(states.JOB_RULES[job_rule], job.state)
        if task_rule is not None:
            states.check(states.TASK_RULES[task_rule], task.state)
        return job, task

    def delete_task(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> None:
        """DELETE /jobs/{id}/tasks/{id}: remove the task and its files (section 2.5)."""
        job, task = self._task_to_change(job_id, task_id, conditions, "delete_task")
        del job.tasks[key_of(task.model["id"])]
        self._core.store.delete_task(key_of(job.model["id"]), key_of(task.model["id"]))
        self._core.lifecycle.task_deleted(job.model["id"], task.model["id"])
        self._nodes.task_gone(key_of(job.model["id"]), key_of(task.model["id"]))
        self._core.remove_tree(self._core.task_dir(job.model["id"], task.model["id"]))

    def terminate_task(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST .../terminate: the lifecycle completes the task (at once, or when its process ends)."""
        job, task = self._task_to_change(job_id, task_id, conditions, "terminate_task", "terminate")
        self._core.lifecycle.task_terminating(job.model["id"], task.model["id"])
        return task.model

    def reactivate_task(self, job_id: str, task_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST .../reactivate: a failed completed task becomes active with retryCount 0 (section 2.5)."""
        job, task = self._task_to_change(job_id, task_id, conditions, "reactivate_task", "reactivate")
        info = task.model.get("executionInfo", {})
        if info.get("result") == "success" or info.get("exitCode") == 0:
            raise errors.task_succeeded()
        ticks = self._core.clock.tick()
        move_state(task.model, "active", ticks)
        kept = {name: info[name] for name in ("requeueCount", "lastRequeueTime") if name in info}
        task.model["executionInfo"] = {"retryCount": 0, "requeueCount": 0, **kept}
        task.model.pop("nodeInfo", None)
        task.extra.pop("subtasks", None)
        stamp(task.model, ticks)
        task.model = ordered(task.model, TASK_ORDER)
        self._core.save_tasks(job, [task])
        self._core.lifecycle.task_reactivated(job.model["id"], task.model["id"])
        return task.model

    # --- for the scheduler --------------------------------------------------------------------------------

    def get_task(self, job_id: str, task_id: str) -> Model:
        """A copy of the task's read model; raises BatchServiceError (JobNotFound/TaskNotFound) when absent."""
        return self._core.public(self._core.task_entry(self._core.job_entry(job_id), task_id).model)

    def iter_tasks(self, job_id: str) -> Iterator[Model]:
        """Copies of the job's task read models in creation order (a snapshot, safe to change the job while
        iterating)."""
        return (self._core.public(task.model) for task in list(self._core.job_entry(job_id).tasks.values()))

    def transition_task(self, job_id: str, task_id: str, to_state: str, **fields: Any) -> Model:
        """Move a task to `to_state` (checked against states.TASK_TRANSITIONS, raising InvalidTransition),
        keeping previousState and the transition times, and apply `fields` as update_task_info does.
        Returns a copy of the new read model."""
        job, task = self._transition(job_id, task_id, to_state, fields)
        self._core.save_tasks(job, [task])
        return self._core.public(task.model)

    def transition_task_live(self, job_id: str, task_id: str, to_state: str, **fields: Any) -> Model:
        """transition_task for the scheduler: returns the stored model itself (the caller only reads it, at
        once) and commits the change with the other transitions of the next few ms (store.put_task_later)."""
        job, task = self._transition(job_id, task_id, to_state, fields)
        self._core.save_task_soon(job, task)
        return task.model

    def _transition(self, job_id: str, task_id: str, to_state: str,
                    fields: Mapping[str, Any]) -> tuple[JobEntry, Entry]:
        job = self._core.job_entry(job_id)
        task = self._core.task_entry(job, task_id)
        from_state = task.state
        states.require_task_transition(from_state, to_state)
        ticks = self._core.clock.tick()
        move_state(task.model, to_state, ticks)
        self._apply_task_info(task, fields, ticks)
        self._nodes.task_moved(job, task, from_state)
        return job, task

    def update_task_info(self, job_id: str, task_id: str, **fields: Any) -> Model:
        """Change execution details without a state change. `executionInfo` is merged key by key (a None
        value removes the key); `nodeInfo` and `stats` are replaced (None removes them)."""
        job = self._core.job_entry(job_id)
        task = self._core.task_entry(job, task_id)
        self._apply_task_info(task, fields, self._core.clock.tick())
        self._core.save_tasks(job, [task])
        return self._core.public(task.model)

    def record_task_usage(self, job_id: str, task_id: str, usage: ResourceUsage | None, start: str,
                          end: str) -> None:
        """Add one finished attempt to the task's accounting (its `stats`, section 5.2)."""
        job = self._core.job_entry(job_id)
        task = self._core.task_entry(job, task_id)
        task.extra["usage"] = stats.add_attempt(task.extra.get("usage"), usage, start, end,
                                                task.model["creationTime"])
        self._core.save_task_soon(job, task)

    def task_stats(self, job_id: str, task_id: str) -> Model | None:
        """BatchTaskStatistics of a task that has run, else None (no figure is invented)."""
        task = self._core.task_entry(self._core.job_entry(job_id), task_id)
        return self._stats_of(task)

    def _stats_of(self, task: Entry) -> Model | None:
        record = task.extra.get("usage")
        if not record:
            return None
        return stats.task_stats(record, self._core.base_url + task.model["url"], iso(now_ticks()))

    def set_subtasks(self, job_id: str, task_id: str, subtasks: list[Mapping[str, Any]]) -> None:
        """Record the subtasks of a multi-instance task (BatchSubtask dicts, section 5.2) for subtasksinfo."""
        job = self._core.job_entry(job_id)
        task = self._core.task_entry(job, task_id)
        task.extra["subtasks"] = [dict(subtask) for subtask in subtasks]
        self._core.save_tasks(job, [task])

    def _apply_task_info(self, task: Entry, fields: Mapping[str, Any], ticks: int) -> None:
        unknown = set(fields) - set(_TASK_INFO_FIELDS)
        if unknown:
            raise TypeError(f"transition_task/update_task_info do not take {sorted(unknown)}")
        if "executionInfo" in fields:
            info = dict(task.model.get("executionInfo", {}))
            for name, value in (fields["executionInfo"] or {}).items():
                if value is None:
                    info.pop(name, None)
                else:
                    info[name] = value
            task.model["executionInfo"] = info
        for name in ("nodeInfo", "stats"):
            if name in fields:
                task.model[name] = fields[name]
        stamp(task.model, ticks)
        task.model = ordered(task.model, TASK_ORDER)
