"""Where and when tasks run: pools of virtual nodes, nodeFillType, requiredSlots, maxParallelTasks, the
service-wide slot cap, job priority, and jobs whose pool does not exist (yet)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.batch_service.test_scheduler_support import BatchApi, Model, interval, max_overlap, running_api

MAX_SLOTS = 5


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchApi]:
    with running_api(tmp_path_factory.mktemp("svc"), "--runner", "process", "--max-slots", str(MAX_SLOTS),
                     "--delete-delay", "0.2") as client:
        yield client


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:50]


def pool(api: BatchApi, pool_id: str, nodes: int, slots: int, fill: str = "spread") -> None:
    api.add_pool({"id": pool_id, "targetDedicatedNodes": nodes, "taskSlotsPerNode": slots,
                  "taskSchedulingPolicy": {"nodeFillType": fill}})


def sleepers(count: int, seconds: float = 0.5, **fields: object) -> list[Model]:
    return [{"id": f"t{n}", "commandLine": f"/bin/sleep {seconds}", **fields} for n in range(count)]


@pytest.mark.parametrize(("fill", "distinct_nodes"), [("spread", 2), ("pack", 1)])
def test_node_fill_type_spreads_or_packs_tasks(api: BatchApi, name: str, fill: str, distinct_nodes: int) -> None:
    pool(api, f"{name}-p", nodes=2, slots=2, fill=fill)
    api.add_job({"id": name, "poolInfo": {"poolId": f"{name}-p"}})
    api.add_tasks(name, sleepers(2))
    tasks = api.wait_tasks(name)
    assert max_overlap(tasks) == 2
    assert len({task["nodeInfo"]["nodeId"] for task in tasks}) == distinct_nodes
    assert {task["nodeInfo"]["poolId"] for task in tasks} == {f"{name}-p"}


def test_required_slots_must_fit_on_one_node(api: BatchApi, name: str) -> None:
    pool(api, f"{name}-p", nodes=1, slots=2)
    api.add_job({"id": name, "poolInfo": {"poolId": f"{name}-p"}})
    api.add_tasks(name, [{"id": "big", "commandLine": "/bin/sleep 0.5", "requiredSlots": 2}, *sleepers(2)])
    tasks = {task["id"]: task for task in api.wait_tasks(name)}
    big = interval(tasks.pop("big"))
    for small in map(interval, tasks.values()):
        assert small[1] <= big[0] or small[0] >= big[1]
    assert max_overlap(list(tasks.values())) == 2


def test_max_parallel_tasks_limits_a_job(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "maxParallelTasks": 1})
    api.add_tasks(name, sleepers(3, 0.3))
    assert max_overlap(api.wait_tasks(name)) == 1


def test_service_slot_cap_bounds_every_pool(api: BatchApi, name: str) -> None:
    pool(api, f"{name}-p", nodes=1000, slots=4)
    api.add_job({"id": name, "poolInfo": {"poolId": f"{name}-p"}})
    api.add_tasks(name, sleepers(MAX_SLOTS + 3, 0.5))
    assert max_overlap(api.wait_tasks(name)) == MAX_SLOTS


def test_higher_priority_job_runs_first(api: BatchApi, name: str) -> None:
    pool(api, f"{name}-p", nodes=1, slots=1)
    on_pool = {"poolInfo": {"poolId": f"{name}-p"}}
    api.add_job({"id": f"{name}-gate", **on_pool})
    api.add_task(f"{name}-gate", {"id": "gate", "commandLine": "/bin/sleep 0.5"})
    api.wait_task(f"{name}-gate", "gate", "running")
    api.add_job({"id": f"{name}-low", "priority": 0, **on_pool})
    api.add_tasks(f"{name}-low", sleepers(2, 0.1))
    api.add_job({"id": f"{name}-high", "priority": 100, **on_pool})
    api.add_tasks(f"{name}-high", sleepers(2, 0.1))
    high = api.wait_tasks(f"{name}-high")
    low = api.wait_tasks(f"{name}-low")
    assert max(interval(task)[1] for task in high) <= min(interval(task)[0] for task in low)
    assert [interval(task)[0] for task in sorted(high, key=lambda t: t["id"])] == sorted(
        interval(task)[0] for task in high)


def test_tasks_of_a_job_without_its_pool_stay_active_until_the_pool_exists(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "poolInfo": {"poolId": f"{name}-later"}})
    api.add_task(name, {"id": "waiting", "commandLine": "/bin/true"})
    api.add_job({"id": f"{name}-other"})
    api.add_task(f"{name}-other", {"id": "control", "commandLine": "/bin/true"})
    api.wait_task(f"{name}-other", "control")
    assert api.task(name, "waiting")["state"] == "active"
    pool(api, f"{name}-later", nodes=1, slots=1)
    assert api.wait_task(name, "waiting")["nodeInfo"]["poolId"] == f"{name}-later"


def test_auto_pool_runs_the_job_tasks(api: BatchApi, name: str) -> None:
    spec = {"autoPoolIdPrefix": "auto", "poolLifetimeOption": "job", "pool": {
        "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 2, "taskSlotsPerNode": 1,
        "virtualMachineConfiguration": {"imageReference": {"publisher": "canonical", "offer": "ubuntu",
                                                           "sku": "22_04-lts"},
                                        "nodeAgentSKUId": "batch.node.ubuntu 22.04"}}}
    api.add_job({"id": name, "poolInfo": {"autoPoolSpecification": spec}})
    api.add_tasks(name, sleepers(2, 0.3))
    tasks = api.wait_tasks(name)
    pool_id = api.job(name)["executionInfo"]["poolId"]
    assert {task["nodeInfo"]["poolId"] for task in tasks} == {pool_id}
    assert len({task["nodeInfo"]["nodeId"] for task in tasks}) == 2


def test_deleting_a_pool_requeues_its_running_tasks(api: BatchApi, name: str) -> None:
    pool(api, f"{name}-p", nodes=1, slots=1)
    api.add_job({"id": name, "poolInfo": {"poolId": f"{name}-p"}})
    api.add_task(name, {"id": "evicted", "commandLine": "/bin/sleep 30"})
    api.wait_task(name, "evicted", "running")
    api.call("DELETE", f"/pools/{name}-p", expect=202)
    task = api.wait_task(name, "evicted", "active")
    assert task["executionInfo"]["requeueCount"] == 1
