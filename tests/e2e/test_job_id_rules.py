"""The cross-resource rules (dependsOn needs usesTaskDependencies, a jobAction needs onTaskFailure
performexitoptionsjobaction) for tasks that name their job by id only: checked at preview against the live
job, read once per job per command; a job created in the same `up` refuses them naming field and rule, and
leaves no task behind."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi import automation as auto

from providers import BatchJob, BatchTask, BatchTaskCollection
from tests.support.service import RunningService
from tests.support.stacks import StackRun, new_stack

pytestmark = pytest.mark.e2e

CATALOG_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs.json"
JOB_ID_CASES = [case for case in json.loads(CATALOG_PATH.read_text()) if "job_id" in case.get("wirings", [])]


def requests_so_far(service: RunningService) -> int:
    """API requests the service has received (its test-only counter)."""
    count: int = httpx.get(f"{service.endpoint}/_local/stats", timeout=5).json()["requests"]
    return count


def refusal_line(text: str, name: str, case: dict[str, Any]) -> bool:
    """True when one engine line names the resource, the field path and the rule."""
    wanted = (f"resource '{name}' has a problem", f"spec.{case['path']}: ", f"[rule: {case['rule']}]")
    return any(all(part in line for part in wanted) for line in text.splitlines())


def test_the_catalog_has_job_id_cases_for_both_rules() -> None:
    rules = {case["rule"] for case in JOB_ID_CASES}
    assert rules == {"cross-field:depends-on-needs-task-dependencies", "cross-field:job-action-needs-exit-options"}


@pytest.mark.parametrize("case", JOB_ID_CASES, ids=[case["name"] for case in JOB_ID_CASES])
def test_a_task_named_by_job_id_is_checked_against_the_live_job_at_preview(
        tmp_path: Path, service: RunningService, case: dict[str, Any]) -> None:
    def job_only() -> None:
        BatchJob("job", spec=case["job"])

    def by_output() -> None:
        job = BatchJob("job", spec=case["job"])
        BatchTask("by-output", job_id=job.job_id, spec=case["spec"])

    def by_literal() -> None:
        BatchJob("job", spec=case["job"])
        BatchTask("by-literal", job_id=case["job"]["id"], spec=case["spec"])

    run = new_stack(tmp_path, service, job_only)
    run.up()
    for name, program in (("by-output", by_output), ("by-literal", by_literal)):
        run.output.clear()
        with pytest.raises(auto.errors.CommandError) as refused:
            run.preview(program)
        assert refusal_line(f"{refused.value}\n{run.text}", name, case), run.text[-1500:]
    run.stack.destroy(color="never")


def test_many_tasks_of_one_job_read_it_once_per_preview(tmp_path: Path, service: RunningService, sdk: Any) -> None:
    from azure.batch import models

    sdk.create_job(models.BatchJobCreateOptions(id="rules-once", pool_info=models.BatchPoolInfo(pool_id="local")))

    def program() -> None:
        for i in range(6):
            BatchTask(f"t{i}", job_id="rules-once", spec={"id": f"t{i}", "commandLine": "/bin/true"})

    run = new_stack(tmp_path, service, program)
    before = requests_so_far(service)
    preview = run.preview()
    assert preview.change_summary.get("create") == 7  # and the stack
    # Six new tasks: nothing to diff, so the preview's only request is the one read of their job's rules.
    assert requests_so_far(service) - before == 1
    sdk.begin_delete_job("rules-once", polling_interval=0.2).result()


def _same_up_program(job_id: str, kind: str) -> Callable[[], None]:
    def program() -> None:
        job = BatchJob("job", spec={"id": job_id, "poolInfo": {"poolId": "local"}})
        if kind == "task":
            BatchTask("tasks", job_id=job.job_id, spec={"id": "b", "commandLine": "/bin/true",
                                                        "dependsOn": {"taskIds": ["a"]}})
        else:
            BatchTaskCollection("tasks", job_id=job.job_id, tasks=[
                {"id": "a", "commandLine": "/bin/true"},
                {"id": "b", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["a"]}}])
    return program


@pytest.mark.parametrize("kind", ["task", "collection"])
def test_a_job_created_in_the_same_up_refuses_naming_field_and_rule_and_leaves_no_task(
        tmp_path: Path, service: RunningService, sdk: Any, kind: str) -> None:
    job_id = f"rules-same-up-{kind}"
    run: StackRun = new_stack(tmp_path, service, _same_up_program(job_id, kind))
    preview = run.preview()  # the job does not exist yet: nothing to check against
    assert preview.change_summary.get("create") == 3  # the job, the tasks and the stack
    with pytest.raises(auto.errors.CommandError) as refused:
        run.up()
    text = f"{refused.value}\n{run.text}"
    field = "spec.dependsOn" if kind == "task" else "tasks[1].dependsOn"
    rule = "[rule: cross-field:depends-on-needs-task-dependencies]"
    assert any("'tasks'" in line and field in line and rule in line for line in text.splitlines()), text[-2000:]
    assert sdk.get_job(job_id).id == job_id
    assert list(sdk.list_tasks(job_id)) == []
    assert _state_names(run) == {"job"}  # the tasks were not recorded as created
    run.stack.destroy(color="never")


def _state_names(run: StackRun) -> set[str]:
    resources = run.stack.export_stack().deployment.get("resources", [])
    return {r["urn"].rsplit("::", 1)[-1] for r in resources if r.get("type", "").startswith("pulumi-python:")}
