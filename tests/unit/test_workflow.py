"""The CI workflow lints clean against the GitHub workflow schema and wires each trigger to its make target."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "batch.yml"
LINTER = Path(sys.executable).parent / "check-jsonschema"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its vendored GitHub workflow schema (no network)."""
    return subprocess.run([str(LINTER), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    """The workflow as data; YAML 1.1 reads the bare key `on` as True."""
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def run_lines(job: dict[str, Any]) -> list[str]:
    """Every shell line the job's steps run."""
    return [line.strip() for step in job["steps"] for line in str(step.get("run", "")).splitlines()]


def test_workflow_lints_clean_with_the_github_workflow_schema() -> None:
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_linter_rejects_a_workflow_whose_job_lacks_runs_on(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("    runs-on: ubuntu-latest\n", "", 1))
    result = lint(broken)
    assert result.returncode == 1
    assert "Schema validation errors were encountered" in result.stdout + result.stderr


def test_triggers_are_pull_request_push_to_main_and_a_nightly_schedule(workflow: dict[Any, Any]) -> None:
    on = workflow["on"]
    assert {"pull_request", "push", "schedule"} <= set(on)
    assert on["push"]["branches"] == ["main"]
    (cron,) = [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert (day, month, weekday) == ("*", "*", "*") and hour.isdigit() and minute.isdigit()


@pytest.mark.parametrize(("job_name", "event", "target"), [
    ("preview", "pull_request", "make preview STACK=${{ matrix.stack }}"),
    ("up", "push", "make up STACK=${{ matrix.stack }}"),
    ("drift", "schedule", "make drift STACK=${{ matrix.stack }}"),
])
def test_each_job_runs_on_its_event_and_calls_its_make_target_per_stack(
        workflow: dict[Any, Any], job_name: str, event: str, target: str) -> None:
    job = workflow["jobs"][job_name]
    assert f"github.event_name == '{event}'" in job["if"]
    assert "dev" in job["strategy"]["matrix"]["stack"]
    assert any(line.startswith(target) for line in run_lines(job)), run_lines(job)


def test_pull_request_preview_is_posted_as_a_comment(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["preview"]
    assert job["permissions"]["pull-requests"] == "write"
    (post,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/github-script@")]
    assert "createComment" in post["with"]["script"] and "preview.txt" in post["with"]["script"]
    assert "tee preview.txt" in " ".join(run_lines(job))


def test_every_job_sets_up_python_311_and_go_and_caches_go_modules_and_build_cache(
        workflow: dict[Any, Any]) -> None:
    for name, job in workflow["jobs"].items():
        steps = {str(step.get("uses", "")).split("@")[0]: step for step in job["steps"] if "uses" in step}
        assert steps["actions/setup-python"]["with"]["python-version"] == "3.11", name
        assert steps["actions/setup-go"]["with"]["go-version-file"] == "toolchain/go.mod", name
        paths = steps["actions/cache"]["with"]["path"].split()
        assert {"~/go/pkg/mod", "~/.cache/go-build"} <= set(paths), name
