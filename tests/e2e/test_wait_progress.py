"""`wait_for_completion` shows progress in the engine's output while `up` waits, and the final counts when it
ends: through the real engine, the lines arrive while the work is still running."""
from __future__ import annotations

import time
from itertools import pairwise
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
    assert PROGRESS_SECONDS + 5 <= 10  # a poll is at most 5 s after a line falls due
    stamped: list[tuple[float, str]] = []
    run = new_stack(tmp_path, service, program)
    started = time.monotonic()
    up = run.stack.up(on_output=lambda line: stamped.append((time.monotonic(), line)), color="never")
    ended = time.monotonic()
    assert up.summary.result == "succeeded" and ended - started >= SLEEP

    def lines(label: str, text: str) -> list[float]:
        return [at for at, line in stamped if label in line and text in line]

    # While waiting: the first line as the wait starts, well before the work (SLEEP seconds) is done.
    for label, text in (("BatchTask progress-tasks/single", "waiting: "),
                        ("BatchTaskCollection 'sweep'", "/2 completed, 0 failed"),
                        ("BatchJob 'progress-jm'", "active: ")):
        early = lines(label, text)
        assert early and min(early) < ended - SLEEP / 2, (label, [line for _, line in stamped][-40:])
    # And again at least every 10 s while it waits.
    sweep = lines("BatchTaskCollection 'sweep'", " completed, ")
    assert max(later - earlier for earlier, later in pairwise(sweep)) <= 10, sweep
    # At the end: the final counts.
    assert lines("BatchTaskCollection 'sweep'", "2/2 completed, 0 failed, 0 running")
    assert lines("BatchTask progress-tasks/single", "completed: success, exit code 0")
    assert lines("BatchJob 'progress-jm'", "completed: 1/1 completed, 0 failed, 0 running")
    run.stack.destroy(color="never")
