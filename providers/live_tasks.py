"""Live tasks for the diffs of one engine run: one list request per job instead of one GET per task.

A preview of a program with many BatchTask resources in one job diffs each of them against the live task. A GET
per task costs the provider host and the service ~4 ms of CPU each; the job's task list (same objects, batch-api.md
4.2) answers them all from one request. Only `diff` reads here, and a provider host lives for one engine command,
so a listing is a snapshot of that command's preview, like the GETs it replaces; create, update, delete and read
always ask the service.

A BatchTaskCollection's diff reads its job's tasks here too, as a stream (`stream_tasks`: only the compared
properties, the next page fetched while one is compared) judged once per task shape (`TaskComparison`).
"""
from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from providers.client import BatchClient
from providers.client.errors import NotFound

# The first diffs of a job use GET (a program with a few tasks never lists a large job); more list the job.
GET_BEFORE_LISTING = 4
# How long a listing answers diffs; a diff after that lists again.
SNAPSHOT_SECONDS = 10.0
# A job holding more tasks than this is never listed for diffs: a few BatchTask resources beside a large
# collection in the same job would otherwise page through all of it. Their diffs keep one GET each.
LISTING_LIMIT = 2000

Json = dict[str, Any]
_Key = tuple[int, str]


class LiveTasks:
    """Per (client, job): how many diffs asked, and the latest listing of the job's tasks by lower-case id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked: dict[_Key, int] = {}
        self._job_locks: dict[_Key, threading.Lock] = {}
        self._snapshots: dict[_Key, tuple[float, dict[str, Json]]] = {}
        self._too_large: set[_Key] = set()

    def get(self, client: BatchClient, job_id: str, task_id: str) -> Json | None:
        """The live task (None when it or its job does not exist)."""
        key = (id(client), job_id.lower())
        with self._lock:
            self._asked[key] = self._asked.get(key, 0) + 1
            if self._asked[key] <= GET_BEFORE_LISTING:
                job_lock = None
            else:
                job_lock = self._job_locks.setdefault(key, threading.Lock())
        if job_lock is None:
            return client.get_task(job_id, task_id)
        with job_lock:  # one listing per job at a time; the other diffs wait for it
            if key in self._too_large or not self._small_enough(client, job_id, key):
                return client.get_task(job_id, task_id)
            return self._listing(client, job_id, key).get(task_id.lower())

    def _small_enough(self, client: BatchClient, job_id: str, key: _Key) -> bool:
        """Whether the job may be listed: asked once per job (taskcounts), before its first listing."""
        if key in self._snapshots:
            return True
        try:
            counts = client.get_task_counts(job_id)["taskCounts"]
        except NotFound:
            return True  # the listing will say the job is gone
        if sum(int(counts.get(state, 0)) for state in ("active", "running", "completed")) > LISTING_LIMIT:
            self._too_large.add(key)
            return False
        return True

    def _listing(self, client: BatchClient, job_id: str, key: _Key) -> dict[str, Json]:
        taken, tasks = self._snapshots.get(key, (0.0, {}))
        if time.monotonic() - taken < SNAPSHOT_SECONDS:
            return tasks
        try:
            tasks = {str(t["id"]).lower(): t for t in client.list_tasks(job_id)}
        except NotFound:
            tasks = {}
        self._snapshots[key] = (time.monotonic(), tasks)
        return tasks


LIVE_TASKS = LiveTasks()


# A collection's diff asks only for the properties it compares (the task create body's), in pages this large.
LISTING_PAGE = 1000
# Pages fetched ahead of the comparison: the service builds and sends the next while this process compares.
PAGES_AHEAD = 2


def compared_select() -> str:
    """`$select` of a task listing for diffs: the fields of the task create body, which diff_task compares."""
    from providers.schema import root_type

    return ",".join(root_type("task").names())


def stream_tasks(client: BatchClient, job_id: str) -> Iterator[Json]:
    """The job's live tasks with only their compared properties, page by page as the service sends them: a
    thread fetches up to PAGES_AHEAD pages ahead while the caller compares. Raises NotFound (job gone) from
    the first page, like list_tasks."""
    pages: queue.Queue[list[Json] | Exception | None] = queue.Queue(maxsize=PAGES_AHEAD)
    stop = threading.Event()

    def fetch() -> None:
        page: list[Json] = []
        try:
            for task in client.list_tasks(job_id, select=compared_select(), max_results=LISTING_PAGE):
                page.append(task)
                if len(page) == LISTING_PAGE:
                    pages.put(page)
                    page = []
                    if stop.is_set():
                        return
            pages.put(page)
            pages.put(None)
        except Exception as error:  # noqa: BLE001 -- handed to the caller, which raises it
            pages.put(error)

    threading.Thread(target=fetch, name=f"list-tasks-{job_id}", daemon=True).start()
    try:
        while (item := pages.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield from item
    finally:
        stop.set()
        while not pages.empty():  # let a fetcher blocked on a full queue see `stop`
            pages.get_nowait()


# Fields compared by plain equality whose values differ from task to task of a sweep; the rest of a task is
# usually the same template, so its comparison is made once per template (see TaskComparison).
_OWN_FIELDS = ("id", "commandLine")


class TaskComparison:
    """diff_task's verdict for many tasks of one job: "replace", "update" or "same".

    Normalising a task and its live counterpart costs ~0.1 ms; a 50,000-task collection would spend seconds on
    it. Two tasks whose desired and live bodies are equal once their own id and command line are set aside (and
    whose command line is the live one) get the same verdict, so it is computed once per such shape. Exact:
    the normalisation treats every field on its own, and an equal command line and id change nothing.
    """

    def __init__(self, job_max_task_retry_count: int | None) -> None:
        self.retry_default = job_max_task_retry_count
        self._verdicts: dict[str, str] = {}

    def verdict(self, desired: Json, live: Json) -> str:
        if desired.get("commandLine") != live.get("commandLine"):
            return self._compute(desired, live)
        try:
            shape = json.dumps([{k: v for k, v in body.items() if k not in _OWN_FIELDS} for body in (desired, live)],
                               sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):  # a value JSON cannot write (an unknown): compare it on its own
            return self._compute(desired, live)
        found = self._verdicts.get(shape)
        if found is None:
            found = self._verdicts[shape] = self._compute(desired, live)
        return found

    def _compute(self, desired: Json, live: Json) -> str:
        from providers.diff import diff_task

        plan = diff_task(desired, live, job_max_task_retry_count=self.retry_default)
        return "replace" if plan.replaces else "update" if plan.has_changes else "same"
