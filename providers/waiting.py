"""Optional waiting for results: `pulumi up` returns when the work is done and fails clearly when it failed."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from providers._base import ProviderFailure, announce
from providers.client import BatchClient
from providers.client.errors import BatchError
from providers.schema.durations import DurationError, parse_duration

# What `wait_for_completion.success` may say (the typed input in specs.py spells the same pair).
SUCCESS_RULES = ("exitCodeZero", "completed")
# How much of stdout.txt / stderr.txt a waited task exports.
TAIL_BYTES = 2048
_POLL_START, _POLL_MAX = 0.2, 5.0
# How often a wait says where it stands: the first poll at least this long after the last line shows the next.
# Polls are at most _POLL_MAX apart, so lines come at least every 9 s. Lines the provider host writes to
# stderr reach the engine's output while it runs (tests/e2e/test_wait_progress.py, through the real engine).
PROGRESS_SECONDS = 4.0


class Progress:
    """Progress lines of one wait: the first at once, then at most one per PROGRESS_SECONDS, the last forced."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._last = float("-inf")

    def due(self) -> bool:
        """True when a line would be shown now (callers skip the work of a line that would not be)."""
        return time.monotonic() - self._last >= PROGRESS_SECONDS

    def show(self, text: str, force: bool = False) -> None:
        """Show `text` if a line is due (or `force`)."""
        if force or self.due():
            announce(self.label, [text])
            self._last = time.monotonic()


def count_line(counts: dict[str, int], total: int | None = None) -> str:
    """`412/10000 completed, 3 failed, 1 running` from task counts (total: all tasks when not given)."""
    completed = int(counts.get("completed", 0))
    whole = total if total is not None else completed + int(counts.get("active", 0)) + int(counts.get("running", 0))
    return f"{completed}/{whole} completed, {int(counts.get('failed', 0))} failed, {int(counts.get('running', 0))} running"


@dataclass(frozen=True)
class WaitRule:
    """`wait_for_completion={"timeout": "PT30M", "success": "exitCodeZero" | "completed"}`."""

    timeout_seconds: float
    success: str

    @classmethod
    def from_props(cls, wait: dict[str, Any]) -> WaitRule:
        """Parse the resource's `wait_for_completion` input (validated here: it is ours, not Batch's)."""
        timeout = wait.get("timeout", "PT30M")
        try:
            limit = parse_duration(timeout)
        except DurationError as error:
            raise ProviderFailure(f"wait_for_completion.timeout: {timeout!r} is not an ISO 8601 duration") from error
        # The unlimited spelling the service uses for "no limit" means no limit here too.
        seconds = math.inf if limit is None else limit.total_seconds()
        success = str(wait.get("success", "exitCodeZero"))
        if success not in SUCCESS_RULES:
            raise ProviderFailure("wait_for_completion.success: must be 'exitCodeZero' or 'completed'")
        return cls(seconds, success)


def _poll_until(deadline: float, what: str, probe: Any) -> Any:
    delay = _POLL_START
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise ProviderFailure(f"{what}: still not done after the wait_for_completion timeout")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, _POLL_MAX)


def wait_for_task(client: BatchClient, job_id: str, task_id: str, rule: WaitRule) -> dict[str, Any]:
    """Poll the task until it completed; raise with the task id and the reason when it failed."""
    started = time.monotonic()
    deadline = started + rule.timeout_seconds
    progress = Progress(f"BatchTask {job_id}/{task_id}")

    def probe() -> dict[str, Any] | None:
        live = client.get_task(job_id, task_id)
        if live is None:
            raise ProviderFailure(f"waiting for task {job_id}/{task_id}: it disappeared")
        progress.show(f"waiting: {live.get('state')} after {time.monotonic() - started:.0f} s")
        return live if live.get("state") == "completed" else None

    live: dict[str, Any] = _poll_until(deadline, f"waiting for task {job_id}/{task_id}", probe)
    info = live.get("executionInfo") or {}
    progress.show(f"completed: {info.get('result')}, exit code {info.get('exitCode')}", force=True)
    live["_tails"] = read_tails(client, job_id, task_id)
    if rule.success == "exitCodeZero" and (live.get("executionInfo") or {}).get("result") != "success":
        raise ProviderFailure(failure_text(job_id, live))
    return live


def failure_text(job_id: str, live: dict[str, Any]) -> str:
    """One paragraph saying which task failed and why (exit code, failure info, the end of stderr)."""
    info = live.get("executionInfo") or {}
    failure = info.get("failureInfo") or {}
    reason = failure.get("message") or failure.get("code") or "nonzero exit"
    text = f"task {job_id}/{live.get('id')} failed: exit code {info.get('exitCode')}, {reason}"
    stderr = (live.get("_tails") or {}).get("stderr")
    return text + (f"\nstderr (end):\n{stderr}" if stderr else "")


def read_tails(client: BatchClient, job_id: str, task_id: str) -> dict[str, str | None]:
    """The last TAIL_BYTES of stdout.txt and stderr.txt (None when the file is not there)."""
    tails: dict[str, str | None] = {}
    for name in ("stdout", "stderr"):
        try:
            data = client.get_task_file(job_id, task_id, f"{name}.txt")
        except BatchError:
            tails[name] = None
            continue
        tails[name] = data[-TAIL_BYTES:].decode("utf-8", errors="replace")
    return tails


def task_outcome(live: dict[str, Any], wait: Any) -> dict[str, Any]:
    """Outputs that describe how the task ended (empty values while it has not)."""
    info = live.get("executionInfo") or {}
    tails = live.get("_tails") or {}
    return {
        "exit_code": info.get("exitCode"),
        "result": info.get("result"),
        "failure_info": info.get("failureInfo"),
        "retry_count": info.get("retryCount"),
        "stdout_tail": tails.get("stdout") if wait else None,
        "stderr_tail": tails.get("stderr") if wait else None,
    }


def wait_for_job(client: BatchClient, job_id: str, rule: WaitRule) -> dict[str, Any]:
    """Poll the job until it completed; export its task counts; raise when tasks failed (exitCodeZero)."""
    deadline = time.monotonic() + rule.timeout_seconds
    progress = Progress(f"BatchJob {job_id!r}")

    def probe() -> dict[str, Any] | None:
        live = client.get_job(job_id)
        if live is None:
            raise ProviderFailure(f"waiting for job {job_id!r}: it disappeared")
        if live.get("state") == "completed":
            return live
        if progress.due():
            progress.show(f"{live.get('state')}: " + count_line(client.get_task_counts(job_id).get("taskCounts") or {}))
        return None

    live: dict[str, Any] = _poll_until(deadline, f"waiting for job {job_id!r}", probe)
    counts = client.get_task_counts(job_id).get("taskCounts") or {}
    progress.show("completed: " + count_line(counts), force=True)
    live["_taskCounts"] = counts
    reason = (live.get("executionInfo") or {}).get("terminateReason")
    if rule.success == "exitCodeZero" and (counts.get("failed") or reason == "TaskFailed"):
        raise ProviderFailure(f"job {job_id!r} completed with {counts.get('failed', 0)} failed task(s) "
                              f"(terminate reason {reason})")
    return live
