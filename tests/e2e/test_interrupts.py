"""Interruptions: kill -9 of the service mid-run, and Ctrl-C during `pulumi up`."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.batch_service.test_scheduler_support import BatchApi, wait_for
from tests.support.processes import ProcStat, orphans
from tests.support.service import start_service

pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_kill_9_of_the_service_loses_nothing_and_requeues_running_tasks(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    with start_service(data) as service:
        api = BatchApi(service)
        api.add_job({"id": "k9", "poolInfo": {"poolId": "local"}})
        api.add_tasks("k9", [
            {"id": "finished", "commandLine": "/bin/echo done"},
            {"id": "running", "commandLine": "/bin/sh -c 'echo run >> runs.txt; "
                                             "[ $(wc -l < runs.txt) -ge 2 ] || exec sleep 30'"},
        ])
        api.wait_task("k9", "finished")
        wait_for(lambda: api.call("GET", "/jobs/k9/tasks/running/files/wd/runs.txt"),
                 lambda response: response.status_code == 200 and response.text == "run\n", 20, "the first run")
        before = {t["id"]: t["eTag"] for t in api.tasks("k9")}
        api.close()
        service.process.kill()  # SIGKILL: no shutdown code runs
        service.process.wait(10)
        # The killed service's task process is an orphan now; a real node would have died with it.
        subprocess.run(["pkill", "-f", "exec sleep 30"], check=False)
    with start_service(data) as service:
        api = BatchApi(service)
        after = api.wait_task("k9", "running")
        assert (after["executionInfo"]["result"], after["executionInfo"]["requeueCount"]) == ("success", 1)
        assert api.task("k9", "finished")["eTag"] == before["finished"]
        assert api.file("k9", "finished", "stdout.txt") == "done\n"
        api.close()


INTERRUPTED_UP = """
import sys, json
from pathlib import Path
from providers import BatchJob, BatchTask
from tests.support.stacks import new_stack
from tests.support.service import RunningService

info = json.loads(sys.argv[2])
service = RunningService(info["endpoint"], info["accountName"], info["accountKey"], Path(sys.argv[1]), None)

def program():
    job = BatchJob("job", spec={"id": "ctrl-c", "poolInfo": {"poolId": "local"}})
    for n in range(40):
        BatchTask(f"t{n}", job=job, spec={"id": f"t{n}", "commandLine": "/bin/sleep 1"},
                  wait_for_completion={"timeout": "PT1M"})

run = new_stack(Path(sys.argv[1]), service, program, name="test-ctrl-c")
print("stack", run.stack.name, flush=True)
run.up() if sys.argv[3] == "up" else None
"""


def _driver(tmp: Path, service: Any, mode: str) -> subprocess.Popen[str]:
    info = json.dumps({"endpoint": service.endpoint, "accountName": service.account_name,
                       "accountKey": service.account_key})
    return subprocess.Popen([sys.executable, "-c", INTERRUPTED_UP, str(tmp), info, mode], cwd=PROJECT_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_ctrl_c_during_up_leaves_a_state_the_next_up_repairs(tmp_path: Path, service: Any, sdk: Any) -> None:
    driver = _driver(tmp_path, service, "up")
    # The interrupt must land mid-run: sent while a task of this `up` is running.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _running(sdk):
        time.sleep(0.1)
    assert _running(sdk), "no task of the up was seen running"
    os.killpg(driver.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    driver.communicate(timeout=60)
    assert driver.returncode != 0
    # The driver gives its engine 0.25 s after Ctrl-C (subprocess's own rule), so the engine may still be
    # cancelling, its state not yet written: wait for it as a user would see it finish. Then no provider host
    # may be left serving nobody (a host exits when its engine is gone: sdk_fixes.install_engine_watch).
    deadline = time.monotonic() + 60
    while orphans(_is_engine) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert orphans(_is_engine) == []
    deadline = time.monotonic() + 30
    while orphans(_is_provider_host) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = orphans(_is_provider_host)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
    # The engine died with the driver and left its lock: opening the stack again clears a lock whose engine
    # process is gone (deploy/stacks.py), the local equivalent of `pulumi cancel`.

    from providers import BatchJob, BatchTask
    from tests.support.stacks import StackRun, new_stack

    def program() -> None:
        job = BatchJob("job", spec={"id": "ctrl-c", "poolInfo": {"poolId": "local"}})
        for n in range(40):
            BatchTask(f"t{n}", job=job, spec={"id": f"t{n}", "commandLine": "/bin/sleep 1"},
                      wait_for_completion={"timeout": "PT1M"})

    run: StackRun = new_stack(tmp_path, service, program, name="test-ctrl-c")
    up = run.up()
    assert up.summary.result == "succeeded"
    # Resources the interrupted run created are in the state already (or adopted as identical): not recreated;
    # and it did not finish: the tasks it was still waiting for are taken on now.
    assert 1 <= up.summary.resource_changes.get("create", 0) < 42, up.summary.resource_changes
    assert sorted(t.id for t in sdk.list_tasks("ctrl-c")) == sorted(f"t{n}" for n in range(40))
    assert set(run.preview(expect_no_changes=True).change_summary) == {"same"}
    run.stack.destroy(color="never")


def _is_engine(proc: ProcStat, cmdline: bytes) -> bool:
    return proc.command == "pulumi"


def _is_provider_host(proc: ProcStat, cmdline: bytes) -> bool:
    # The SDK's host and its plugin script, or a pre-started host and its handoff client (providers/warm_host.py).
    return any(name in cmdline for name in (b"pulumi.dynamic", b"pulumi-resource-pulumi-python",
                                            b"providers.warm_host", b"host_handoff.py"))


def _running(sdk: Any) -> list[str]:
    if not any(job.id == "ctrl-c" for job in sdk.list_jobs()):
        return []
    return [task.id for task in sdk.list_tasks("ctrl-c") if task.state == "running"]


def test_a_sidecar_torn_by_a_killed_engine_is_repaired_when_the_stack_is_opened_again(
        tmp_path: Path, service: Any) -> None:
    import pulumi

    from tests.support.stacks import new_stack

    def program() -> None:
        pulumi.export("answer", 42)

    run = new_stack(tmp_path, service, program, name="test-torn")
    run.up()
    stacks_dir = tmp_path / "state" / ".pulumi" / "stacks"
    (sidecar,) = stacks_dir.glob("*/test-torn.json.attrs")
    sidecar.write_text("")  # what an engine killed inside fileblob's setAttrs leaves behind
    with pytest.raises(Exception, match="failed to load checkpoint: EOF"):
        run.preview()

    # The engine that died held the stack's lock: opening the stack again finds it stale and repairs.
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    lock_dir = tmp_path / "state" / ".pulumi" / "locks" / "organization" / "batch-as-code" / "test-torn"
    lock_dir.mkdir(parents=True, exist_ok=True)
    (lock_dir / "0d5c2a1e-dead-engine.json").write_text(json.dumps(
        {"pid": dead_pid.pid, "username": "test", "hostname": socket.gethostname(),
         "timestamp": "2026-11-23T00:00:00Z"}))

    reopened = new_stack(tmp_path, service, program, name="test-torn")
    assert reopened.preview(expect_no_changes=True).change_summary == {"same": 1}
    assert not sidecar.exists() or json.loads(sidecar.read_text())
    assert not list(lock_dir.glob("*dead-engine*"))
