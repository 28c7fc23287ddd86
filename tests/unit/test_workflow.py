"""The CI workflow lints clean against the GitHub workflow schema and runs the plain `pulumi` commands per stack."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "batch.yml"
ACTIVATE = PROJECT_DIR / "toolchain" / "activate"
LINTER = Path(sys.executable).parent / "check-jsonschema"
STACK = "${{ matrix.stack }}"
STACK_JOBS = ("preview", "up", "drift")
SECRET_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY")
# actionlint, the GitHub Actions linter, run from the Go module proxy at a pinned version (its checks go beyond
# the schema: expressions, contexts, job needs, shell scripts).
ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
LANGUAGE_HOST_FILES = ("toolchain/langhost/**", "toolchain/pulumi-language-python",
                       "toolchain/pulumi-resource-pulumi-python")


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


def step_lines(step: dict[str, Any]) -> list[str]:
    """The shell lines one step runs, `&&` chains split into their commands."""
    text = str(step.get("run", "")).replace("&&", "\n")
    return [line.strip() for line in text.splitlines() if line.strip() not in ("", "{", "}")]


def run_lines(job: dict[str, Any]) -> list[str]:
    """Every shell line the job's steps run."""
    return [line for step in job["steps"] for line in step_lines(step)]


def step_running(job: dict[str, Any], command: str) -> tuple[int, dict[str, Any]]:
    """The index and the step of the one step that runs `command` (a line starting with it)."""
    found = [(index, step) for index, step in enumerate(job["steps"])
             if any(line.startswith(command) for line in step_lines(step))]
    assert len(found) == 1, (command, [step.get("name") for _, step in found], run_lines(job))
    return found[0]


def test_workflow_lints_clean_with_the_github_workflow_schema() -> None:
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("go") is None:
        pytest.skip("Go is not on PATH (the toolchain build needs it too)")
    return subprocess.run(["go", "run", ACTIONLINT, "-no-color", str(path)], capture_output=True, text=True,
                          timeout=900, check=False, env={**os.environ, "GOFLAGS": "-mod=mod"})


def test_workflow_lints_clean_with_actionlint() -> None:
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_workflow_with_an_unknown_context(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ matrix.stack }}", "${{ matrx.stack }}", 1))
    result = actionlint(broken)
    assert result.returncode == 1
    assert "undefined variable \"matrx\"" in result.stdout, result.stdout


def test_linter_rejects_a_workflow_whose_job_lacks_runs_on(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("    runs-on: ubuntu-latest\n", "", 1))
    result = lint(broken)
    assert result.returncode == 1
    assert "Schema validation errors were encountered" in result.stdout + result.stderr


def test_triggers_are_pull_request_push_to_main_a_nightly_schedule_and_manual(workflow: dict[Any, Any]) -> None:
    on = workflow["on"]
    assert {"pull_request", "push", "schedule", "workflow_dispatch"} <= set(on)
    assert on["push"]["branches"] == ["main"]
    (cron,) = [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert (day, month, weekday) == ("*", "*", "*") and hour.isdigit() and minute.isdigit()


def test_pull_requests_run_make_test(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["test"]
    assert "github.event_name == 'pull_request'" in job["if"]
    assert "make test" in run_lines(job)
    assert "make lint" in run_lines(job)


@pytest.mark.parametrize(("job_name", "events", "commands"), [
    ("preview", ["pull_request"], [f"pulumi preview --diff --stack {STACK} --policy-pack policies"]),
    ("up", ["push"], [f"pulumi up --yes --stack {STACK} --policy-pack policies"]),
    ("drift", ["schedule", "workflow_dispatch"], [f"pulumi preview --refresh --expect-no-changes --stack {STACK}"]),
])
def test_each_job_runs_on_its_event_and_its_pulumi_command_per_stack_after_the_setup(
        workflow: dict[Any, Any], job_name: str, events: list[str], commands: list[str]) -> None:
    job = workflow["jobs"][job_name]
    for event in events:
        assert f"github.event_name == '{event}'" in job["if"]
    assert "dev" in job["strategy"]["matrix"]["stack"]
    install, _ = step_running(job, "make install toolchain")
    service, service_step = step_running(job, "make service")
    assert service_step["if"] == "matrix.stack == 'dev'"
    select, select_step = step_running(job, f"pulumi stack select --create {STACK}")
    assert install < service < select
    lines = step_lines(select_step)
    assert lines.index("source toolchain/activate") < lines.index(f"pulumi stack select --create {STACK}"), lines
    for command in commands:
        index, step = step_running(job, command)
        assert select <= index
        lines = step_lines(step)
        # The engine, backend and passphrase come from toolchain/activate, sourced before the command.
        assert lines.index("source toolchain/activate") < lines.index(command), lines
    assert not any("python -m deploy" in line or re.match(r"make (up|preview|drift)\b", line)
                   for line in run_lines(job)), run_lines(job)


def test_pull_request_preview_and_merge_up_run_the_policy_pack_that_ships_in_the_repository(
        workflow: dict[Any, Any]) -> None:
    pack = PROJECT_DIR / "policies"
    assert (pack / "PulumiPolicy.yaml").is_file() and (pack / "__main__.py").is_file()
    for name, command in (("preview", "pulumi preview"), ("up", "pulumi up")):
        (line,) = [line for line in run_lines(workflow["jobs"][name]) if line.startswith(command)]
        assert line.split()[-2:] == ["--policy-pack", "policies"], line
    # The nightly drift gate compares live with the program only; policy was enforced when it was merged.
    assert not any("--policy-pack" in line for line in run_lines(workflow["jobs"]["drift"]))


def test_up_runs_only_for_main_and_pull_requests_never_change_a_stack(workflow: dict[Any, Any]) -> None:
    assert "github.ref == 'refs/heads/main'" in workflow["jobs"]["up"]["if"]
    for name in ("test", "preview"):
        lines = run_lines(workflow["jobs"][name])
        assert not any(re.match(r"pulumi (up|destroy|refresh)\b", line) for line in lines), (name, lines)


def test_drift_brings_the_dev_stack_up_before_the_no_changes_gate(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["drift"]
    up, up_step = step_running(job, f"pulumi up --yes --stack {STACK}")
    gate, gate_step = step_running(job, f"pulumi preview --refresh --expect-no-changes --stack {STACK}")
    assert up < gate
    assert up_step["if"] == "matrix.stack == 'dev'"
    assert "if" not in gate_step


def test_pull_request_preview_is_posted_as_a_comment_and_fails_the_job(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["preview"]
    assert job["permissions"]["pull-requests"] == "write"
    _, preview = step_running(job, f"pulumi preview --diff --stack {STACK} --policy-pack policies")
    assert "| tee preview.txt" in preview["run"]
    assert 'exit_code=${PIPESTATUS[0]}' in preview["run"]
    (post,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/github-script@")]
    script = post["with"]["script"]
    for word in ("createComment", "updateComment", "listComments", "readFileSync('preview.txt'", "batch-preview:"):
        assert word in script, word
    assert post["if"].startswith("always()")
    assert post["env"]["EXIT_CODE"] == f"${{{{ steps.{preview['id']}.outputs.exit_code }}}}"
    (fail,) = [step for step in job["steps"] if step.get("run") == "exit 1"]
    assert fail["if"] == f"steps.{preview['id']}.outputs.exit_code != '0'"
    assert job["steps"].index(post) < job["steps"].index(fail)


@pytest.mark.parametrize("job_name", STACK_JOBS)
def test_stacks_other_than_dev_take_backend_and_passphrase_from_secrets(
        workflow: dict[Any, Any], job_name: str) -> None:
    job = workflow["jobs"][job_name]
    for variable in SECRET_ENV:
        assert job["env"][variable] == f"${{{{ matrix.stack != 'dev' && secrets.{variable} || '' }}}}", variable
    # Without its secrets a real stack would silently fall back to the runner-local backend: fail instead.
    (guard,) = [step for step in job["steps"] if step.get("if") == "matrix.stack != 'dev'"]
    assert 'test -n "$PULUMI_BACKEND_URL"' in guard["run"] and 'test -n "$PULUMI_CONFIG_PASSPHRASE"' in guard["run"]
    _, setup = step_running(job, "make install toolchain")
    assert job["steps"].index(guard) < job["steps"].index(setup)


def test_activate_treats_the_empty_secrets_dev_gets_as_unset(tmp_path: Path) -> None:
    """What the workflow hands the dev stack (empty strings) must still give the local backend and dev passphrase."""
    (tmp_path / "toolchain").mkdir()
    shutil.copy(ACTIVATE, tmp_path / "toolchain" / "activate")
    engine = tmp_path / ".toolchain" / "bin" / "pulumi"
    engine.parent.mkdir(parents=True)
    engine.write_text("#!/bin/sh\n")
    engine.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "PULUMI_BACKEND_URL": "", "PULUMI_CONFIG_PASSPHRASE": "",
           "AZURE_STORAGE_ACCOUNT": "", "AZURE_STORAGE_KEY": ""}
    script = 'source toolchain/activate && printf "%s\\n%s\\n" "$PULUMI_BACKEND_URL" "$PULUMI_CONFIG_PASSPHRASE"'
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=30, check=True)
    backend, passphrase = result.stdout.splitlines()
    assert backend == f"file://{tmp_path}/.state"
    assert passphrase != ""
    shared = {**env, "PULUMI_BACKEND_URL": "azblob://state", "PULUMI_CONFIG_PASSPHRASE": "from-a-secret"}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=shared, capture_output=True, text=True,
                            timeout=30, check=True)
    assert result.stdout.splitlines() == ["azblob://state", "from-a-secret"]


def test_every_job_sets_up_python_311_and_go_and_caches_the_toolchain_with_the_language_host(
        workflow: dict[Any, Any]) -> None:
    assert set(workflow["jobs"]) == {"test", *STACK_JOBS}
    for name, job in workflow["jobs"].items():
        steps = {str(step.get("uses", "")).split("@")[0]: step for step in job["steps"] if "uses" in step}
        assert steps["actions/setup-python"]["with"]["python-version"] == "3.11", name
        assert steps["actions/setup-go"]["with"]["go-version-file"] == "toolchain/go.mod", name
        cache = steps["actions/cache"]["with"]
        assert {"~/go/pkg/mod", "~/.cache/go-build", ".toolchain"} <= set(cache["path"].split()), name
        (hashed,) = re.findall(r"hashFiles\(([^)]*)\)", cache["key"])
        patterns = {pattern.strip().strip("'") for pattern in hashed.split(",")}
        assert {"toolchain/go.sum", "toolchain/build.sh", *LANGUAGE_HOST_FILES} <= patterns, (name, patterns)
        assert not any("pulumi/actions" in str(step.get("uses", "")) for step in job["steps"]), name
