"""Diffs of many tasks of one job read the job's tasks with one listing; a few tasks keep their GETs."""
from __future__ import annotations

from typing import Any

from providers import live_tasks
from providers.client.errors import NotFound
from providers.live_tasks import GET_BEFORE_LISTING, LISTING_LIMIT, LiveTasks


class CountingClient:
    """Answers like the service for one job holding tasks t0..t9, and counts the requests."""

    def __init__(self, job_exists: bool = True) -> None:
        self.gets = 0
        self.lists = 0
        self.counts = 0
        self.hidden_tasks = 0  # tasks the counts include beyond t0..t9 (a large collection in the job)
        self.job_exists = job_exists
        self.tasks = {f"t{n}": {"id": f"t{n}", "commandLine": f"/bin/echo {n}"} for n in range(10)}

    def get_task(self, job_id: str, task_id: str) -> dict[str, Any] | None:
        self.gets += 1
        return self.tasks.get(task_id.lower()) if self.job_exists else None  # ids are case-insensitive

    def get_task_counts(self, job_id: str) -> dict[str, Any]:
        self.counts += 1
        if not self.job_exists:
            raise NotFound(404, "JobNotFound", "The specified job does not exist.")
        return {"taskCounts": {"active": 0, "running": 0, "completed": len(self.tasks) + self.hidden_tasks}}

    def list_tasks(self, job_id: str) -> list[dict[str, Any]]:
        self.lists += 1
        if not self.job_exists:
            raise NotFound(404, "JobNotFound", "The specified job does not exist.")
        return list(self.tasks.values())


def test_many_diffs_of_one_job_cost_a_few_gets_and_one_listing() -> None:
    client, live = CountingClient(), LiveTasks()
    found = [live.get(client, "job", f"T{n}") for n in range(10)]  # type: ignore[arg-type]
    assert [t["id"] if t else None for t in found] == [f"t{n}" for n in range(10)]
    assert (client.gets, client.lists) == (GET_BEFORE_LISTING, 1)


def test_a_missing_task_or_job_reads_as_none() -> None:
    live, client, gone = LiveTasks(), CountingClient(), CountingClient(job_exists=False)
    for _ in range(GET_BEFORE_LISTING):
        live.get(client, "job", "t0")  # type: ignore[arg-type]
        live.get(gone, "job", "t0")  # type: ignore[arg-type]
    assert live.get(client, "job", "nope") is None  # type: ignore[arg-type]
    assert live.get(gone, "job", "t0") is None  # type: ignore[arg-type]
    assert (client.lists, gone.lists) == (1, 1)


def test_a_listing_older_than_the_snapshot_window_is_taken_again(monkeypatch: Any) -> None:
    now = [100.0]
    monkeypatch.setattr(live_tasks.time, "monotonic", lambda: now[0])
    client, live = CountingClient(), LiveTasks()
    for n in range(GET_BEFORE_LISTING + 2):
        live.get(client, "job", f"t{n}")  # type: ignore[arg-type]
    now[0] += live_tasks.SNAPSHOT_SECONDS + 1
    client.tasks["t9"]["commandLine"] = "changed"
    assert live.get(client, "job", "t9") == {"id": "t9", "commandLine": "changed"}  # type: ignore[arg-type]
    assert client.lists == 2


def test_a_job_with_more_tasks_than_the_listing_limit_keeps_one_get_per_diff() -> None:
    client, live = CountingClient(), LiveTasks()
    client.hidden_tasks = LISTING_LIMIT
    found = [live.get(client, "job", f"t{n}") for n in range(10)]  # type: ignore[arg-type]
    assert [t["id"] if t else None for t in found] == [f"t{n}" for n in range(10)]
    assert (client.gets, client.lists, client.counts) == (10, 0, 1)
