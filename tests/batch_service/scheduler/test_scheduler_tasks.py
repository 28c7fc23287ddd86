"""Tasks run for real through the local service: output, environment, retries, timeouts, files, terminate,
reactivate, delete. Each test drives the service over HTTP and waits for states, never sleeping blindly."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.batch_service.test_scheduler_support import BatchApi, http_files, running_api, seconds, wait_for
from tests.support.processes import process_alive


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchApi]:
    with running_api(tmp_path_factory.mktemp("svc"), "--runner", "process", "--max-slots", "4",
                     "--delete-delay", "0.2") as client:
        yield client


@pytest.fixture
def job_id(api: BatchApi, request: pytest.FixtureRequest) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:60]
    api.add_job({"id": name, "commonEnvironmentSettings": [{"name": "SHARED", "value": "from-job"},
                                                           {"name": "WHO", "value": "job"}]})
    return name


def test_task_output_exit_code_and_node_info(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "hello", "commandLine": "/bin/sh -c 'echo hello from $AZ_BATCH_TASK_ID; pwd'"})
    task = api.wait_task(job_id, "hello")
    info = task["executionInfo"]
    assert (info["exitCode"], info["result"], info["retryCount"], info["requeueCount"]) == (0, "success", 0, 0)
    assert "failureInfo" not in info and seconds(info["startTime"]) <= seconds(info["endTime"])
    node = task["nodeInfo"]
    assert (node["poolId"], node["nodeId"]) == ("local", "tvm-local-local-0")
    assert node["taskRootDirectory"] == f"workitems/{job_id}/job-1/hello"
    assert node["taskRootDirectoryUrl"].endswith(f"/pools/local/nodes/tvm-local-local-0/files/workitems/{job_id}/job-1/hello")
    stdout = api.file(job_id, "hello", "stdout.txt").splitlines()
    assert stdout[0] == "hello from hello"
    assert stdout[1] == str(api.service.data_dir / "node" / "workitems" / job_id / "job-1" / "hello" / "wd")


def test_command_line_is_not_run_by_a_shell(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "literal", "commandLine": "/bin/echo $AZ_BATCH_TASK_ID > x"})
    assert api.wait_task(job_id, "literal")["executionInfo"]["exitCode"] == 0
    assert api.file(job_id, "literal", "stdout.txt") == "$AZ_BATCH_TASK_ID > x\n"


def test_task_environment_setting_wins_over_the_job_common_setting(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "env", "commandLine": "/bin/sh -c 'echo $SHARED $WHO $AZ_BATCH_JOB_ID'",
                          "environmentSettings": [{"name": "WHO", "value": "task"}]})
    api.wait_task(job_id, "env")
    assert api.file(job_id, "env", "stdout.txt") == f"from-job task {job_id}\n"


def test_nonzero_exit_is_retried_up_to_max_task_retry_count(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "flaky", "commandLine": "/bin/sh -c 'echo run >> attempts.txt; exit 3'",
                          "constraints": {"maxTaskRetryCount": 2}})
    info = api.wait_task(job_id, "flaky")["executionInfo"]
    assert (info["exitCode"], info["result"], info["retryCount"]) == (3, "failure", 2)
    assert info["failureInfo"]["category"] == "usererror" and "lastRetryTime" in info
    assert api.file(job_id, "flaky", "wd/attempts.txt") == "run\nrun\nrun\n"


def test_unlimited_retries_run_until_success(api: BatchApi, job_id: str) -> None:
    script = "echo x >> n.txt; [ $(wc -l < n.txt) -ge 3 ]"
    api.add_task(job_id, {"id": "third-time", "commandLine": f"/bin/sh -c '{script}'",
                          "constraints": {"maxTaskRetryCount": -1}})
    info = api.wait_task(job_id, "third-time")["executionInfo"]
    assert (info["exitCode"], info["result"], info["retryCount"]) == (0, "success", 2)


def test_missing_program_is_a_pre_processing_failure_that_is_not_retried(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "missing", "commandLine": "no-such-program-anywhere",
                          "constraints": {"maxTaskRetryCount": 3}})
    info = api.wait_task(job_id, "missing")["executionInfo"]
    assert (info["result"], info["retryCount"], info["failureInfo"]["code"]) == (
        "failure", 0, "CommandProgramNotFound")
    assert "exitCode" not in info


def test_task_wall_clock_kills_the_task(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "slow", "commandLine": "/bin/sleep 30", "constraints": {"maxWallClockTime": "PT1S"}})
    info = api.wait_task(job_id, "slow", timeout=10)["executionInfo"]
    assert (info["result"], info["failureInfo"]["code"]) == ("failure", "MaxWallClockTimeExpiry")
    assert 0.9 <= seconds(info["endTime"]) - seconds(info["startTime"]) < 5


def test_http_resource_files_are_downloaded_into_the_working_directory(api: BatchApi, job_id: str,
                                                                      tmp_path: Path) -> None:
    (tmp_path / "input.txt").write_text("resource payload\n")
    with http_files(tmp_path) as url:
        api.add_task(job_id, {"id": "download", "commandLine": "/bin/cat data/input.txt",
                              "resourceFiles": [{"httpUrl": f"{url}/input.txt", "filePath": "data/input.txt"}]})
        assert api.wait_task(job_id, "download")["executionInfo"]["exitCode"] == 0
    assert api.file(job_id, "download", "stdout.txt") == "resource payload\n"
    assert api.file(job_id, "download", "wd/data/input.txt") == "resource payload\n"


def test_resource_file_path_escaping_the_task_is_refused(api: BatchApi, job_id: str) -> None:
    # Validation refuses it at create time; the runner refuses it again at run time (test_runner.py).
    body = {"id": "escape", "commandLine": "/bin/true",
            "resourceFiles": [{"httpUrl": "http://127.0.0.1:9/payload", "filePath": "../../escaped"}]}
    response = api.call("POST", f"/jobs/{job_id}/tasks", body)
    assert (response.status_code, response.json()["code"]) == (400, "InvalidPropertyValue")
    assert {"key": "PropertyName", "value": "resourceFiles[0].filePath"} in response.json()["values"]


def test_blob_sources_outputs_and_containers_fail_clearly(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "blob-source", "commandLine": "/bin/true", "resourceFiles": [
        {"storageContainerUrl": "https://acct.blob.core.windows.net/data?sig=secret", "filePath": "data"}]})
    api.add_task(job_id, {"id": "upload", "commandLine": "/bin/true", "outputFiles": [
        {"filePattern": "*.txt", "destination": {"container": {"containerUrl": "https://acct.blob.core.windows.net/o"}},
         "uploadOptions": {"uploadCondition": "taskcompletion"}}]})
    api.add_task(job_id, {"id": "container", "commandLine": "/bin/sh -c 'touch on-host'",
                          "containerSettings": {"imageName": "ubuntu:22.04"}})
    source = api.wait_task(job_id, "blob-source")["executionInfo"]
    assert (source["failureInfo"]["code"], "exitCode" in source) == ("BlobEndpointNotConfigured", False)
    assert "no blob endpoint configured" in source["failureInfo"]["message"]
    assert "secret" not in str(source)
    upload = api.wait_task(job_id, "upload")["executionInfo"]
    assert (upload["exitCode"], upload["result"], upload["failureInfo"]["code"]) == (0, "failure", "FileUploadFailed")
    container = api.wait_task(job_id, "container")["executionInfo"]
    assert (container["result"], container["failureInfo"]["code"]) == ("failure", "ContainerRuntimeUnavailable")
    files = api.call("GET", f"/jobs/{job_id}/tasks/container/files", expect=200, recursive="true").json()["value"]
    assert "wd/on-host" not in [entry["name"] for entry in files]


def test_terminating_a_running_task_kills_it(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "sleeper", "commandLine": "/bin/sh -c 'echo started; sleep 30; echo finished'"})
    api.wait_task(job_id, "sleeper", "running")
    api.call("POST", f"/jobs/{job_id}/tasks/sleeper/terminate", expect=204)
    info = api.wait_task(job_id, "sleeper", timeout=60)["executionInfo"]
    assert (info["result"], info["failureInfo"]["code"]) == ("failure", "TaskEnded")
    assert "finished" not in api.file(job_id, "sleeper", "stdout.txt")  # killed, not waited out


def test_reactivated_task_runs_again_with_retry_count_reset(api: BatchApi, job_id: str) -> None:
    script = "echo x >> n.txt; [ $(wc -l < n.txt) -ge 3 ]"
    api.add_task(job_id, {"id": "again", "commandLine": f"/bin/sh -c '{script}'",
                          "constraints": {"maxTaskRetryCount": 1}})
    first = api.wait_task(job_id, "again")["executionInfo"]
    assert (first["result"], first["retryCount"]) == ("failure", 1)
    api.call("POST", f"/jobs/{job_id}/tasks/again/reactivate", expect=204)
    second = api.wait_task(job_id, "again")["executionInfo"]
    assert (second["result"], second["exitCode"], second["retryCount"]) == ("success", 0, 0)


def test_deleting_a_running_task_kills_its_process(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "doomed", "commandLine": "/bin/sh -c 'echo $$ > pid.txt; exec sleep 30'"})
    api.wait_task(job_id, "doomed", "running")
    pid = int(wait_for(lambda: api.call("GET", f"/jobs/{job_id}/tasks/doomed/files/wd/pid.txt").text,
                       lambda text: text.strip().isdigit(), 10, "the pid file"))
    api.call("DELETE", f"/jobs/{job_id}/tasks/doomed", expect=200)
    wait_for(lambda: process_alive(pid), lambda alive: not alive, 10, f"process {pid} to end")
    assert not process_alive(pid)
    assert api.call("GET", f"/jobs/{job_id}/tasks/doomed").status_code == 404




def test_task_directory_is_removed_after_its_retention_time(api: BatchApi, job_id: str) -> None:
    api.add_task(job_id, {"id": "brief", "commandLine": "/bin/echo kept briefly",
                          "constraints": {"retentionTime": "PT1S"}})
    api.add_task(job_id, {"id": "kept", "commandLine": "/bin/echo kept"})
    api.wait_task(job_id, "brief")
    api.wait_task(job_id, "kept")
    wait_for(lambda: api.call("GET", f"/jobs/{job_id}/tasks/brief/files/stdout.txt").status_code,
             lambda status: status == 404, 10, "the retained files to go")
    assert api.file(job_id, "kept", "stdout.txt") == "kept\n"
