"""Job-level rules through the local service with real processes: dependencies, exit conditions and job
actions, onAllTasksComplete, wall clock, terminate, disable, and the job manager / preparation / release tasks."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.batch_service.conftest import sdk_client
from tests.batch_service.test_scheduler_support import (
    BatchApi,
    Model,
    interval,
    running_api,
    seconds,
    wait_for,
)

SLEEP = "/bin/sleep 30"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchApi]:
    with running_api(tmp_path_factory.mktemp("svc"), "--runner", "process", "--max-slots", "6",
                     "--delete-delay", "0.2") as client:
        yield client


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:60]


def node_dir(api: BatchApi, job_id: str, directory: str) -> Path:
    return api.service.data_dir / "node" / "workitems" / job_id / "job-1" / directory


def test_dependents_wait_for_satisfying_parents_and_blocked_ones_stay_active(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "usesTaskDependencies": True})
    api.add_tasks(name, [
        {"id": "1", "commandLine": "/bin/true"},
        {"id": "02", "commandLine": "/bin/true"},
        {"id": "fails", "commandLine": "/bin/sh -c 'exit 4'"},
        {"id": "satisfied-anyway", "commandLine": "/bin/sh -c 'exit 5'",
         "exitConditions": {"exitCodes": [{"code": 5, "exitOptions": {"dependencyAction": "satisfy"}}]}},
        {"id": "after-range", "commandLine": "/bin/true", "dependsOn": {"taskIdRanges": [{"start": 1, "end": 2}]}},
        {"id": "after-ids", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["1", "satisfied-anyway"]}},
        {"id": "blocked", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["fails"]}},
    ])
    after_range = api.wait_task(name, "after-range")
    after_ids = api.wait_task(name, "after-ids")
    parents = {task_id: api.wait_task(name, task_id) for task_id in ("1", "02", "satisfied-anyway")}
    assert interval(after_range)[0] >= max(interval(parents[p])[1] for p in ("1", "02"))
    assert interval(after_ids)[0] >= interval(parents["satisfied-anyway"])[1]
    api.wait_task(name, "fails")
    assert api.task(name, "blocked")["state"] == "active"


def test_exit_code_range_terminates_the_job_when_it_performs_exit_options(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "onTaskFailure": "performexitoptionsjobaction"})
    api.add_task(name, {"id": "long", "commandLine": SLEEP})
    api.wait_task(name, "long", "running")
    api.add_task(name, {"id": "bad", "commandLine": "/bin/sh -c 'exit 3'", "exitConditions": {
        "exitCodeRanges": [{"start": 2, "end": 4, "exitOptions": {"jobAction": "terminate"}}]}})
    job = api.wait_job(name, "completed")
    assert job["executionInfo"]["terminateReason"] == "TaskFailed"
    long = api.task(name, "long")["executionInfo"]
    assert (long["result"], long["failureInfo"]["code"]) == ("failure", "TaskEnded")


def test_pre_processing_error_exit_options_terminate_the_job(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "onTaskFailure": "performexitoptionsjobaction"})
    api.add_task(name, {"id": "cannot-start", "commandLine": "no-such-program-anywhere",
                        "exitConditions": {"preProcessingError": {"jobAction": "terminate"},
                                           "default": {"jobAction": "none"}}})
    job = api.wait_job(name, "completed")
    assert job["executionInfo"]["terminateReason"] == "TaskFailed"
    assert api.task(name, "cannot-start")["executionInfo"]["failureInfo"]["code"] == "CommandProgramNotFound"


def test_exit_code_job_action_disable_disables_the_job(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "onTaskFailure": "performexitoptionsjobaction"})
    api.add_task(name, {"id": "bad", "commandLine": "/bin/sh -c 'exit 9'",
                        "exitConditions": {"default": {"jobAction": "disable"}}})
    job = api.wait_job(name, "disabled")
    assert job["previousState"] == "disabling"
    bad = api.task(name, "bad")
    assert (bad["state"], bad["executionInfo"]["exitCode"]) == ("completed", 9)


def test_job_without_exit_options_action_ignores_task_failures(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    api.add_task(name, {"id": "bad", "commandLine": "/bin/sh -c 'exit 3'"})
    api.wait_task(name, "bad")
    assert api.job(name)["state"] == "active"


def test_all_tasks_complete_terminates_the_job(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    api.add_tasks(name, [{"id": f"t{n}", "commandLine": "/bin/true"} for n in range(3)])
    api.call("PATCH", f"/jobs/{name}", {"onAllTasksComplete": "terminatejob"}, expect=200)
    job = api.wait_job(name, "completed")
    assert job["executionInfo"]["terminateReason"] == "AllTasksComplete"
    assert all(task["state"] == "completed" for task in api.tasks(name))


def test_job_wall_clock_terminates_the_job_and_its_running_tasks(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "constraints": {"maxWallClockTime": "PT2S"}})
    api.add_task(name, {"id": "long", "commandLine": SLEEP})
    job = api.wait_job(name, "completed", timeout=10)
    assert job["executionInfo"]["terminateReason"] == "MaxWallClockTimeExpiry"
    assert 2 <= seconds(job["executionInfo"]["endTime"]) - seconds(job["creationTime"]) < 6
    assert api.task(name, "long")["executionInfo"]["failureInfo"]["code"] == "TaskEnded"


def test_terminating_a_job_kills_running_tasks_and_leaves_active_ones(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "maxParallelTasks": 1})
    api.add_tasks(name, [{"id": "running", "commandLine": SLEEP}, {"id": "queued", "commandLine": "/bin/true"}])
    api.wait_task(name, "running", "running")
    api.call("POST", f"/jobs/{name}/terminate", expect=202)
    job = api.wait_job(name, "completed", timeout=10)
    assert job["executionInfo"]["terminateReason"] == "UserTerminate"
    assert api.task(name, "running")["executionInfo"]["failureInfo"]["code"] == "TaskEnded"
    assert api.task(name, "queued")["state"] == "active"


def test_disable_with_requeue_puts_running_tasks_back_and_enable_runs_them(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    api.add_task(name, {"id": "requeued", "commandLine": "/bin/sh -c 'echo x >> runs.txt; [ $(wc -l < runs.txt) -ge 2 ] "
                                                          "|| exec sleep 30'"})
    api.wait_task(name, "requeued", "running")
    # "running" starts before the command does (batch-api.md 6.3): disable only once the first run wrote.
    wait_for(lambda: api.call("GET", f"/jobs/{name}/tasks/requeued/files/wd/runs.txt"),
             lambda response: response.status_code == 200 and response.text == "x\n", 20, "the first run")
    api.call("POST", f"/jobs/{name}/disable", {"disableTasks": "requeue"}, expect=202)
    api.wait_job(name, "disabled")
    task = api.task(name, "requeued")
    assert (task["state"], task["executionInfo"]["requeueCount"]) == ("active", 1)
    assert "lastRequeueTime" in task["executionInfo"]
    api.call("POST", f"/jobs/{name}/enable", expect=202)
    info = api.wait_task(name, "requeued")["executionInfo"]
    assert (info["result"], info["requeueCount"]) == ("success", 1)


def test_disable_with_terminate_completes_running_tasks(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    api.add_task(name, {"id": "ended", "commandLine": SLEEP})
    api.wait_task(name, "ended", "running")
    api.call("POST", f"/jobs/{name}/disable", {"disableTasks": "terminate"}, expect=202)
    api.wait_job(name, "disabled")
    assert api.task(name, "ended")["executionInfo"]["failureInfo"]["code"] == "TaskEnded"


def test_disable_with_wait_lets_running_tasks_finish_first(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    api.add_task(name, {"id": "finishes", "commandLine": "/bin/sleep 1"})
    api.wait_task(name, "finishes", "running")
    api.call("POST", f"/jobs/{name}/disable", {"disableTasks": "wait"}, expect=202)
    assert api.job(name)["state"] == "disabling"
    job = api.wait_job(name, "disabled")
    task = api.task(name, "finishes")
    assert task["executionInfo"]["result"] == "success"
    assert seconds(job["stateTransitionTime"]) >= seconds(task["executionInfo"]["endTime"])


def test_deleting_a_job_kills_its_running_tasks(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    api.add_task(name, {"id": "doomed", "commandLine": "/bin/sh -c 'echo $$ > pid.txt; exec sleep 30'"})
    api.wait_task(name, "doomed", "running")
    pid = int(wait_for(lambda: api.call("GET", f"/jobs/{name}/tasks/doomed/files/wd/pid.txt").text,
                       lambda text: text.strip().isdigit(), 10, "the pid file"))
    api.call("DELETE", f"/jobs/{name}", expect=202)
    wait_for(lambda: api.call("GET", f"/jobs/{name}").status_code, lambda status: status == 404, 10,
             "the job to be gone")
    wait_for(lambda: Path(f"/proc/{pid}").exists(), lambda alive: not alive, 10, f"process {pid} to end")
    assert not (api.service.data_dir / "node" / "workitems" / name).exists()


def test_job_manager_completion_terminates_the_job(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "jobManagerTask": {"id": "manager", "commandLine": "/bin/sh -c 'echo managing'"}})
    job = api.wait_job(name, "completed")
    assert job["executionInfo"]["terminateReason"] == "JMComplete"
    assert api.file(name, "manager", "stdout.txt") == "managing\n"


def test_exclusive_job_manager_runs_before_and_apart_from_other_tasks(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "jobManagerTask": {"id": "manager", "commandLine": "/bin/sleep 1",
                                                "killJobOnCompletion": False}})
    api.add_tasks(name, [{"id": f"t{n}", "commandLine": "/bin/true"} for n in range(3)])
    tasks = {task["id"]: task for task in api.wait_tasks(name)}
    manager_end = interval(tasks.pop("manager"))[1]
    assert all(interval(task)[0] >= manager_end for task in tasks.values())
    assert api.job(name)["state"] == "active"


def test_preparation_runs_once_per_node_and_release_runs_when_the_job_ends(api: BatchApi, name: str) -> None:
    api.add_job({"id": name,
                 "jobPreparationTask": {"commandLine": "/bin/sh -c 'echo prepared >> $AZ_BATCH_NODE_SHARED_DIR/"
                                                       f"{name}.txt; echo ready > marker'"},
                 "jobReleaseTask": {"commandLine": "/bin/sh -c 'sleep 1; echo released'"}})
    api.add_tasks(name, [{"id": f"t{n}", "commandLine": "/bin/sh -c 'cat $AZ_BATCH_JOB_PREP_WORKING_DIR/marker'"}
                         for n in range(3)])
    for task in api.wait_tasks(name):
        assert api.file(name, task["id"], "stdout.txt") == "ready\n"
        assert task["previousState"] in ("running", "preparing")
    shared = api.service.data_dir / "node" / "shared" / f"{name}.txt"
    assert shared.read_text() == "prepared\n"
    api.call("POST", f"/jobs/{name}/terminate", expect=202)
    assert api.job(name)["state"] == "terminating"
    job = api.wait_job(name, "completed")
    release = node_dir(api, name, "jobrelease@tvm-local-local-0") / "stdout.txt"
    assert release.read_text() == "released\n"
    # The release task sleeps a second: the job is completed only after it finished (section 6.7).
    assert job["previousState"] == "terminating"
    assert seconds(job["stateTransitionTime"]) - seconds(job["previousStateTransitionTime"]) >= 0.9


def test_preparation_and_release_status_reports_each_run_per_node(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "jobPreparationTask": {"commandLine": "/bin/sh -c 'exit 3'", "waitForSuccess": False,
                                                    "constraints": {"maxTaskRetryCount": 1}},
                 "jobReleaseTask": {"id": "cleanup", "commandLine": "/bin/sh -c 'echo bye'"}})
    api.add_task(name, {"id": "work", "commandLine": "/bin/true"})
    api.wait_task(name, "work")
    api.call("POST", f"/jobs/{name}/terminate", expect=202)
    api.wait_job(name, "completed")
    body = api.call("GET", f"/jobs/{name}/jobpreparationandreleasetaskstatus", expect=200).json()
    [status] = body["value"]
    assert body["odata.metadata"].endswith("#jobpreparationandreleasetaskstatus")
    assert (status["poolId"], status["nodeId"]) == ("local", "tvm-local-local-0")
    assert status["nodeUrl"].endswith("/pools/local/nodes/tvm-local-local-0")
    preparation, release = status["jobPreparationTaskExecutionInfo"], status["jobReleaseTaskExecutionInfo"]
    # One retry of a failing preparation (waitForSuccess=false lets the task run anyway).
    assert (preparation["state"], preparation["result"], preparation["exitCode"]) == ("completed", "failure", 3)
    assert preparation["retryCount"] == 1 and "lastRetryTime" in preparation
    assert preparation["failureInfo"]["code"] == "FailureExitCode"
    assert preparation["taskRootDirectory"] == f"workitems/{name}/job-1/jobpreparation@tvm-local-local-0"
    assert seconds(preparation["startTime"]) <= seconds(preparation["endTime"]) <= seconds(release["startTime"])
    assert (release["state"], release["result"], release["exitCode"]) == ("completed", "success", 0)
    assert release["taskRootDirectoryUrl"].endswith(f"/files/workitems/{name}/job-1/cleanup@tvm-local-local-0")
    assert "failureInfo" not in release
    selected = api.call("GET", f"/jobs/{name}/jobpreparationandreleasetaskstatus", expect=200,
                        **{"$select": "nodeId"})
    assert selected.json()["value"] == [{"nodeId": "tvm-local-local-0"}]
    # The official SDK reads the same list into its own models.
    [typed] = sdk_client(api.service).list_job_preparation_and_release_task_status(name)
    typed_preparation, typed_release = typed.job_preparation_task_execution_info, typed.job_release_task_execution_info
    assert typed_preparation is not None and typed_preparation.retry_count == 1
    assert typed_release is not None and typed_release.state == "completed"


def test_preparation_and_release_status_of_a_job_without_them_is_409(api: BatchApi, name: str) -> None:
    api.add_job({"id": name})
    response = api.call("GET", f"/jobs/{name}/jobpreparationandreleasetaskstatus", expect=409)
    assert response.json()["code"] == "JobPreparationTaskNotSpecified"
    api.call("GET", f"/jobs/{name}-missing/jobpreparationandreleasetaskstatus", expect=404)


def test_preparation_runs_on_each_node_the_job_uses(api: BatchApi, name: str) -> None:
    _pool_job(api, name, {"targetDedicatedNodes": 2, "taskSlotsPerNode": 1},
              jobPreparationTask={"commandLine": f"/bin/sh -c 'echo $AZ_BATCH_NODE_ID >> "
                                                 f"$AZ_BATCH_NODE_SHARED_DIR/{name}.txt'"})
    api.add_tasks(name, [{"id": f"t{n}", "commandLine": "/bin/sleep 0.2"} for n in range(4)])
    nodes = {task["nodeInfo"]["nodeId"] for task in api.wait_tasks(name)}
    prepared = (api.service.data_dir / "node" / "shared" / f"{name}.txt").read_text().split()
    assert len(nodes) == 2 and sorted(prepared) == sorted(nodes)


def test_failed_preparation_with_wait_for_success_keeps_tasks_off_the_node(api: BatchApi, name: str) -> None:
    api.add_job({"id": name, "jobPreparationTask": {"commandLine": "/bin/sh -c 'exit 1'"}})
    api.add_task(name, {"id": "never", "commandLine": "/bin/true"})
    task = wait_for(lambda: api.task(name, "never"), lambda task: task.get("previousState") == "preparing", 10,
                    "the task to come back from preparing")
    assert task["state"] == "active" and "nodeInfo" not in task
    assert (node_dir(api, name, "jobpreparation@tvm-local-local-0") / "stdout.txt").exists()


def _pool_job(api: BatchApi, name: str, pool: Model, **job: object) -> None:
    api.add_pool({"id": f"{name[:55]}-pool", **pool})
    api.add_job({"id": name, "poolInfo": {"poolId": f"{name[:55]}-pool"}, **job})


def test_multi_instance_task_runs_coordination_everywhere_and_the_command_on_the_primary(api: BatchApi,
                                                                                        name: str) -> None:
    _pool_job(api, name, {"targetDedicatedNodes": 3})
    api.add_task(name, {"id": "mpi", "commandLine": "/bin/sh -c 'echo primary $AZ_BATCH_IS_CURRENT_NODE_MASTER'",
                        "multiInstanceSettings": {"numberOfInstances": 3, "coordinationCommandLine":
                                                  "/bin/sh -c 'echo coordinate $AZ_BATCH_HOST_LIST'"}})
    task = api.wait_task(name, "mpi")
    assert task["executionInfo"]["result"] == "success"
    assert api.file(name, "mpi", "stdout.txt") == ("coordinate 127.0.0.1,127.0.0.1,127.0.0.1\nprimary true\n")
    subtasks = api.call("GET", f"/jobs/{name}/tasks/mpi/subtasksinfo", expect=200).json()["value"]
    assert [(s["id"], s["state"], s["exitCode"]) for s in subtasks] == [(1, "completed", 0), (2, "completed", 0)]
    nodes = {task["nodeInfo"]["nodeId"], *(s["nodeInfo"]["nodeId"] for s in subtasks)}
    assert len(nodes) == 3
