"""ProcessRunner and InstantRunner, driven directly: real processes, real files, a real local HTTP server."""
from __future__ import annotations

import asyncio
import functools
import http.server
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch_service.runner.process import (
    InstantRunner,
    MultiInstanceContext,
    NodeContext,
    ProcessRunner,
    TaskLaunch,
    TaskOutcome,
    container_argv,
    user_environment,
)
from tests.support.processes import process_alive


def launch(tmp_path: Path, command_line: str, task_id: str = "t1", **fields: Any) -> TaskLaunch:
    root = tmp_path / "node"
    node = NodeContext(root, "local", "tvm-local-local-0", account_name="devbatchaccount")
    return TaskLaunch("job1", task_id, "task", command_line, root / "workitems" / "job1" / "job-1" / task_id,
                      node, **fields)


def run(task: TaskLaunch, cancel_after: float | None = None, runner: Any = None) -> TaskOutcome:
    async def go(runner: Any) -> TaskOutcome:
        cancel = asyncio.Event()
        if cancel_after is not None:
            asyncio.get_running_loop().call_later(cancel_after, cancel.set)
        return await runner.run(task, cancel)
    if runner is not None:
        return asyncio.run(go(runner))
    own = ProcessRunner()
    try:
        return asyncio.run(go(own))
    finally:
        own.close()


def read(task: TaskLaunch, name: str) -> str:
    return (task.task_dir / name).read_text()


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_command_line_runs_without_a_shell_in_the_working_directory(tmp_path: Path) -> None:
    task = launch(tmp_path, "echo $HOME 'two words'")
    outcome = run(task)
    assert (outcome.exit_code, outcome.failure_kind, outcome.failure_info) == (0, "none", None)
    assert read(task, "stdout.txt") == "$HOME two words\n"
    assert task.working_dir.is_dir() and read(task, "stderr.txt") == ""
    assert outcome.start_time <= outcome.end_time


def test_shell_asked_for_explicitly_expands_batch_variables(tmp_path: Path) -> None:
    script = ('echo "$AZ_BATCH_JOB_ID $AZ_BATCH_TASK_ID $AZ_BATCH_POOL_ID $AZ_BATCH_NODE_ID '
              '$AZ_BATCH_NODE_IS_DEDICATED $AZ_BATCH_ACCOUNT_NAME"; pwd; echo "$AZ_BATCH_TASK_DIR"; '
              'echo "$AZ_BATCH_NODE_SHARED_DIR $AZ_BATCH_NODE_STARTUP_DIR"; echo err >&2')
    task = launch(tmp_path, f"/bin/sh -c '{script}'")
    assert run(task).exit_code == 0
    root = task.node.root_dir
    assert read(task, "stdout.txt").splitlines() == [
        "job1 t1 local tvm-local-local-0 true devbatchaccount", str(task.working_dir), str(task.task_dir),
        f"{root / 'shared'} {root / 'startup'}"]
    assert read(task, "stderr.txt") == "err\n"
    assert (root / "shared").is_dir() and (root / "startup").is_dir()


def test_task_environment_setting_wins_over_the_job_common_setting(tmp_path: Path) -> None:
    env = user_environment([{"name": "A", "value": "job"}, {"name": "B", "value": "job"}],
                           [{"name": "B", "value": "task"}])
    task = launch(tmp_path, "/bin/sh -c 'echo $A $B'", env=env)
    assert run(task).exit_code == 0
    assert read(task, "stdout.txt") == "job task\n"


def test_service_environment_and_account_key_do_not_leak_into_tasks(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_SERVICE_ACCOUNT_KEY", "s3cret")
    task = launch(tmp_path, "/usr/bin/env")
    assert run(task).exit_code == 0
    assert "s3cret" not in read(task, "stdout.txt")
    assert "PATH=" in read(task, "stdout.txt")


def test_job_preparation_and_multi_instance_variables_are_set(tmp_path: Path) -> None:
    prep = tmp_path / "node" / "workitems" / "job1" / "job-1" / "jobpreparation"
    task = launch(tmp_path, "/usr/bin/env", job_prep_dir=prep,
                  multi_instance=MultiInstanceContext(instance_count=3, is_primary=True))
    assert run(task).exit_code == 0
    env = dict(line.split("=", 1) for line in read(task, "stdout.txt").splitlines())
    assert env["AZ_BATCH_JOB_PREP_DIR"] == str(prep)
    assert env["AZ_BATCH_JOB_PREP_WORKING_DIR"] == str(prep / "wd")
    assert env["AZ_BATCH_HOST_LIST"] == "127.0.0.1,127.0.0.1,127.0.0.1"
    assert env["AZ_BATCH_IS_CURRENT_NODE_MASTER"] == "true"
    assert env["AZ_BATCH_TASK_SHARED_DIR"] == str(task.task_dir)
    assert env["CCP_NODES"] == "3 127.0.0.1 1 127.0.0.1 1 127.0.0.1 1"


def test_nonzero_exit_is_a_failure_with_the_exit_code(tmp_path: Path) -> None:
    outcome = run(launch(tmp_path, "/bin/sh -c 'exit 7'"))
    assert (outcome.exit_code, outcome.failure_kind) == (7, "exit")
    assert outcome.failure_info is not None
    assert (outcome.failure_info["category"], outcome.failure_info["code"]) == ("usererror", "FailureExitCode")


def test_missing_program_is_a_pre_processing_failure_without_exit_code(tmp_path: Path) -> None:
    outcome = run(launch(tmp_path, "no-such-program-here --flag"))
    assert (outcome.exit_code, outcome.failure_kind) == (None, "preprocessing")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "CommandProgramNotFound"


def test_unbalanced_quotes_are_a_pre_processing_failure(tmp_path: Path) -> None:
    outcome = run(launch(tmp_path, "/bin/sh -c 'echo"))
    assert (outcome.failure_kind, outcome.failure_info and outcome.failure_info["code"]) == (
        "preprocessing", "CommandLineInvalid")


def test_wall_clock_kills_the_task_and_its_children(tmp_path: Path) -> None:
    task = launch(tmp_path, "/bin/sh -c 'sleep 30 & echo $! > child.pid; wait; echo done > finished.txt'",
                  max_wall_clock_seconds=0.5)
    outcome = run(task)
    assert not (task.working_dir / "finished.txt").exists()  # ended by the limit, not waited out
    assert (outcome.exit_code, outcome.failure_kind) == (None, "timeout")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "MaxWallClockTimeExpiry"
    child = int((task.working_dir / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while process_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(child)


def test_cancel_event_ends_a_running_task(tmp_path: Path) -> None:
    task = launch(tmp_path, "/bin/sh -c 'sleep 30; echo done > finished.txt'")
    outcome = run(task, cancel_after=0.3)
    assert not (task.working_dir / "finished.txt").exists()  # ended by the cancel, not waited out
    assert (outcome.exit_code, outcome.failure_kind) == (None, "cancelled")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "TaskEnded"


def test_http_resource_files_are_downloaded_before_the_command_with_their_mode(
        tmp_path: Path, http_root: tuple[str, Path]) -> None:
    url, served = http_root
    (served / "input.txt").write_text("payload\n")
    (served / "tool.sh").write_text("#!/bin/sh\necho tool ran\n")
    files = [{"httpUrl": f"{url}/input.txt?sig=secret", "filePath": "data/input.txt"},
             {"httpUrl": f"{url}/tool.sh", "filePath": "tool.sh", "fileMode": "0755"}]
    task = launch(tmp_path, "/bin/sh -c 'cat data/input.txt && ./tool.sh'", resource_files=files)
    assert run(task).exit_code == 0
    assert read(task, "stdout.txt") == "payload\ntool ran\n"
    assert stat.S_IMODE((task.working_dir / "data" / "input.txt").stat().st_mode) == 0o770
    assert stat.S_IMODE((task.working_dir / "tool.sh").stat().st_mode) == 0o755


def test_common_resource_files_go_to_the_task_root(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    url, served = http_root
    (served / "hosts").write_text("h\n")
    task = launch(tmp_path, "/bin/cat ../hosts", common_resource_files=[{"httpUrl": f"{url}/hosts",
                                                                         "filePath": "hosts"}])
    assert run(task).exit_code == 0
    assert read(task, "stdout.txt") == "h\n"


def test_failed_download_is_a_pre_processing_failure_without_the_sas(tmp_path: Path,
                                                                      http_root: tuple[str, Path]) -> None:
    url, _ = http_root
    task = launch(tmp_path, "/bin/sh -c 'touch ran'",
                  resource_files=[{"httpUrl": f"{url}/missing?sig=topsecret", "filePath": "x"}])
    outcome = run(task)
    assert (outcome.exit_code, outcome.failure_kind) == (None, "preprocessing")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "ResourceFileDownloadFailed"
    assert "topsecret" not in repr(outcome.failure_info) and "404" in outcome.failure_info["message"]
    assert not (task.working_dir / "ran").exists()


@pytest.mark.parametrize("file_path", ["../escape.txt", "/tmp/absolute.txt", "a/../../b"])
def test_resource_paths_escaping_the_working_directory_are_refused(tmp_path: Path, file_path: str) -> None:
    task = launch(tmp_path, "/bin/true", resource_files=[{"httpUrl": "http://127.0.0.1:9/x", "filePath": file_path}])
    outcome = run(task)
    assert outcome.failure_kind == "preprocessing"
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "InvalidResourceFilePath"


def test_container_resource_sources_fail_for_want_of_a_blob_endpoint(tmp_path: Path) -> None:
    spec = {"storageContainerUrl": "https://acct.blob.core.windows.net/c?sv=x&sig=topsecret", "filePath": "in"}
    outcome = run(launch(tmp_path, "/bin/true", resource_files=[spec]))
    assert (outcome.exit_code, outcome.failure_kind) == (None, "preprocessing")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "BlobEndpointNotConfigured"
    assert "no blob endpoint configured" in outcome.failure_info["message"]
    assert "topsecret" not in repr(outcome.failure_info)


def test_output_files_fail_the_upload_after_the_command_ran(tmp_path: Path) -> None:
    outputs = [{"filePattern": "*.txt", "destination": {"container": {"containerUrl": "https://a/b?sig=s"}},
                "uploadOptions": {"uploadCondition": "taskcompletion"}}]
    task = launch(tmp_path, "/bin/sh -c 'echo out > result.txt'", output_files=outputs)
    outcome = run(task)
    assert (outcome.exit_code, outcome.failure_kind) == (0, "fileupload")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "FileUploadFailed"
    assert "no blob endpoint configured" in read(task, "fileuploaderr.txt")
    assert (task.working_dir / "result.txt").read_text() == "out\n"


def test_output_files_whose_condition_does_not_apply_are_not_uploaded(tmp_path: Path) -> None:
    outputs = [{"filePattern": "*.txt", "destination": {"container": {"containerUrl": "https://a/b"}},
                "uploadOptions": {"uploadCondition": "taskfailure"}}]
    outcome = run(launch(tmp_path, "/bin/true", output_files=outputs))
    assert (outcome.exit_code, outcome.failure_kind) == (0, "none")


def test_container_task_without_a_runtime_fails_and_never_runs_on_the_host(tmp_path: Path) -> None:
    task = launch(tmp_path, "/bin/sh -c 'touch ran-on-host'", container_settings={"imageName": "ubuntu:22.04"})
    runner = ProcessRunner()
    try:
        if asyncio.run(runner.container_runtime_available()):
            pytest.skip("a container runtime works on this machine")
        outcome = run(task, runner=runner)
    finally:
        runner.close()
    assert (outcome.exit_code, outcome.failure_kind) == (None, "preprocessing")
    assert outcome.failure_info is not None and outcome.failure_info["code"] == "ContainerRuntimeUnavailable"
    assert not (task.working_dir / "ran-on-host").exists()


def test_retry_attempt_starts_with_fresh_output_files(tmp_path: Path) -> None:
    task = launch(tmp_path, "/bin/echo attempt")
    run(task)
    run(task)
    assert read(task, "stdout.txt") == "attempt\n"


@pytest.mark.parametrize(("command_line", "code"), [
    ("/bin/true", 0), ("/bin/sh -c 'exit 3'", 3), ("cmd /c exit 12", 12), ("/bin/sh -c 'echo exit 2; true'", 0)])
def test_instant_runner_takes_the_exit_code_from_the_command_line(tmp_path: Path, command_line: str,
                                                                  code: int) -> None:
    task = launch(tmp_path, command_line)
    outcome = run(task, runner=InstantRunner())
    assert outcome.exit_code == code
    assert outcome.failure_kind == ("none" if code == 0 else "exit")
    assert (task.task_dir / "stdout.txt").exists()


def test_instant_runner_simulated_sleep_honours_cancel_and_wall_clock(tmp_path: Path) -> None:
    cancelled = run(launch(tmp_path, "/bin/sh -c 'sleep 30'"), cancel_after=0.1, runner=InstantRunner())
    assert cancelled.failure_kind == "cancelled"
    timed_out = run(launch(tmp_path, "sleep 30", max_wall_clock_seconds=0.1), runner=InstantRunner())
    assert timed_out.failure_kind == "timeout"


def test_container_command_mounts_the_node_and_passes_variables_by_name_only(tmp_path: Path) -> None:
    task = launch(tmp_path, "python run.py", container_settings={"imageName": "python:3.11",
                                                                "containerRunOptions": "--cpus 1"})
    argv = container_argv(task, ["python", "run.py"], {"PATH": "/bin", "TOKEN": "s3cret"})
    root = str(task.node.root_dir)
    assert argv[:6] == ["docker", "run", "--rm", "--init", "-v", f"{root}:{root}"]
    assert argv[6:8] == ["-w", str(task.working_dir)]
    assert argv[8:] == ["-e", "TOKEN", "--cpus", "1", "python:3.11", "python", "run.py"]
    assert "s3cret" not in " ".join(argv)
