"""Pool resize, stop resize, node removal, PATCH and updateproperties through the official SDK, against a
service that runs real processes (so nodes have running tasks to requeue, terminate or wait for)."""
from __future__ import annotations

from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import ResourceNotFoundError

from tests.batch_service.conftest import error_of, signed_client
from tests.batch_service.pool_support import (
    MAX_SLOTS,
    POLL,
    add_job,
    add_pool,
    refused,
    resize,
    steady,
    task_state,
    wait_until,
)
from tests.support.service import RunningService


def test_resize_is_resizing_then_steady_with_the_nodes_asked_for(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    resize(client, uid, target_dedicated_nodes=3, target_low_priority_nodes=1)
    assert client.get_pool(uid).allocation_state == "resizing"
    pool = steady(client, uid)
    assert (pool.current_dedicated_nodes, pool.current_low_priority_nodes) == (3, 1)
    assert pool.resize_errors is None
    listed = list(client.list_nodes(uid))
    assert [node.id for node in listed] == [f"tvm-local-{uid}-{n}" for n in range(4)]
    assert [node.is_dedicated for node in listed] == [True, True, True, False]
    assert {node.state for node in listed} == {"idle"}


def test_resize_beyond_the_machine_gives_what_fits_and_says_why(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=0)
    client.begin_resize_pool(uid, models.BatchPoolResizeOptions(target_dedicated_nodes=MAX_SLOTS + 2),
                             polling_interval=POLL).result()  # type: ignore[arg-type]
    pool = client.get_pool(uid)
    assert (pool.allocation_state, pool.target_dedicated_nodes, pool.current_dedicated_nodes) == \
        ("steady", MAX_SLOTS + 2, MAX_SLOTS)
    assert pool.resize_errors is not None and pool.resize_errors[0].code == "AccountCoreQuotaReached"
    assert {(pair.name, pair.value) for pair in pool.resize_errors[0].error_values or []} >= {
        ("MaxNodes", str(MAX_SLOTS)), ("TargetDedicatedNodes", str(MAX_SLOTS + 2))}


def test_resize_while_resizing_is_refused(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    resize(client, uid, target_dedicated_nodes=2)
    assert refused(lambda: resize(client, uid, target_dedicated_nodes=3)) == \
        (409, "PoolBeingResized")
    assert steady(client, uid).current_dedicated_nodes == 2


def test_resize_refuses_a_short_timeout_and_a_negative_count(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    short = {"targetDedicatedNodes": 2, "resizeTimeout": "PT1M"}
    assert refused(lambda: client.begin_resize_pool(uid, models.BatchPoolResizeOptions(short))) == \
        (400, "InvalidPropertyValue")
    negative = {"targetDedicatedNodes": -1}
    assert refused(lambda: client.begin_resize_pool(uid, models.BatchPoolResizeOptions(negative))) == \
        (400, "InvalidPropertyValue")
    assert refused(lambda: client.begin_resize_pool("no-such-pool", models.BatchPoolResizeOptions(
        target_dedicated_nodes=1))) == (404, "PoolNotFound")


def test_stop_resize_is_stopping_then_steady_with_the_nodes_it_had(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    resize(client, uid, target_dedicated_nodes=3)
    client.begin_stop_pool_resize(uid, polling_interval=POLL)  # type: ignore[arg-type]
    assert client.get_pool(uid).allocation_state == "stopping"
    pool = steady(client, uid)
    assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (3, 1)
    assert len(list(client.list_nodes(uid))) == 1


@pytest.mark.parametrize("option", ["taskcompletion", "retaineddata"])
def test_shrink_that_lets_tasks_finish_waits_for_the_running_task(client: BatchClient, uid: str,
                                                                  option: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    add_job(client, uid, uid, {"t": "/bin/sleep 4"})
    wait_until(lambda: task_state(client, uid, "t"), lambda state: state == "running")
    resize(client, uid, target_dedicated_nodes=0, node_deallocation_option=option)
    node = wait_until(lambda: list(client.list_nodes(uid)), lambda nodes: nodes[0].state == "leavingpool")[0]
    assert node.running_tasks_count == 1
    assert client.get_pool(uid).allocation_state == "resizing"
    pool = steady(client, uid)
    assert pool.current_dedicated_nodes == 0
    task = client.get_task(uid, "t")
    assert (task.state, task.execution_info.result) == ("completed", "success")


def test_remove_nodes_requeues_or_terminates_running_tasks(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=2)
    add_job(client, uid, uid, {"a": "/bin/sleep 30", "b": "/bin/sleep 30"})
    wait_until(lambda: [task_state(client, uid, t) for t in "ab"], lambda states: states == ["running"] * 2)
    node_a = client.get_task(uid, "a").node_info.node_id
    client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(node_ids=[node_a]),
                              polling_interval=POLL).result()  # type: ignore[arg-type]
    pool = client.get_pool(uid)
    assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (1, 1)
    requeued = wait_until(lambda: client.get_task(uid, "a"), lambda task: task.execution_info.requeue_count == 1)
    assert requeued.state == "active"  # the remaining node is busy with b
    node_b = client.get_task(uid, "b").node_info.node_id
    client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(node_ids=[node_b], node_deallocation_option=
                                                                 "terminate"), polling_interval=POLL).result()  # type: ignore[arg-type]
    ended = wait_until(lambda: client.get_task(uid, "b"), lambda task: task.state == "completed")
    assert ended.execution_info.result == "failure" and ended.execution_info.failure_info.code == "TaskEnded"
    assert list(client.list_nodes(uid)) == []


def test_remove_nodes_refuses_an_unknown_node_and_a_pool_that_is_resizing(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    assert refused(lambda: client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(
        node_ids=["tvm-nope"]))) == \
        (404, "NodeNotFound")
    resize(client, uid, target_dedicated_nodes=2)
    node = f"tvm-local-{uid}-0"
    assert refused(lambda: client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(node_ids=[node]))) == \
        (409, "PoolBeingResized")
    steady(client, uid)
    assert refused(lambda: client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions({"nodeList": []}))) == \
        (400, "MissingRequiredProperty")


def test_patch_changes_what_it_names_and_node_shaping_fields_need_an_empty_pool(client: BatchClient,
                                                                                uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1, metadata=[{"name": "keep", "value": "1"}])
    start = models.BatchStartTask(command_line="/bin/true")
    client.update_pool(uid, models.BatchPoolUpdateOptions(start_task=start))
    pool = client.get_pool(uid)
    assert pool.start_task.command_line == "/bin/true"
    assert [(item.name, item.value) for item in pool.metadata or []] == [("keep", "1")]
    assert refused(lambda: client.update_pool(uid, models.BatchPoolUpdateOptions(task_slots_per_node=2))) == \
        (409, "OperationInvalidForCurrentState")
    no_command = models.BatchPoolUpdateOptions({"startTask": {"maxTaskRetryCount": 1}})
    assert refused(lambda: client.update_pool(uid, no_command)) == (400, "MissingRequiredProperty")
    assert refused(lambda: client.update_pool(uid, models.BatchPoolUpdateOptions({"targetDedicatedNodes": 2}))) == \
        (400, "InvalidPropertyValue")
    client.begin_resize_pool(uid, models.BatchPoolResizeOptions(target_dedicated_nodes=0),
                             polling_interval=POLL).result()  # type: ignore[arg-type]
    client.update_pool(uid, models.BatchPoolUpdateOptions(task_slots_per_node=2))
    assert client.get_pool(uid).task_slots_per_node == 2


def test_update_properties_replaces_and_drops_an_absent_start_task(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=0, startTask={"commandLine": "/bin/true"},
             metadata=[{"name": "old", "value": "1"}])
    client.replace_pool_properties(uid, models.BatchPoolReplaceOptions(
        application_package_references=[], metadata=[models.BatchMetadataItem(name="new", value="2")]))
    pool = client.get_pool(uid)
    assert pool.start_task is None
    assert [(item.name, item.value) for item in pool.metadata or []] == [("new", "2")]
    assert refused(lambda: client.replace_pool_properties(uid, models.BatchPoolReplaceOptions(
        {"applicationPackageReferences": []}))) == (400, "MissingRequiredProperty")


def test_a_new_node_lists_the_node_directories(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    listed = [(entry.name, entry.is_directory) for entry in client.list_node_files(uid, f"tvm-local-{uid}-0")]
    assert {("shared", True), ("startup", True), ("workitems", True)} <= set(listed)


def test_node_files_of_a_task_are_under_workitems(client: BatchClient, uid: str, node_service: RunningService) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    add_job(client, uid, uid, {"t": "/bin/sh -c 'echo from-the-node'"})
    task = wait_until(lambda: client.get_task(uid, "t"), lambda task: task.state == "completed")
    node_id = task.node_info.node_id
    root = [(entry.name, entry.is_directory) for entry in client.list_node_files(uid, node_id)]
    assert {("shared", True), ("startup", True), ("workitems", True)} <= set(root)
    prefix = f"workitems/{uid}/job-1/t/"
    names = [entry.name for entry in client.list_node_files(uid, node_id, recursive=True,
                                                            filter=f"startswith(name,'{prefix}')")]
    assert names == [prefix + "stderr.txt", prefix + "stdout.txt", prefix + "wd"]
    assert task.node_info.task_root_directory + "/stdout.txt" == prefix + "stdout.txt"
    assert b"".join(client.download_node_file(uid, node_id, prefix + "stdout.txt")) == b"from-the-node\n"
    properties = client.get_node_file_properties(uid, node_id, prefix + "stdout.txt")
    assert (properties.content_length, properties.is_directory) == (14, False)
    client.delete_node_file(uid, node_id, prefix + "stdout.txt")
    assert not (Path(node_service.data_dir) / "node" / prefix / "stdout.txt").exists()
    with pytest.raises(ResourceNotFoundError):  # a HEAD answer has no body to carry the code
        client.get_node_file_properties(uid, node_id, prefix + "stdout.txt")
    with signed_client(node_service) as api:
        assert error_of(api.get(f"/pools/{uid}/nodes/{node_id}/files/{prefix}stdout.txt")) == (404, "FileNotFound")
        escape = f"/pools/{uid}/nodes/{node_id}/files/workitems%2F..%2F..%2Fbatch.sqlite3"
        assert error_of(api.get(escape)) == (400, "InvalidUri")
    assert refused(lambda: list(client.list_node_files(uid, "tvm-nope"))) == (404, "NodeNotFound")
