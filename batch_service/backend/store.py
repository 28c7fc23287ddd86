"""Durable state in one SQLite file under --data-dir: every change a client makes is written through before
it is answered.

One connection in WAL mode with synchronous=NORMAL: a commit survives a crash of this process (it is in the
WAL), and a whole add-collection is one transaction. Models are stored as the JSON the API returns (minus the
endpoint prefix of `url`), so a restart answers byte-identical bodies with the same ETags.

The scheduler's task state transitions are the exception: they are queued (put_task_later) and committed
together a few milliseconds later, one transaction for many transitions instead of one each, on a writer
thread so the event loop does not wait for SQLite. close() (SIGTERM) and every write-through commit them first.
Every write, queued or not, runs on that one thread in the order it was asked for, so a later state of a task
can never be overwritten by an earlier one. A kill -9 can lose only the transitions of those last milliseconds:
the task is then found `active`, `preparing` or `running` on the next start, and the restart requeue logic
(Scheduler.start) runs it again, as it does for any task the process was running when it died.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pools (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, model TEXT NOT NULL,
                                  extra TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, model TEXT NOT NULL,
                                 extra TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (job_key TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
                                  model TEXT NOT NULL, extra TEXT NOT NULL, PRIMARY KEY (job_key, key));
"""


@dataclass
class Row:
    """One stored resource: its case-folded id, creation sequence number, read model and internal data."""

    key: str
    seq: int
    model: dict[str, Any]
    extra: dict[str, Any]


@dataclass
class Snapshot:
    """Everything in the store, in creation order. Tasks come as (job key, row) pairs read one at a time, so
    a store with many tasks never holds all their JSON text and parsed rows at once."""

    pools: list[Row]
    jobs: list[Row]
    tasks: Iterator[tuple[str, Row]]


_FLUSH_DELAY = 0.005  # seconds a queued task write may wait for others to share its commit
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)  # built once; models are JSON trees


def _dump(value: dict[str, Any]) -> str:
    return _ENCODER.encode(value)


log = logging.getLogger("batch_service.store")
_PUT_TASK = "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)"


class Store:
    """Write-through persistence of pools, jobs and tasks."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._pending: dict[tuple[str, str], Callable[[], Row]] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
        # One thread does every write after load(): SQLite releases the GIL while it works, and one thread
        # keeps the writes in the order they were asked for.
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store-writer")

    def load(self) -> Snapshot:
        """Read everything back, each kind ordered by creation sequence (consume `tasks` before any write)."""
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return self._db.execute(sql).fetchall()

        pools = [Row(k, s, json.loads(m), json.loads(e)) for k, s, m, e in
                 rows("SELECT key, seq, model, extra FROM pools ORDER BY seq")]
        jobs = [Row(k, s, json.loads(m), json.loads(e)) for k, s, m, e in
                rows("SELECT key, seq, model, extra FROM jobs ORDER BY seq")]
        cursor = self._db.execute("SELECT job_key, key, seq, model, extra FROM tasks ORDER BY seq")
        tasks = ((job_key, Row(k, s, json.loads(m), json.loads(e))) for job_key, k, s, m, e in cursor)
        return Snapshot(pools, jobs, tasks)

    def put_pool(self, row: Row) -> None:
        """Insert or replace one pool."""
        self._commit([("INSERT OR REPLACE INTO pools VALUES (?, ?, ?, ?)",
                       [(row.key, row.seq, _dump(row.model), _dump(row.extra))])])

    def delete_pool(self, key: str) -> None:
        """Remove one pool."""
        self._commit([("DELETE FROM pools WHERE key = ?", [(key,)])])

    def put_job(self, row: Row) -> None:
        """Insert or replace one job."""
        self._commit([("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
                       [(row.key, row.seq, _dump(row.model), _dump(row.extra))])])

    def delete_job(self, key: str) -> None:
        """Remove a job and all its tasks in one transaction."""
        for pair in [pair for pair in self._pending if pair[0] == key]:
            del self._pending[pair]
        self._commit([("DELETE FROM tasks WHERE job_key = ?", [(key,)]), ("DELETE FROM jobs WHERE key = ?", [(key,)])])

    def put_tasks(self, job_key: str, rows: Iterable[Row]) -> None:
        """Insert or replace tasks of one job in one transaction (an add-collection is one commit), together
        with the queued task writes."""
        self._commit([(_PUT_TASK, [(job_key, r.key, r.seq, _dump(r.model), _dump(r.extra)) for r in rows])])

    def put_task_later(self, job_key: str, key: str, row_of: Callable[[], Row]) -> None:
        """Queue a write of one task; `row_of` is called at the commit, so the latest state is what is written.
        Without a running event loop the write happens at once."""
        self._pending[(job_key, key)] = row_of
        if self._flush_timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_timer = loop.call_later(_FLUSH_DELAY, self._flush_in_background)

    def flush(self) -> None:
        """Commit the queued task writes in one transaction, and wait for it."""
        self._commit([])

    def delete_task(self, job_key: str, key: str) -> None:
        """Remove one task."""
        self._pending.pop((job_key, key), None)
        self._commit([("DELETE FROM tasks WHERE job_key = ? AND key = ?", [(job_key, key)])])

    def close(self) -> None:
        """Commit queued writes, fold the WAL into the database file and close (called on SIGTERM)."""
        self.flush()
        self._writer.shutdown(wait=True)
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    def _commit(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        # The queued task writes go first: the statements may delete what they would write.
        pending = self._take_pending()
        if pending or statements:
            self._writer.submit(self._transaction, [(_PUT_TASK, pending), *statements]).result()

    def _flush_in_background(self) -> None:
        self._flush_timer = None
        pending = self._take_pending()
        if pending:
            self._writer.submit(self._transaction, [(_PUT_TASK, pending)]).add_done_callback(_log_failure)

    def _take_pending(self) -> list[tuple[Any, ...]]:
        pending, self._pending = self._pending, {}
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        values = []
        for (job_key, _), row_of in pending.items():
            row = row_of()
            values.append((job_key, row.key, row.seq, _dump(row.model), _dump(row.extra)))
        return values

    def _transaction(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """One transaction of (sql, parameter rows) pairs; runs on the writer thread."""
        self._db.execute("BEGIN")
        try:
            for sql, rows in statements:
                if rows:
                    self._db.executemany(sql, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _log_failure(done: concurrent.futures.Future[None]) -> None:
    error = done.exception()
    if error is not None:
        log.error("queued task writes could not be committed: %s", error)


