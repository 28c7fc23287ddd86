"""Compute nodes through the official SDK: reading them ($filter, $select), scheduling on and off, reboot, and
autoscale on a pool; against a service that runs tasks as real processes."""
from __future__ import annotations

import time

import pytest
from azure.batch import BatchClient, models
from azure.batch.models import _models as private_models

from tests.batch_service.conftest import error_of, sdk_client, signed_client
from tests.batch_service.pool_support import (
    POLL,
    add_job,
    add_pool,
    refused,
    resize,
    steady,
    task_state,
    wait_until,
)
from tests.support.service import RunningService, start_service


def _running_on_its_node(client: BatchClient, job_id: str, task_id: str) -> str:
    task = wait_until(lambda: client.get_task(job_id, task_id), lambda task: task.state == "running")
    return str(task.node_info.node_id)


def test_a_running_task_shows_on_its_node(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=2, taskSlotsPerNode=2)
    add_job(client, uid, uid, {"busy": "/bin/sleep 30"})
    node_id = _running_on_its_node(client, uid, "busy")
    node = client.get_node(uid, node_id)
    assert (node.state, node.scheduling_state, node.is_dedicated) == ("running", "enabled", True)
    assert (node.running_tasks_count, node.running_task_slots_count, node.total_tasks_run) == (1, 1, 1)
    assert [(info.job_id, info.task_id, info.task_state) for info in node.recent_tasks or []] == \
        [(uid, "busy", "running")]
    assert node.node_agent_info is not None and node.node_agent_info.version
    assert node.url.endswith(f"/pools/{uid}/nodes/{node_id}") and node.affinity_id == f"TVM:{node_id}"
    running = list(client.list_nodes(uid, filter="state eq 'running'", select=["id", "state"]))
    assert [(item.id, item.state, item.running_tasks_count) for item in running] == [(node_id, "running", None)]
    assert [item.id for item in client.list_nodes(uid, filter="state eq 'idle'")] != [node_id]
    client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(node_ids=[node_id], node_deallocation_option=
                                                                 "terminate"), polling_interval=POLL).result()  # type: ignore[arg-type]


def test_node_reads_answer_404_for_unknown_pools_and_nodes(client: BatchClient, uid: str,
                                                           node_service: RunningService) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    assert refused(lambda: client.get_node(uid, "tvm-nope")) == (404, "NodeNotFound")
    assert refused(lambda: list(client.list_nodes("no-such-pool"))) == (404, "PoolNotFound")
    with signed_client(node_service) as api:
        bad = api.get(f"/pools/{uid}/nodes", params={"api-version": "2025-06-01", "$filter": "state eq"})
        assert error_of(bad) == (400, "InvalidQueryParameterValue")


def test_disable_scheduling_requeues_and_the_node_goes_offline(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    add_job(client, uid, uid, {"t": "/bin/sleep 30"})
    node_id = _running_on_its_node(client, uid, "t")
    option = models.BatchNodeDisableSchedulingOptions(node_disable_scheduling_option="requeue")
    client.disable_node_scheduling(uid, node_id, option)
    task = wait_until(lambda: client.get_task(uid, "t"), lambda task: task.execution_info.requeue_count == 1)
    assert task.state == "active"  # the only node takes no task
    node = wait_until(lambda: client.get_node(uid, node_id), lambda node: node.state == "offline")
    assert node.scheduling_state == "disabled"
    assert refused(lambda: client.disable_node_scheduling(uid, node_id, option)) == \
        (409, "NodeAlreadyInTargetSchedulingState")
    client.enable_node_scheduling(uid, node_id)
    wait_until(lambda: task_state(client, uid, "t"), lambda state: state == "running")
    assert refused(lambda: client.enable_node_scheduling(uid, node_id)) == (409, "NodeAlreadyInTargetSchedulingState")
    client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(node_ids=[node_id], node_deallocation_option=
                                                                 "terminate"), polling_interval=POLL).result()  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "state", "result"), [("requeue", "active", None), ("terminate", "completed",
                                                                                      "failure")])
def test_reboot_requeues_or_terminates_the_nodes_tasks(client: BatchClient, uid: str, kind: str, state: str,
                                                       result: str | None) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    add_job(client, uid, uid, {"t": "/bin/sleep 30"})
    node_id = _running_on_its_node(client, uid, "t")
    booted = client.get_node(uid, node_id).last_boot_time
    # The SDK cannot send these verbs without their options body, so every call gives one.
    options = private_models.BatchNodeRebootOptions(node_reboot_kind=kind)
    poller = client.begin_reboot_node(uid, node_id, options, polling_interval=POLL)  # type: ignore[arg-type]
    assert client.get_node(uid, node_id).state == "rebooting"
    assert refused(lambda: client.begin_reboot_node(uid, node_id, options)) == (409, "NodeBeingRebooted")
    task = wait_until(lambda: client.get_task(uid, "t"), lambda task: task.state == state)
    assert task.execution_info.result == result
    poller.result()
    node = client.get_node(uid, node_id)
    assert node.last_boot_time is not None and booted is not None and node.last_boot_time > booted
    client.begin_remove_nodes(uid, models.BatchNodeRemoveOptions(node_ids=[node_id], node_deallocation_option=
                                                                 "terminate"), polling_interval=POLL).result()  # type: ignore[arg-type]


def test_autoscale_formula_sizes_the_pool_from_its_pending_tasks(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=0)
    add_job(client, uid, uid, {f"t{n}": "/bin/sleep 30" for n in range(4)})
    assert refused(lambda: client.evaluate_pool_auto_scale(uid, models.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula="$TargetDedicatedNodes=1"))) == (409, "OperationInvalidForCurrentState")
    formula = "$TargetDedicatedNodes = min(2, $PendingTasks.GetSample(1) / 2); $NodeDeallocationOption = requeue"
    client.enable_pool_auto_scale(uid, models.BatchPoolEnableAutoScaleOptions(auto_scale_formula=formula,
                                                                              auto_scale_evaluation_interval="PT5M"))
    pool = client.get_pool(uid)
    assert pool.enable_auto_scale is True and pool.auto_scale_run is not None
    assert pool.auto_scale_run.results == \
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    pool = steady(client, uid)
    assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (2, 2)
    wait_until(lambda: [task_state(client, uid, f"t{n}") for n in range(4)],
               lambda states: states.count("running") == 2)
    run = client.evaluate_pool_auto_scale(uid, models.BatchPoolEvaluateAutoScaleOptions(
        auto_scale_formula="busy = max($RunningTasks.GetSample(1)); $TargetLowPriorityNodes = busy * 3 - $ActiveTasks"))
    assert run.results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=4;$NodeDeallocationOption=requeue;busy=2"
    assert refused(lambda: resize(client, uid, target_dedicated_nodes=1)) == (409, "OperationInvalidForCurrentState")
    client.disable_pool_auto_scale(uid)
    assert client.get_pool(uid).enable_auto_scale is False
    resize(client, uid, target_dedicated_nodes=0, node_deallocation_option="terminate").result()


@pytest.mark.parametrize(("formula", "code", "named"), [
    ("$TargetDedicatedNodes = (1 + ", "AutoScalingFormulaSyntaxError", "line 1, column 30"),
    ("x = 1;\n$TargetDedicatedNodes = 3 # 4", "AutoScalingFormulaSyntaxError", "line 2, column 27"),
    ("x = 1;" * 1400, "AutoScalingFormulaTooLong", "8192"),
])
def test_a_formula_that_does_not_parse_is_refused_naming_where(client: BatchClient, uid: str, formula: str,
                                                               code: str, named: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=0)
    with pytest.raises(Exception) as raised:
        client.enable_pool_auto_scale(uid, models.BatchPoolEnableAutoScaleOptions(auto_scale_formula=formula))
    error = getattr(raised.value, "error", None)
    assert error is not None and (getattr(raised.value, "status_code", None), error.code) == (400, code)
    assert named in str(raised.value)
    assert client.get_pool(uid).enable_auto_scale is False


def test_enabling_autoscale_while_resizing_is_refused(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=0)
    resize(client, uid, target_dedicated_nodes=1)
    assert refused(lambda: client.enable_pool_auto_scale(uid, models.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula="$TargetDedicatedNodes=1"))) == (409, "PoolBeingResized")
    steady(client, uid)


def test_a_pool_created_with_autoscale_gets_the_nodes_its_formula_asks_for(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, enableAutoScale=True, autoScaleFormula="$TargetDedicatedNodes = 1 + 1",
             autoScaleEvaluationInterval="PT5M")
    pool = client.get_pool(uid)
    assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (2, 2)
    assert pool.auto_scale_run is not None and pool.auto_scale_run.results == \
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    add_pool(client, uid + "-x", enableAutoScale=True, autoScaleFormula="$TargetDedicatedNodes = $NotDefined")
    refused_pool = client.get_pool(uid + "-x")
    assert refused_pool.current_dedicated_nodes == 0 and refused_pool.auto_scale_run is not None
    error = refused_pool.auto_scale_run.error
    assert error is not None and error.code == "AutoScalingFormulaEvaluationError"
    assert "$NotDefined" in str(error.message)
    assert {pair.name: pair.value for pair in error.error_values or []}.items() >= {"Line": "1", "Column": "25"}.items()


def test_nodes_and_a_resize_in_flight_survive_a_restart(tmp_path_factory: pytest.TempPathFactory, uid: str) -> None:
    data_dir = tmp_path_factory.mktemp("restart-nodes")
    with start_service(data_dir, "--runner", "none", "--resize-delay", "30") as first, sdk_client(first) as sdk:
        add_pool(sdk, uid, targetDedicatedNodes=2)
        sdk.disable_node_scheduling(uid, f"tvm-local-{uid}-1", models.BatchNodeDisableSchedulingOptions(
            node_disable_scheduling_option="requeue"))
        resize(sdk, uid, target_dedicated_nodes=3)
        assert sdk.get_pool(uid).allocation_state == "resizing"
        add_pool(sdk, uid + "-r", targetDedicatedNodes=2)
        sdk.begin_remove_nodes(uid + "-r", models.BatchNodeRemoveOptions(node_ids=[f"tvm-local-{uid}-r-0"]))
    with start_service(data_dir, "--runner", "none") as second, sdk_client(second) as sdk:
        assert [node.id for node in sdk.list_nodes(uid + "-r")] == [f"tvm-local-{uid}-r-1"]  # the one named left
        assert steady(sdk, uid + "-r").current_dedicated_nodes == 1
        pool = steady(sdk, uid)
        assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (3, 3)
        listed = [(node.id, node.scheduling_state) for node in sdk.list_nodes(uid)]
        assert listed == [(f"tvm-local-{uid}-0", "enabled"), (f"tvm-local-{uid}-1", "disabled"),
                          (f"tvm-local-{uid}-2", "enabled")]


def test_reboot_with_taskcompletion_waits_for_the_running_task(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1, taskSlotsPerNode=2)
    add_job(client, uid, uid, {"t": "/bin/sleep 3"})
    node_id = _running_on_its_node(client, uid, "t")
    options = private_models.BatchNodeRebootOptions(node_reboot_kind="taskcompletion")
    poller = client.begin_reboot_node(uid, node_id, options, polling_interval=POLL)  # type: ignore[arg-type]
    client.create_task(uid, models.BatchTaskCreateOptions(id="next", command_line="/bin/true"))
    time.sleep(0.5)  # a free slot, but the node takes no new task while it waits to reboot
    assert (client.get_node(uid, node_id).state, task_state(client, uid, "next")) == ("running", "active")
    wait_until(lambda: client.get_node(uid, node_id).state, lambda state: state == "rebooting")
    task = client.get_task(uid, "t")
    assert (task.state, task.execution_info.result) == ("completed", "success")
    poller.result()
    wait_until(lambda: task_state(client, uid, "next"), lambda state: state == "completed")
