"""Optional waiting for results: `pulumi up` returns when the work is done and fails clearly when it failed."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import isodate

from providers._base import ProviderFailure
from providers.client import BatchClient
from providers.errors import BatchError

# How much of stdout.txt / stderr.txt a waited task exports.
TAIL_BYTES = 2048
_POLL_START, _POLL_MAX = 0.2, 5.0


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
            seconds = isodate.parse_duration(timeout).total_seconds()
        except (isodate.ISO8601Error, TypeError) as error:
            raise ProviderFailure(f"wait_for_completion.timeout: {timeout!r} is not an ISO 8601 duration") from error
        success = str(wait.get("success", "exitCodeZero"))
        if success not in ("exitCodeZero", "completed"):
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
    deadline = time.monotonic() + rule.timeout_seconds

    def probe() -> dict[str, Any] | None:
        live = client.get_task(job_id, task_id)
        if live is None:
            raise ProviderFailure(f"waiting for task {job_id}/{task_id}: it disappeared")
        return live if live.get("state") == "completed" else None

    live: dict[str, Any] = _poll_until(deadline, f"waiting for task {job_id}/{task_id}", probe)
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

    def probe() -> dict[str, Any] | None:
        live = client.get_job(job_id)
        if live is None:
            raise ProviderFailure(f"waiting for job {job_id!r}: it disappeared")
        return live if live.get("state") == "completed" else None

    live: dict[str, Any] = _poll_until(deadline, f"waiting for job {job_id!r}", probe)
    counts = client.get_task_counts(job_id).get("taskCounts") or {}
    live["_taskCounts"] = counts
    reason = (live.get("executionInfo") or {}).get("terminateReason")
    if rule.success == "exitCodeZero" and (counts.get("failed") or reason == "TaskFailed"):
        raise ProviderFailure(f"job {job_id!r} completed with {counts.get('failed', 0)} failed task(s) "
                              f"(terminate reason {reason})")
    return live
