"""The bad-input catalog (tests/fixtures/bad_inputs.json): every case is refused at preview, naming its field
path and rule, and the service receives not one API request."""
from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi import automation as auto

from providers import BatchJob, BatchTask
from providers.job import job_rules
from providers.schema import check_job, check_task, coerce_numbers
from tests.support.service import start_service
from tests.support.stacks import new_stack

WORKERS = 2
CATALOG_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs.json"
CATALOG: list[dict[str, Any]] = json.loads(CATALOG_PATH.read_text())
RULE_NAMES = {"required", "type", "enum", "range", "length", "id-format", "one-of", "unknown-property",
              "read-only", "format", "duplicate-name", "relative-path", "one-way"}


def test_catalog_is_large_and_covers_every_kind_of_rule() -> None:
    names = [case["name"] for case in CATALOG]
    assert len(CATALOG) >= 60 and len(set(names)) == len(names)
    rules = {case["rule"] for case in CATALOG}
    assert {"required", "type", "enum", "range", "length", "id-format", "one-of", "unknown-property",
            "read-only", "format", "duplicate-name", "relative-path"} <= rules
    assert {"cross-field:depends-on-needs-task-dependencies", "cross-field:job-action-needs-exit-options"} <= rules
    assert all(rule in RULE_NAMES or rule.startswith("cross-field:") for rule in rules)


@pytest.mark.parametrize("case", CATALOG, ids=[case["name"] for case in CATALOG])
def test_checker_reports_the_catalogued_path_and_rule(case: dict[str, Any]) -> None:
    if case["kind"] == "job":
        problems = check_job(coerce_numbers("job", case["spec"]))
    else:
        assert check_job(coerce_numbers("job", case["job"])) == []  # only the task is wrong
        problems = check_task(coerce_numbers("task", case["spec"]), job_rules(case["job"]))
    assert (case["path"], case["rule"]) in [(p.path, p.rule) for p in problems]


class _Endpoint:
    """What new_stack needs of a running service, in a form that crosses process boundaries."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env

    def env(self) -> dict[str, str]:
        """The providers' connection environment."""
        return self._env


def case_program(case: dict[str, Any]) -> Callable[[], None]:
    """One case as a program in its own job id: a BatchJob, or a BatchTask under a valid BatchJob."""
    def program() -> None:
        if case["kind"] == "job":
            BatchJob(case["name"], spec=case["spec"])
        else:
            BatchTask(case["name"], job=BatchJob(f"{case['name']}-job", spec=case["job"]), spec=case["spec"])
    return program


def preview_cases(work: str, env: dict[str, str], cases: list[dict[str, Any]]) -> dict[str, str]:
    """Preview each case on one scratch stack (a worker process); the engine's text per case name."""
    stack_run = new_stack(Path(work), _Endpoint(env), case_program(cases[0]))  # type: ignore[arg-type]
    texts: dict[str, str] = {}
    for case in cases:
        stack_run.output.clear()
        try:
            stack_run.preview(case_program(case))
            texts[case["name"]] = "PREVIEW SUCCEEDED\n" + stack_run.text
        except auto.errors.CommandError as error:
            texts[case["name"]] = f"{error}\n{stack_run.text}"
    return texts


def refused_as_catalogued(case: dict[str, Any], text: str) -> bool:
    """True when the engine printed the case's resource, its `spec.<path>` and its rule on one line."""
    wanted = (f"resource '{case['name']}' has a problem", f"spec.{case['path']}: ", f"[rule: {case['rule']}]")
    return not text.startswith("PREVIEW SUCCEEDED") and any(
        all(part in line for part in wanted) for line in text.splitlines())


@pytest.mark.e2e
def test_every_catalogued_spec_is_refused_at_preview_without_a_request(tmp_path: Path) -> None:
    # The engine stops a preview at the first resource whose check fails (pkg/resource/deploy/
    # step_generator.go: "resource ... is invalid" is a bail), so one program holding every case would report
    # one case only. Each case is previewed on its own, split over worker processes, against ONE fresh service.
    with start_service(tmp_path / "svc", "--runner", "instant") as service:
        chunks = [CATALOG[i::WORKERS] for i in range(WORKERS)]
        with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(preview_cases, str(tmp_path / f"w{i}"), service.env(), chunk)
                       for i, chunk in enumerate(chunks)]
            texts = {name: text for future in futures for name, text in future.result(timeout=600).items()}
        stats = httpx.get(f"{service.endpoint}/_local/stats", timeout=5).json()
    missing = [case["name"] for case in CATALOG if not refused_as_catalogued(case, texts.get(case["name"], ""))]
    print(f"\n{len(CATALOG) - len(missing)}/{len(CATALOG)} refused at preview, {stats['requests']} requests")
    assert missing == [], {name: texts.get(name, "")[-600:] for name in missing[:3]}
    assert stats["requests"] == 0
