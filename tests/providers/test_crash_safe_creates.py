"""Creates that meet their object already in the service (a run killed before its state was written): the
providers' create against the local service over HTTP, as the next `up` calls it."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from providers import _base
from providers._base import KEPT, ProviderFailure
from providers.client import BatchClient
from providers.collection import _BatchTaskCollectionProvider, encode_tasks
from providers.job import _BatchJobProvider
from providers.schedule import _BatchJobScheduleProvider
from providers.task import CLOCK_ALLOWANCE_SECONDS, _BatchTaskProvider
from tests.support.service import RunningService

OURS, THEIRS = "organization/crash/dev", "organization/crash/prod"


@pytest.fixture()
def client(service: RunningService, monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchClient]:
    """The providers' own connection, resolved from the environment as in a provider host."""
    for name, value in service.env().items():
        monkeypatch.setenv(name, value)
    yield _base.connection()


def outs_of(result: Any) -> dict[str, Any]:
    """A CreateResult's outputs (always set by our providers)."""
    assert result.outs is not None
    return dict(result.outs)


def _job(job_id: str, owner: str | None = OURS, **extra: Any) -> dict[str, Any]:
    return {"spec": {"id": job_id, "poolInfo": {"poolId": "local"}, "priority": 5}, "owner": owner, **extra}


def test_a_job_created_by_this_stack_before_a_crash_is_carried_on_with(
        client: BatchClient, capsys: pytest.CaptureFixture[str]) -> None:
    first = _BatchJobProvider().create(_job("cs-job"))
    assert KEPT not in capsys.readouterr().err
    again = _BatchJobProvider().create(_job("cs-job"))  # the state never heard of the first create
    assert f"BatchJob 'cs-job': {KEPT}" in capsys.readouterr().err
    assert again.id == first.id and outs_of(again)["etag"] == outs_of(first)["etag"]
    live = client.get_job("cs-job")
    assert live is not None and _base.owner_of(live) == OURS


def test_a_job_of_another_stack_is_refused_naming_it_and_left_as_it_is(client: BatchClient) -> None:
    _BatchJobProvider().create(_job("cs-theirs", owner=THEIRS))
    before = client.get_job("cs-theirs")
    with pytest.raises(ProviderFailure, match="belongs to stack 'organization/crash/prod'"):
        _BatchJobProvider().create(_job("cs-theirs"))
    assert client.get_job("cs-theirs") == before


def test_a_job_nobody_marked_is_refused_unless_adopt_takes_it_over(client: BatchClient) -> None:
    client.create_job({"id": "cs-manual", "poolInfo": {"poolId": "local"}, "priority": 5})
    with pytest.raises(ProviderFailure, match="not created by this stack.*adopt=True"):
        _BatchJobProvider().create(_job("cs-manual"))
    adopted = _BatchJobProvider().create(_job("cs-manual", adopt=True))
    assert outs_of(adopted)["job_id"] == "cs-manual"


def test_a_job_of_this_stack_that_differs_is_refused_naming_the_field_and_the_command(
        client: BatchClient) -> None:
    _BatchJobProvider().create(_job("cs-differs"))
    changed = _job("cs-differs")
    changed["spec"]["priority"] = 9
    with pytest.raises(ProviderFailure, match=r"priority.*az batch job delete --job-id cs-differs"):
        _BatchJobProvider().create(changed)


def test_a_create_whose_id_is_still_being_deleted_waits_and_creates(client: BatchClient) -> None:
    _BatchJobProvider().create(_job("cs-replace"))
    client.delete_job("cs-replace")  # a replace killed after its delete: the old job is still going
    live = client.get_job("cs-replace")
    assert live is not None and live["state"] == "deleting"
    created = _BatchJobProvider().create(_job("cs-replace"))
    assert outs_of(created)["state"] == "active"


def _collection(job_id: str, count: int, owner: str | None = OURS) -> dict[str, Any]:
    tasks = [{"id": f"t{n:04d}", "commandLine": "/bin/true"} for n in range(count)]
    return {"name": "sweep", "job_id": job_id, "tasks": encode_tasks(tasks), "owner": owner}


def test_a_collection_keeps_the_tasks_a_killed_run_added_and_adds_the_rest(
        client: BatchClient, capsys: pytest.CaptureFixture[str]) -> None:
    _BatchJobProvider().create(_job("cs-sweep"))
    for start in range(0, 250, 100):  # what the killed run got in: 3 chunks
        client.add_task_collection("cs-sweep", [{"id": f"t{n:04d}", "commandLine": "/bin/true"}
                                                for n in range(start, min(start + 100, 250))])
    before = {t["id"]: t["creationTime"] for t in client.list_tasks("cs-sweep")}
    created = _BatchTaskCollectionProvider().create(_collection("cs-sweep", 600))
    assert outs_of(created)["task_count"] == 600
    ids = [t["id"] for t in client.list_tasks("cs-sweep")]
    assert sorted(ids) == [f"t{n:04d}" for n in range(600)]  # each exactly once
    assert {t["id"]: t["creationTime"] for t in client.list_tasks("cs-sweep") if t["id"] in before} == before
    assert "250 of 600 tasks were added by an earlier, interrupted run of this stack" in capsys.readouterr().err


def test_a_collection_refuses_tasks_that_differ_or_sit_in_another_stacks_job(client: BatchClient) -> None:
    _BatchJobProvider().create(_job("cs-sweep-differs"))
    client.add_task_collection("cs-sweep-differs", [{"id": "t0001", "commandLine": "/bin/false"}])
    with pytest.raises(ProviderFailure, match=r"1 differ from the spec \(t0001: .*commandLine"):
        _BatchTaskCollectionProvider().create(_collection("cs-sweep-differs", 5))
    assert [t["id"] for t in client.list_tasks("cs-sweep-differs")] == ["t0001"]  # nothing added

    _BatchJobProvider().create(_job("cs-sweep-theirs", owner=THEIRS))
    client.add_task_collection("cs-sweep-theirs", [{"id": "t0000", "commandLine": "/bin/true"}])
    with pytest.raises(ProviderFailure, match="belongs to stack 'organization/crash/prod'"):
        _BatchTaskCollectionProvider().create(_collection("cs-sweep-theirs", 5))
    assert [t["id"] for t in client.list_tasks("cs-sweep-theirs")] == ["t0000"]


def _task(job_id: str, owner: str | None = OURS, adopt: bool = False) -> dict[str, Any]:
    return {"job_id": job_id, "spec": {"id": "single", "commandLine": "/bin/true"}, "owner": owner,
            "adopt": adopt}


def test_a_task_is_carried_on_with_in_this_stacks_job_and_refused_in_a_job_nobody_marked(
        client: BatchClient) -> None:
    _BatchJobProvider().create(_job("cs-task"))
    client.create_task("cs-task", _task("cs-task")["spec"])
    client.create_job({"id": "cs-task-manual", "poolInfo": {"poolId": "local"}})
    client.create_task("cs-task-manual", _task("cs-task-manual")["spec"])
    time.sleep(CLOCK_ALLOWANCE_SECONDS + 0.2)  # older than any create call below

    assert _BatchTaskProvider().create(_task("cs-task")).id == "cs-task/single"
    with pytest.raises(ProviderFailure, match="not created by this stack"):
        _BatchTaskProvider().create(_task("cs-task-manual"))
    assert _BatchTaskProvider().create(_task("cs-task-manual", adopt=True)).id == "cs-task-manual/single"


def _schedule(owner: str) -> dict[str, Any]:
    return {"spec": {"id": "cs-schedule", "schedule": {"doNotRunUntil": "2099-01-01T00:00:00Z"},
                     "jobSpecification": {"poolInfo": {"poolId": "local"}}}, "owner": owner}


def test_a_schedule_of_this_stack_is_carried_on_with_and_another_stacks_refused(client: BatchClient) -> None:
    first = _BatchJobScheduleProvider().create(_schedule(OURS))
    assert outs_of(_BatchJobScheduleProvider().create(_schedule(OURS)))["etag"] == outs_of(first)["etag"]
    with pytest.raises(ProviderFailure, match="belongs to stack 'organization/crash/dev'"):
        _BatchJobScheduleProvider().create(_schedule(THEIRS))


def test_a_metadata_update_keeps_the_marker_and_shows_no_drift_after(client: BatchClient) -> None:
    created = _BatchJobProvider().create(_job("cs-metadata"))
    olds = {**_job("cs-metadata"), **outs_of(created)}
    news = _job("cs-metadata")
    news["spec"]["metadata"] = [{"name": "team", "value": "render"}]
    _BatchJobProvider().update("cs-metadata", olds, news)
    live = client.get_job("cs-metadata")
    assert live is not None and _base.owner_of(live) == OURS
    assert {"name": "team", "value": "render"} in live["metadata"]
    assert not _BatchJobProvider().diff("cs-metadata", news, news).changes


def test_tasks_in_an_unmarked_job_are_kept_only_when_the_program_declares_that_job(client: BatchClient) -> None:
    # A job created before jobs were marked, or taken over with adopt=True: unmarked, yet this stack's own
    # when the collection is wired to it with job= (the engine ran that job's create or adoption first).
    client.create_job({"id": "cs-unmarked", "poolInfo": {"poolId": "local"}})
    client.add_task_collection("cs-unmarked", [{"id": "t0000", "commandLine": "/bin/true"}])
    with pytest.raises(ProviderFailure, match="not created by this stack"):
        _BatchTaskCollectionProvider().create(_collection("cs-unmarked", 3))  # job_id= only
    declared = {**_collection("cs-unmarked", 3), "job_instance": "a1b2c3"}  # job=
    assert outs_of(_BatchTaskCollectionProvider().create(declared))["task_count"] == 3
    assert sorted(t["id"] for t in client.list_tasks("cs-unmarked")) == ["t0000", "t0001", "t0002"]


def test_a_delete_repeated_while_the_first_is_under_way_waits_for_it(client: BatchClient) -> None:
    _BatchJobProvider().create(_job("cs-delete"))
    client.delete_job("cs-delete")  # the killed run's delete, still going
    deleting = client.get_job("cs-delete")
    assert deleting is not None and deleting["state"] == "deleting"
    _BatchJobProvider().delete("cs-delete", _job("cs-delete"))
    assert client.get_job("cs-delete") is None
