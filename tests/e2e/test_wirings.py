"""The three ways a program names a task's job, through the real engine and the local service: `job=job`,
`job_id=job.job_id` (an Output) and `job_id="literal"` (the job managed by another stack). For BatchTask and
BatchTaskCollection alike: create, no-op preview, the job updated in place, the job replaced, a task replaced,
out-of-band edits and deletes of job and task (shown by preview, repaired by up), destroy."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from azure.batch import models

from providers import BatchJob, BatchTask, BatchTaskCollection
from tests.support.plans import preview_plan, up_plan
from tests.support.service import RunningService
from tests.support.stacks import StackRun, new_stack

pytestmark = pytest.mark.e2e

WIRINGS = ("job", "output", "literal")
KINDS = ("task", "collection")


def job_spec(job_id: str, **changes: Any) -> dict[str, Any]:
    """A job on the service's always-present pool."""
    return {"id": job_id, "priority": 5, "poolInfo": {"poolId": "local"},
            "constraints": {"maxTaskRetryCount": 0}, **changes}


@dataclass
class Scenario:
    """One wiring and one resource kind: the programs, the stacks that run them, and what is live."""

    wiring: str
    kind: str
    job_id: str
    main: StackRun
    jobs: StackRun | None  # the stack that manages the job when the tasks name it by a literal id
    sdk: Any
    job_changes: dict[str, Any] = field(default_factory=dict)
    first_command: str = "/bin/echo one"

    @property
    def task_names(self) -> list[str]:
        """The Pulumi names of the task resources."""
        return ["t1", "t2"] if self.kind == "task" else ["tasks"]

    def task_bodies(self) -> list[dict[str, Any]]:
        """The two task create bodies."""
        return [{"id": "t1", "commandLine": self.first_command}, {"id": "t2", "commandLine": "/bin/true"}]

    def job_program(self) -> None:
        """The job alone (the literal wiring's other stack)."""
        BatchJob("job", spec=job_spec(self.job_id, **self.job_changes))

    def program(self) -> None:
        """The tasks, and the job too unless another stack manages it."""
        if self.wiring == "literal":
            wiring: dict[str, Any] = {"job_id": self.job_id}
        else:
            job = BatchJob("job", spec=job_spec(self.job_id, **self.job_changes))
            wiring = {"job": job} if self.wiring == "job" else {"job_id": job.job_id}
        bodies = self.task_bodies()
        if self.kind == "collection":
            BatchTaskCollection("tasks", tasks=bodies, **wiring)
        else:
            for body in bodies:
                BatchTask(body["id"], spec=body, **wiring)

    def step(self, job_op: str, task_op: str | dict[str, str]) -> None:
        """Preview (the job's stack first), check what it plans, up, and check the next preview is a no-op."""
        tasks = task_op if isinstance(task_op, dict) else dict.fromkeys(self.task_names, task_op)
        if self.jobs is not None:
            assert preview_plan(self.jobs, self.job_program) == {"job": job_op}
            up_plan(self.jobs, self.job_program)
            assert preview_plan(self.main, self.program) == tasks
        else:
            assert preview_plan(self.main, self.program) == {"job": job_op, **tasks}
        up_plan(self.main, self.program)
        self.assert_steady()

    def assert_steady(self) -> None:
        """Every stack previews without changes, and the live job and tasks are what the programs say."""
        for run, program in ((self.jobs, self.job_program), (self.main, self.program)):
            if run is not None:
                assert set(preview_plan(run, program).values()) == {"same"}
        live = {t.id: t for t in self.sdk.list_tasks(self.job_id)}
        assert {k: v.command_line for k, v in live.items()} == {"t1": self.first_command, "t2": "/bin/true"}
        assert self.sdk.get_job(self.job_id).priority == self.job_changes.get("priority", 5)

    def creation_times(self) -> dict[str, Any]:
        """When the job and each task were created (a replacement is newer)."""
        times = {t.id: t.creation_time for t in self.sdk.list_tasks(self.job_id)}
        return {"job": self.sdk.get_job(self.job_id).creation_time, **times}

    def destroy(self) -> None:
        """Destroy the tasks' stack, then the job's."""
        self.main.stack.destroy(color="never")
        if self.jobs is not None:
            assert self.sdk.get_job(self.job_id).id == self.job_id  # not this stack's job
            assert list(self.sdk.list_tasks(self.job_id)) == []
            self.jobs.stack.destroy(color="never")


def _scenario(tmp_path: Path, service: RunningService, sdk: Any, wiring: str, kind: str) -> Scenario:
    job_id = f"w-{wiring}-{kind}"
    jobs = new_stack(tmp_path / "jobs", service, lambda: None) if wiring == "literal" else None
    main = new_stack(tmp_path / "tasks", service, lambda: None)
    return Scenario(wiring, kind, job_id, main, jobs, sdk)


def _replaced_with_job(scenario: Scenario) -> str:
    # A collection named by a literal id cannot see its job's replacement coming; once the job is new, its
    # diff finds every task missing and adds them all again (an update of the collection).
    return "update" if scenario.wiring == "literal" and scenario.kind == "collection" else "replace"


def _one_task(scenario: Scenario, op: str) -> str | dict[str, str]:
    # t1 changed alone: a BatchTask per task shows it on t1; a collection updates its set.
    return {"t1": op, "t2": "same"} if scenario.kind == "task" else "update"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("wiring", WIRINGS)
def test_every_wiring_follows_its_job_through_updates_replaces_and_drift(
        tmp_path: Path, service: RunningService, sdk: Any, wiring: str, kind: str) -> None:
    s = _scenario(tmp_path, service, sdk, wiring, kind)
    s.step("create", "create")
    created = s.creation_times()

    s.job_changes = {"priority": 50}  # PATCH in place: the tasks are not touched
    s.step("update", "same")
    assert s.creation_times() == created

    s.job_changes = {"priority": 50, "usesTaskDependencies": True}  # replaces the job, and its tasks with it
    s.step("replace", _replaced_with_job(s))
    replaced = s.creation_times()
    assert all(replaced[name] > created[name] for name in ("job", "t1", "t2"))

    s.first_command = "/bin/echo two"  # one task replaced, under the same id
    s.step("same", _one_task(s, "replace"))
    after = s.creation_times()
    assert after["t1"] > replaced["t1"] and after["t2"] == replaced["t2"] and after["job"] == replaced["job"]

    sdk.update_job(s.job_id, models.BatchJobUpdateOptions(priority=-7))  # out-of-band edit of the job
    s.step("update", "same")

    sdk.replace_task(s.job_id, "t1", models.BatchTask(constraints=models.BatchTaskConstraints(max_task_retry_count=3)))
    s.step("same", _one_task(s, "update"))  # out-of-band edit of a task: constraints PUT back
    assert sdk.get_task(s.job_id, "t1").constraints.max_task_retry_count == 0

    sdk.delete_task(s.job_id, "t1")  # out-of-band delete of a task
    s.step("same", _one_task(s, "replace"))

    sdk.begin_delete_job(s.job_id, polling_interval=0.2).result()  # out-of-band delete of the job
    s.step("replace", _replaced_with_job(s))

    s.destroy()
    assert [j.id for j in sdk.list_jobs() if j.id == s.job_id and j.state != "deleting"] == []
