"""What every backend operation shares: the in-memory state, lookups that answer 404, write-through to the
store, timers and the node directory layout. No HTTP here."""
from __future__ import annotations

import asyncio
import bisect
import itertools
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_service.backend import errors
from batch_service.backend.ids import Clock, ticks_from_iso
from batch_service.backend.lifecycle import Lifecycle
from batch_service.backend.models import Model, copy_json, share_common
from batch_service.backend.store import Row, Store
from batch_service.os_accounts import OsAccounts


@dataclass(slots=True)
class Entry:
    """One pool, job or task: creation sequence number, read model, internal data (timers, subtasks)."""

    seq: int
    model: Model
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """The resource's current state."""
        return str(self.model["state"])


@dataclass(slots=True)
class JobEntry(Entry):
    """A job and its tasks, keyed by case-folded task id in creation order."""

    tasks: dict[str, Entry] = field(default_factory=dict)
    _order: tuple[tuple[int, int], list[int], list[Entry]] | None = None

    def tasks_after(self, after: int | None) -> Iterator[Entry]:
        """The tasks with a sequence number above `after` (all when None), in creation order, found by
        bisection: a list page starts where the previous one ended instead of walking every task before it.

        The sorted index is rebuilt only after tasks were added or deleted. (count, last sequence number)
        tells: a delete lowers the count, and an add gives the last task a new, higher sequence number."""
        if not self.tasks:
            return iter(())
        version = (len(self.tasks), next(reversed(self.tasks.values())).seq)
        if self._order is None or self._order[0] != version:
            entries = list(self.tasks.values())
            self._order = (version, [entry.seq for entry in entries], entries)
        _, seqs, entries = self._order
        start = 0 if after is None else bisect.bisect_right(seqs, after)
        return itertools.islice(entries, start, None)


def key_of(resource_id: str) -> str:
    """Ids are unique case-insensitively (sections 3.1, 3.4). An id already in lower case is its own key (the
    same string object, not a copy: with many tasks every id would otherwise be held twice)."""
    lowered = resource_id.lower()
    return resource_id if lowered == resource_id else lowered


class AccountState:
    """The state every part of the backend shares: pools, jobs and their tasks, the clock, the store, the
    timers and the lifecycle to report to; lookups that answer 404 and write-through to the store."""

    lifecycle: Lifecycle

    def __init__(self, store: Store, data_dir: Path, *, delete_delay: float = 1.0) -> None:
        self.base_url = "http://127.0.0.1"
        self.node_root = data_dir / "node"
        self.delete_delay = delete_delay
        self.resize_delay = delete_delay
        self.max_nodes = 8
        self.store = store
        self.clock = Clock()
        self._seq = 0
        self.pools: dict[str, Entry] = {}
        self.jobs: dict[str, JobEntry] = {}
        self.timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.os_accounts = OsAccounts.disabled()  # the node users' OS accounts, where the platform allows

    # --- loading ------------------------------------------------------------------------------------------

    def load_snapshot(self) -> None:
        snapshot = self.store.load()
        for row in snapshot.pools:
            self.pools[row.key] = Entry(row.seq, row.model, row.extra)
        for row in snapshot.jobs:
            self.jobs[row.key] = JobEntry(row.seq, row.model, row.extra)
        for job_key, task_row in snapshot.tasks:  # in creation order, so each job's tasks keep theirs
            job = self.jobs.get(job_key)
            if job is not None:
                model = share_common(task_row.model)
                job.tasks[key_of(model["id"])] = Entry(task_row.seq, model, task_row.extra)
        entries: list[Entry] = [*self.pools.values(), *self.jobs.values()]
        entries += [task for job in self.jobs.values() for task in job.tasks.values()]
        for entry in entries:
            self._seq = max(self._seq, entry.seq)
            self.clock.observe(ticks_from_iso(entry.model["lastModified"]))

    # --- lookups that answer 404 --------------------------------------------------------------------------

    def job_entry(self, job_id: str) -> JobEntry:
        job = self.jobs.get(key_of(job_id))
        if job is None:
            raise errors.job_not_found()
        return job

    def task_entry(self, job: JobEntry, task_id: str) -> Entry:
        task = job.tasks.get(key_of(task_id))
        if task is None:
            raise errors.task_not_found()
        return task

    def pool_entry(self, pool_id: str) -> Entry:
        pool = self.pools.get(key_of(pool_id))
        if pool is None:
            raise errors.pool_not_found()
        return pool

    # --- persistence --------------------------------------------------------------------------------------

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def save_pool(self, pool: Entry) -> None:
        self.store.put_pool(Row(key_of(pool.model["id"]), pool.seq, pool.model, pool.extra))

    def save_job(self, job: JobEntry) -> None:
        self.store.put_job(Row(key_of(job.model["id"]), job.seq, job.model, job.extra))

    def save_tasks(self, job: JobEntry, tasks: list[Entry]) -> None:
        rows = [Row(key_of(task.model["id"]), task.seq, task.model, task.extra) for task in tasks]
        self.store.put_tasks(key_of(job.model["id"]), rows)

    def save_task_soon(self, job: JobEntry, task: Entry) -> None:
        # A scheduler transition: committed with the others of the next few ms (see store.py on durability).
        key = key_of(task.model["id"])
        self.store.put_task_later(key_of(job.model["id"]), key,
                                   lambda: Row(key, task.seq, task.model, task.extra))

    # --- timers -------------------------------------------------------------------------------------------

    def call_later(self, key: tuple[str, str], delay: float, action: Callable[[], None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            action()
            return
        self.timers[key] = loop.call_later(max(0.0, delay), self._fire, key, action)

    def _fire(self, key: tuple[str, str], action: Callable[[], None]) -> None:
        self.timers.pop(key, None)
        action()

    def cancel_timers(self) -> None:
        """Stop pending delete timers (on shutdown; they are resumed from the store on the next start)."""
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()

    # --- what the scheduler reads -------------------------------------------------------------------------

    def public(self, model: Mapping[str, Any]) -> Model:
        """A deep copy of a stored model with its absolute url (what GET would return)."""
        result = {name: copy_json(value) for name, value in model.items()}  # models hold only JSON values
        result["url"] = self.base_url + result["url"]
        return result

    def task_dir(self, job_id: str, task_id: str) -> Path:
        """The task directory on the local node: <data-dir>/node/workitems/<job>/job-1/<task> (section 10.2)."""
        return self.node_root.joinpath("workitems", job_id, "job-1", task_id)

    def job_dir(self, job_id: str) -> Path:
        """The directory holding every task directory of a job."""
        return self.node_root / "workitems" / job_id

    @staticmethod
    def remove_tree(path: Path) -> None:
        # Section 2.5: deleting a task or job removes its files regardless of retention.
        shutil.rmtree(path, ignore_errors=True)
