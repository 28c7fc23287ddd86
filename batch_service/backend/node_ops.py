"""Compute-node operations of the backend: the node records each pool keeps (in its stored `extra`), which
tasks run on which node, and the node verbs (scheduling, reboot) with the node-draining they share with
pool shrinking. No HTTP here; node facts are in nodes.py.

The running-task index is kept in memory from the task transitions (a task that is `preparing` or `running`
with a nodeInfo is on that node); after a restart nothing runs, so it starts empty.
"""
from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from batch_service.backend import errors, nodes
from batch_service.backend.core import AccountState, Entry, JobEntry, key_of
from batch_service.backend.ids import iso
from batch_service.backend.models import Model, stamp
from batch_service.backend.nodes import Record

RECENT_TASKS = 10  # how many recently changed tasks a node lists
MAX_NODE_SPANS = 1000  # the lifetimes of nodes that left a pool kept for its usage metrics
_ON_NODE = ("preparing", "running")
TaskKey = tuple[str, str]


def _nothing(pool: Entry) -> None:
    """The default after_drop: no pool operations to tell."""


class NodeOperations:
    """Node records, the running-task index, and the node verbs."""

    def __init__(self, core: AccountState) -> None:
        self._core = core
        # Called after nodes left a pool: the pool operations settle its allocation state then.
        self.after_drop: Callable[[Entry], None] = _nothing
        self._running_on: dict[str, dict[TaskKey, int]] = collections.defaultdict(dict)
        self._node_of: dict[TaskKey, str] = {}
        self._counters: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self._recent: dict[str, collections.deque[TaskKey]] = {}
        self.draining: dict[str, str] = {}  # node key -> what happens once its tasks are done

    # --- records ------------------------------------------------------------------------------------------

    @staticmethod
    def records(pool: Entry) -> list[Record]:
        records: list[Record] = pool.extra.setdefault("nodes", [])
        return records

    def node(self, pool_id: str, node_id: str) -> tuple[Entry, Record]:
        pool = self._core.pool_entry(pool_id)
        for record in self.records(pool):
            if key_of(record["id"]) == key_of(node_id):
                return pool, record
        raise errors.node_not_found()

    def add_nodes(self, pool: Entry, dedicated: int, low_priority: int) -> None:
        when = iso(self._core.clock.tick())
        records = self.records(pool)
        for count, is_dedicated in ((dedicated, True), (low_priority, False)):
            for _ in range(count):
                number = int(pool.extra.get("nextNode", 0))
                pool.extra["nextNode"] = number + 1
                records.append(nodes.new_record(f"tvm-local-{pool.model['id']}-{number}", is_dedicated, when))

    def count_nodes(self, pool: Entry) -> None:
        records = self.records(pool)
        pool.model["currentDedicatedNodes"] = sum(1 for record in records if record["isDedicated"])
        pool.model["currentLowPriorityNodes"] = sum(1 for record in records if not record["isDedicated"])

    def state_of(self, record: Record) -> str:
        return nodes.shown_state(record, len(self.running(record["id"])))

    def schedulable_nodes(self, pool_id: str) -> list[tuple[str, bool]]:
        """(node id, accepts new tasks) of each node of the pool, for the scheduler."""
        pool = self._core.pools.get(key_of(pool_id))
        if pool is None or pool.state == "deleting":
            return []
        return [(record["id"], record["condition"] == "ready" and record["schedulingState"] == "enabled"
                 and key_of(record["id"]) not in self.draining) for record in self.records(pool)]

    # --- the running-task index (hooks called by TaskOperations) ------------------------------------------

    def task_moved(self, job: JobEntry, task: Entry, from_state: str) -> None:
        key = (key_of(job.model["id"]), key_of(task.model["id"]))
        previous = self._node_of.pop(key, None)
        if previous is not None:
            self._running_on[previous].pop(key, None)
        node_id = (task.model.get("nodeInfo") or {}).get("nodeId")
        current = key_of(node_id) if task.state in _ON_NODE and node_id else None
        if previous is not None and previous != current and not self._running_on[previous]:
            self._shown_state_changed(previous)  # running -> idle or offline
        if current is not None:
            if previous != current and not self._running_on[current]:
                self._shown_state_changed(current)  # idle or offline -> running
            self._running_on[current][key] = int(task.model.get("requiredSlots", 1))
            self._node_of[key] = current
            if from_state not in _ON_NODE:
                self._counters[current]["run"] += 1
            self._remember(current, key)
        elif previous is not None:
            if task.state == "completed" and task.model.get("executionInfo", {}).get("result") == "success":
                self._counters[previous]["succeeded"] += 1
            self._remember(previous, key)
            self._node_freed(previous)

    def _shown_state_changed(self, node_key: str) -> None:
        # The node's state is derived from its tasks; its stateTransitionTime follows (kept with the pool's
        # records and stored with the pool's next change).
        for pool in self._core.pools.values():
            for record in self.records(pool):
                if key_of(record["id"]) == node_key and record["condition"] == "ready":
                    record["stateTransitionTime"] = iso(self._core.clock.tick())
                    return

    def task_gone(self, job_key: str, task_key: str) -> None:
        node_key = self._node_of.pop((job_key, task_key), None)
        if node_key is not None:
            self._running_on[node_key].pop((job_key, task_key), None)
            self._node_freed(node_key)

    def _remember(self, node_key: str, key: TaskKey) -> None:
        recent = self._recent.setdefault(node_key, collections.deque(maxlen=RECENT_TASKS))
        if key in recent:
            recent.remove(key)
        recent.appendleft(key)

    def running(self, node_id: str) -> dict[TaskKey, int]:
        """The tasks on a node, dropping entries of tasks deleted while they ran."""
        running = self._running_on.get(key_of(node_id), {})
        for key in [key for key in running if not self._still_on_node(key)]:
            running.pop(key)
            self._node_of.pop(key, None)
        return running

    def _still_on_node(self, key: TaskKey) -> bool:
        job = self._core.jobs.get(key[0])
        task = job.tasks.get(key[1]) if job is not None else None
        return task is not None and task.state in _ON_NODE

    def _node_freed(self, node_key: str) -> None:
        purpose = self.draining.get(node_key)
        if purpose is None or self._running_on.get(node_key):
            return
        for pool in list(self._core.pools.values()):
            for record in self.records(pool):
                if key_of(record["id"]) == node_key:
                    self._drained(pool, record, purpose)
                    return
        self.draining.pop(node_key, None)

    def _drained(self, pool: Entry, record: Record, purpose: str) -> None:
        """A draining node has no task left: it leaves the pool, or reboots, reimages or deallocates."""
        self.draining.pop(key_of(record["id"]), None)
        if purpose in _CHANGES:
            self._start_change(pool, record, purpose)
        else:
            self.drop_nodes(pool, [record])

    def drop_nodes(self, pool: Entry, records: list[Record]) -> None:
        """Take nodes out of the pool now; then after_drop settles the allocation state."""
        gone = {key_of(record["id"]) for record in records}
        self.forget_nodes(gone)
        for record in records:
            self._core.os_accounts.remove_node(pool.model["id"], record["id"])
        when = iso(self._core.clock.tick())
        spans: list[dict[str, Any]] = pool.extra.setdefault("nodeSpans", [])
        spans.extend({"start": record["allocationTime"], "end": when} for record in records)
        del spans[:-MAX_NODE_SPANS]
        pool.extra["nodes"] = [record for record in self.records(pool) if key_of(record["id"]) not in gone]
        self.count_nodes(pool)
        stamp(pool.model, self._core.clock.tick())
        self._core.save_pool(pool)
        self._core.lifecycle.nodes_changed(pool.model["id"])
        self.after_drop(pool)

    def forget_nodes(self, node_keys: set[str]) -> None:
        """Drop the in-memory counters of nodes that left (a recreated pool reuses their ids)."""
        for node_key in node_keys:
            self._counters.pop(node_key, None)
            self._recent.pop(node_key, None)
            self.draining.pop(node_key, None)

    def stop_node_tasks(self, pool: Entry, records: list[Record], option: str) -> None:
        """Requeue or terminate the tasks running on the nodes (section 6.4); other options let them finish."""
        if option in ("requeue", "terminate"):
            node_ids = [record["id"] for record in records]
            self._core.lifecycle.node_tasks_stopping(pool.model["id"], node_ids, option)

    # --- reads --------------------------------------------------------------------------------------------

    def node_items(self, pool_id: str) -> Iterator[tuple[int, Model]]:
        """(sequence, model) of each node of the pool, for list paging."""
        pool = self._core.pool_entry(pool_id)
        records = list(self.records(pool))
        return ((index, self._node_model(pool, record)) for index, record in enumerate(records))

    def node_for_read(self, pool_id: str, node_id: str) -> Model:
        """GET /pools/{id}/nodes/{nodeId}."""
        pool, record = self.node(pool_id, node_id)
        return self._node_model(pool, record)

    def _node_model(self, pool: Entry, record: Record) -> Model:
        running = self.running(record["id"])
        node_key = key_of(record["id"])
        recent = [info for key in self._recent.get(node_key, ()) if (info := self._task_info(key)) is not None]
        return nodes.read_model(record, pool.model, len(running), sum(running.values()),
                                self._counters.get(node_key, collections.Counter()), recent)

    def _task_info(self, key: TaskKey) -> dict[str, Any] | None:
        job = self._core.jobs.get(key[0])
        task = job.tasks.get(key[1]) if job is not None else None
        if job is None or task is None:
            return None
        return {"taskUrl": self._core.base_url + task.model["url"], "jobId": job.model["id"],
                "taskId": task.model["id"],
                "taskState": task.state, "executionInfo": dict(task.model.get("executionInfo", {}))}

    def prepare_node_root(self) -> None:
        """Create the node directories (section 10.2), so a node's files can be listed before a task ran."""
        for name in nodes.NODE_DIRECTORIES:
            (self._core.node_root / name).mkdir(parents=True, exist_ok=True)

    def node_files(self, pool_id: str, node_id: str) -> tuple[str, Path]:
        """The node's url path and its directory: every virtual node of this machine shares <data-dir>/node."""
        pool, record = self.node(pool_id, node_id)
        return f"/pools/{pool.model['id']}/nodes/{record['id']}", self._core.node_root

    # --- verbs --------------------------------------------------------------------------------------------

    def disable_scheduling(self, pool_id: str, node_id: str, option: str) -> None:
        """POST .../disablescheduling: no new tasks; running ones requeued, terminated or left to finish."""
        pool, record = self.node(pool_id, node_id)
        nodes.check_node_rule("scheduling", self.state_of(record))
        if record["schedulingState"] == "disabled":
            raise errors.node_already_in_target_scheduling_state()
        self._set_scheduling(pool, record, "disabled")
        self.stop_node_tasks(pool, [record], option)

    def enable_scheduling(self, pool_id: str, node_id: str) -> None:
        """POST .../enablescheduling: the node takes tasks again."""
        pool, record = self.node(pool_id, node_id)
        nodes.check_node_rule("scheduling", self.state_of(record))
        if record["schedulingState"] == "enabled":
            raise errors.node_already_in_target_scheduling_state()
        self._set_scheduling(pool, record, "enabled")

    def _set_scheduling(self, pool: Entry, record: Record, value: str) -> None:
        record["schedulingState"] = value
        record["stateTransitionTime"] = iso(self._core.clock.tick())
        self._core.save_pool(pool)
        self._core.lifecycle.nodes_changed(pool.model["id"])

    def reboot_node(self, pool_id: str, node_id: str, option: str) -> None:
        """POST .../reboot: requeue or terminate its tasks and reboot now, or reboot once they finish."""
        self._stop_and_change(pool_id, node_id, option, "reboot")

    def reimage_node(self, pool_id: str, node_id: str, option: str) -> None:
        """POST .../reimage: like a reboot, and the node comes back as new (its user accounts are gone)."""
        self._stop_and_change(pool_id, node_id, option, "reimage")

    def deallocate_node(self, pool_id: str, node_id: str, option: str) -> None:
        """POST .../deallocate: the node stops its tasks as `option` says and stays `deallocated`."""
        self._stop_and_change(pool_id, node_id, option, "deallocate")

    def start_node(self, pool_id: str, node_id: str) -> None:
        """POST .../start: a deallocated node is `starting`, then `idle`."""
        pool, record = self.node(pool_id, node_id)
        nodes.check_node_rule("start", self.state_of(record))
        self._start_change(pool, record, "start")

    def _stop_and_change(self, pool_id: str, node_id: str, option: str, verb: str) -> None:
        pool, record = self.node(pool_id, node_id)
        nodes.check_node_rule(verb, self.state_of(record))
        if key_of(record["id"]) in self.draining:
            raise errors.invalid_for_current_state("The node already waits for its tasks to finish.")
        if option in ("requeue", "terminate") or not self.running(record["id"]):
            self._start_change(pool, record, verb)
            self.stop_node_tasks(pool, [record], option)
            return
        self.draining[key_of(record["id"])] = verb
        self._core.lifecycle.nodes_changed(pool.model["id"])

    def _start_change(self, pool: Entry, record: Record, verb: str) -> None:
        busy, _ = _CHANGES[verb]
        nodes.move_condition(record, busy, iso(self._core.clock.tick()))
        self._core.save_pool(pool)
        self._core.lifecycle.nodes_changed(pool.model["id"])
        key = key_of(record["id"])
        self._core.call_later(("node", key), self._core.resize_delay,
                              functools.partial(self._finish_change, key_of(pool.model["id"]), key, verb))

    def _finish_change(self, pool_key: str, node_key: str, verb: str) -> None:
        pool = self._core.pools.get(pool_key)
        if pool is None:
            return
        busy, done = _CHANGES[verb]
        for record in self.records(pool):
            if key_of(record["id"]) == node_key and record["condition"] == busy:
                when = iso(self._core.clock.tick())
                nodes.move_condition(record, done, when)
                if done == "ready":
                    record["lastBootTime"] = when
                if verb == "reimage":
                    record.pop("users", None)
                    self._core.os_accounts.remove_node(pool.model["id"], record["id"])
                self._core.save_pool(pool)
                self._core.lifecycle.nodes_changed(pool.model["id"])


# verb -> (the condition while it happens, the condition after it)
_CHANGES = {"reboot": ("rebooting", "ready"), "reimage": ("reimaging", "ready"),
            "deallocate": ("deallocating", "deallocated"), "start": ("starting", "ready")}
