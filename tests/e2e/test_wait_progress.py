"""`wait_for_completion` shows progress in the engine's output while `up` waits, and the final counts when it
ends: through the real engine, the lines arrive while the work is still running."""
from __future__ import annotations

from pathlib import Path

import pytest

from providers import BatchJob, BatchTask, BatchTaskCollection
from providers.waiting import PROGRESS_SECONDS
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e

SLEEP = 12  # seconds each task runs: long enough for the first progress line and one more
WAIT = {"timeout": "PT2M", "success": "exitCodeZero"}


def program() -> None:
    BatchJob("managed", spec={"id": "progress-jm", "poolInfo": {"poolId": "local"},
                              "jobManagerTask": {"id": "jm", "commandLine": f"/bin/sleep {SLEEP}"}},
             wait_for_completion=WAIT)
    job = BatchJob("job", spec={"id": "progress-tasks", "poolInfo": {"poolId": "local"}})
    BatchTask("single", job=job, spec={"id": "single", "commandLine": f"/bin/sleep {SLEEP}"},
              wait_for_completion=WAIT)
    BatchTaskCollection("sweep", job_id=job.job_id, wait_for_completion=WAIT, tasks=[
        {"id": f"s{i}", "commandLine": f"/bin/sleep {SLEEP}"} for i in range(2)])


def test_waits_show_progress_before_they_end_and_the_final_counts(tmp_path: Path, service: RunningService) -> None:
    output: list[str] = []
    run = new_stack(tmp_path, service, program)
    up = run.stack.up(on_output=output.append, color="never")
    assert up.summary.result == "succeeded"
    # The lines as they streamed, not the summary the engine repeats at the end.
    said = output[:next((n for n, line in enumerate(output) if line.strip() == "Diagnostics:"), len(output))]

    def first(label: str, text: str) -> int:
        found = [n for n, line in enumerate(said) if label in line and text in line]
        assert found, (label, text, said[-40:])
        return found[0]

    # While waiting: a line as the wait starts, showing the work unfinished, before the line with the final
    # counts. Order, not time: the engine's output is one stream.
    for label, waiting, final in (
            ("BatchTask progress-tasks/single", "waiting: ", "completed: success, exit code 0"),
            ("BatchTaskCollection 'sweep'", "0/2 completed, 0 failed", "2/2 completed, 0 failed, 0 running"),
            ("BatchJob 'progress-jm'", "active: ", "completed: 1/1 completed, 0 failed, 0 running")):
        assert first(label, waiting) < first(label, final), (label, said[-40:])
    # And again while it waits: a wait of SLEEP seconds (more on a loaded machine) with a line due every
    # PROGRESS_SECONDS shows more than one line before the last one.
    sweep = [line for line in said if "BatchTaskCollection 'sweep'" in line and "0/2 completed" in line]
    assert SLEEP > 2 * PROGRESS_SECONDS and len(sweep) >= 2, sweep
    run.stack.destroy(color="never")
