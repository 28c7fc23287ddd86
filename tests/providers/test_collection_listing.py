"""A collection's diff against the live job, page by page with only the compared properties ($select), against
the real local service: every page is seen, one changed task among many is found, a gone job means "create all",
and a caller that stops early leaves no fetcher blocked."""
from __future__ import annotations

import threading
import uuid

import pytest

from providers import live_tasks
from providers.client import BatchClient
from providers.client.errors import NotFound
from providers.collection import encode_ids, encode_tasks, plan_set

COUNT = 2500  # three pages of LISTING_PAGE=1000


def tasks(count: int) -> list[dict[str, object]]:
    return [{"id": f"t{i:05d}", "commandLine": f"/bin/echo {i}", "constraints": {"maxTaskRetryCount": 1}}
            for i in range(count)]


@pytest.fixture()
def job(client: BatchClient) -> str:
    """A live job holding the COUNT tasks of `tasks()`."""
    job_id = f"stream-{uuid.uuid4().hex[:8]}"
    client.create_job({"id": job_id, "poolInfo": {"poolId": "local"}})
    bodies = tasks(COUNT)
    for start in range(0, COUNT, 100):
        client.add_task_collection(job_id, bodies[start:start + 100])
    return job_id


def test_the_listing_asks_only_for_the_compared_fields_and_sees_every_page(client: BatchClient, job: str) -> None:
    seen = list(live_tasks.stream_tasks(client, job))
    assert sorted(t["id"] for t in seen) == [f"t{i:05d}" for i in range(COUNT)]
    compared = set(live_tasks.compared_select().split(","))
    assert {"id", "commandLine", "constraints"} <= compared and "state" not in compared
    assert all(set(t) <= compared for t in seen)  # no state, url, eTag, executionInfo...
    assert seen[0]["constraints"]["maxTaskRetryCount"] == 1


def test_one_changed_task_among_all_is_the_one_update_and_the_rest_unchanged(client: BatchClient, job: str) -> None:
    client.put_task(job, "t01234", {"maxTaskRetryCount": 4})  # changed out of band
    props = {"job_id": job, "tasks": encode_tasks(tasks(COUNT)), "name": "sweep"}
    plan = plan_set(props, {"task_ids": encode_ids([t["id"] for t in tasks(COUNT)])})
    assert [t["id"] for t in plan.update] == ["t01234"]
    assert (plan.create, plan.delete, plan.replace, plan.unchanged) == ([], [], [], COUNT - 1)


def test_added_removed_and_replaced_tasks_are_told_apart(client: BatchClient, job: str) -> None:
    desired = tasks(COUNT + 2)[2:]  # t00000 and t00001 removed, two new at the end
    desired[10]["commandLine"] = "/bin/echo changed"
    props = {"job_id": job, "tasks": encode_tasks(desired), "name": "sweep"}
    plan = plan_set(props, {"task_ids": encode_ids([t["id"] for t in tasks(COUNT)])})
    assert plan.delete == ["t00000", "t00001"]
    assert [t["id"] for t in plan.create] == [f"t{COUNT:05d}", f"t{COUNT + 1:05d}"]
    assert [t["id"] for t in plan.replace] == ["t00012"]
    assert plan.unchanged == COUNT - 3


def test_a_job_that_is_gone_means_every_task_is_created(client: BatchClient) -> None:
    with pytest.raises(NotFound):
        list(live_tasks.stream_tasks(client, "no-such-job"))
    plan = plan_set({"job_id": "no-such-job", "tasks": encode_tasks(tasks(3)), "name": "s"}, {})
    assert [t["id"] for t in plan.create] == ["t00000", "t00001", "t00002"] and plan.unchanged == 0


def test_a_caller_that_stops_early_leaves_no_fetcher_running(client: BatchClient, job: str) -> None:
    before = {t.name for t in threading.enumerate()}
    stream = live_tasks.stream_tasks(client, job)
    next(stream)
    stream.close()
    fetcher = f"list-tasks-{job}"
    for thread in threading.enumerate():
        if thread.name == fetcher:
            thread.join(timeout=60)
            assert not thread.is_alive()
    assert fetcher not in before


def test_check_validates_a_task_list_again_only_when_it_or_its_job_changed() -> None:
    from providers.collection import BatchTaskCollectionProvider

    provider = BatchTaskCollectionProvider()
    good = {"name": "s", "job_id": "j", "tasks": encode_tasks(tasks(3))}
    assert provider.check({}, good).failures == []
    # What the last `up` applied was accepted then; the same text is not parsed and validated again.
    bad_text = encode_tasks([{"id": "t", "commandLine": ""}])
    olds = {**good, "tasks": bad_text}
    assert provider.check(olds, {**good, "tasks": bad_text}).failures == []
    assert [f.reason for f in provider.check(good, {**good, "tasks": bad_text}).failures] != []
    assert provider.check(olds, {**good, "tasks": bad_text, "job_id": "other"}).failures != []
