"""A restart loses nothing and requeues what was running; the instant runner does no work at all."""
from __future__ import annotations

from pathlib import Path

from tests.batch_service.test_scheduler_support import running_api

PROCESS = ("--runner", "process", "--max-slots", "2")


def test_restart_requeues_running_tasks_and_keeps_completed_ones(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    with running_api(data, *PROCESS) as api:
        api.add_job({"id": "j", "usesTaskDependencies": True})
        api.add_tasks("j", [
            {"id": "done", "commandLine": "/bin/echo finished before"},
            {"id": "interrupted", "commandLine": "/bin/sh -c 'echo run >> runs.txt; "
                                                 "[ $(wc -l < runs.txt) -ge 2 ] || exec sleep 30'"},
            {"id": "blocked", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["failed"]}},
            {"id": "failed", "commandLine": "/bin/sh -c 'exit 1'"},
        ])
        api.wait_task("j", "done")
        api.wait_task("j", "failed")
        api.wait_task("j", "interrupted", "running")
    with running_api(data, *PROCESS) as api:
        after = api.wait_task("j", "interrupted")
        assert (after["executionInfo"]["result"], after["executionInfo"]["requeueCount"]) == ("success", 1)
        assert api.file("j", "interrupted", "wd/runs.txt") == "run\nrun\n"
        done = api.task("j", "done")
        assert (done["state"], done["executionInfo"]["requeueCount"]) == ("completed", 0)
        assert api.file("j", "done", "stdout.txt") == "finished before\n"
        api.add_task("j", {"id": "after-done", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["done"]}})
        assert api.wait_task("j", "after-done")["executionInfo"]["result"] == "success"
        assert api.task("j", "blocked")["state"] == "active"


def test_instant_runner_completes_tasks_without_running_them(tmp_path: Path) -> None:
    with running_api(tmp_path / "svc", "--runner", "instant", "--max-slots", "8") as api:
        api.add_job({"id": "fast", "onAllTasksComplete": "noaction"})
        api.add_tasks("fast", [{"id": f"t{n}", "commandLine": f"/bin/sh -c 'touch ran; exit {n % 3}'"}
                               for n in range(300)])
        tasks = api.wait_tasks("fast")
        assert [task["executionInfo"]["exitCode"] for task in tasks] == [n % 3 for n in range(300)]
        files = api.call("GET", "/jobs/fast/tasks/t1/files", expect=200, recursive="true").json()["value"]
        assert "wd/ran" not in [entry["name"] for entry in files]
        api.add_task("fast", {"id": "held", "commandLine": "/bin/sleep 60"})
        api.wait_task("fast", "held", "running")
        api.call("POST", "/jobs/fast/tasks/held/terminate", expect=204)
        assert api.wait_task("fast", "held")["executionInfo"]["failureInfo"]["code"] == "TaskEnded"
