"""The bulk operations behind BatchTaskCollection: chunked adds, parallel deletes/updates, waiting."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from providers._base import ProviderFailure
from providers.client import BatchClient
from providers.client.errors import BatchError, NotFound, TransportError
from providers.job_link import refusal_text
from providers.waiting import Progress, WaitRule, count_line, read_tails

# Service limits for one add-task-collection request (batch-api.md 2.5).
MAX_TASKS_PER_REQUEST = 100
MAX_BODY_BYTES = 1_000_000
# Requests in flight at once; the service handles them independently.
CONCURRENCY = 8
# Rounds of resubmitting tasks that came back with a server error or whose response was lost.
MAX_ROUNDS = 6


def chunks(tasks: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive groups of ≤ 100 tasks whose JSON body stays under 1 MB."""
    chunk: list[dict[str, Any]] = []
    size = len('{"value":[]}')
    for task in tasks:
        task_size = len(json.dumps(task, separators=(",", ":")).encode()) + 1
        if chunk and (len(chunk) == MAX_TASKS_PER_REQUEST or size + task_size >= MAX_BODY_BYTES):
            yield chunk
            chunk, size = [], len('{"value":[]}')
        chunk.append(task)
        size += task_size
    if chunk:
        yield chunk


class TaskBatcher:
    """Adds many tasks to one job: chunked, several requests in flight, failed tasks resubmitted by id."""

    def __init__(self, client: BatchClient, job_id: str) -> None:
        self.client = client
        self.job_id = job_id
        # Ids of the tasks the service accepted from this batcher (a failed create deletes them again).
        self.added: list[str] = []

    def add(self, tasks: list[dict[str, Any]]) -> None:
        """Add every task or raise naming the tasks that the service refused and why."""
        pending, resubmitted = list(tasks), False
        for _ in range(MAX_ROUNDS):
            if not pending:
                return
            with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
                outcomes = list(pool.map(lambda c, again=resubmitted: self._submit(c, again), chunks(pending)))
            retry = [task for again, _ in outcomes for task in again]
            refused = [problem for _, problems in outcomes for problem in problems]
            if refused:
                raise ProviderFailure(f"adding tasks to job {self.job_id!r}: {len(refused)} refused: "
                                      + "; ".join(refused[:10]))
            pending, resubmitted = retry, True
        raise ProviderFailure(f"adding tasks to job {self.job_id!r}: {len(pending)} still failing after "
                              f"{MAX_ROUNDS} rounds (server errors)")

    def _submit(self, chunk: list[dict[str, Any]], resubmitted: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """One request (halved on 413); returns (tasks to resubmit, refusal messages)."""
        try:
            results = self.client.add_task_collection(self.job_id, chunk)
        except BatchError as error:
            if error.status == 413 and len(chunk) > 1:
                half = len(chunk) // 2
                first, second = self._submit(chunk[:half], resubmitted), self._submit(chunk[half:], resubmitted)
                return first[0] + second[0], first[1] + second[1]
            if error.status >= 500 or error.status == 429:
                return chunk, []
            raise ProviderFailure(f"adding tasks to job {self.job_id!r}: {error}") from None
        except TransportError as error:
            if error.maybe_applied or not resubmitted:
                return chunk, []
            raise
        by_id = {str(t["id"]).lower(): t for t in chunk}
        again, refused = [], []
        for result in results:
            key = str(result.get("taskId", "")).lower()
            status, failure = result.get("status"), result.get("error") or {}
            if status == "success" or (failure.get("code") == "TaskExists" and resubmitted):
                self.added.append(str(result.get("taskId")))
                continue
            if status == "servererror" and key in by_id:
                again.append(by_id[key])
            else:
                refused.append(_refusal(result.get("taskId"), failure))
        return again, refused


def _refusal(task_id: object, failure: dict[str, Any]) -> str:
    """One refused task: as a check failure would name it (field and rule) when a job-dependent rule refused
    it, else the service's code and first message line."""
    values = {str(v.get("key")): str(v.get("value", "")) for v in failure.get("values") or []
              if isinstance(v, dict)}
    text = refusal_text(failure.get("code"), values, prefix=f"task {task_id}: spec")
    if text is not None:
        return text
    message = (failure.get("message") or {}).get("value", "").split("\n")[0]
    return f"{task_id}: {failure.get('code')} {message}".strip()


def _in_parallel(work: Callable[[Any], object], items: Iterable[Any]) -> None:
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(work, items))


def delete_tasks(client: BatchClient, job_id: str, task_ids: list[str]) -> None:
    """Delete the tasks in parallel; a task (or job) already gone counts as deleted. A job that is gone (a
    repeated delete after a crash, a job deleted with its tasks) costs one GET, not one DELETE per task."""
    if task_ids and client.get_job(job_id, select="id") is None:
        return

    def delete_one(task_id: str) -> None:
        try:
            client.delete_task(job_id, task_id)
        except NotFound:
            pass
        except BatchError as error:
            if error.code not in ("JobBeingDeleted", "JobNotFound"):
                raise
    _in_parallel(delete_one, task_ids)


def update_constraints(client: BatchClient, job_id: str, tasks: list[dict[str, Any]]) -> None:
    """PUT the constraints of each task (the only mutable task field), in parallel."""
    _in_parallel(lambda task: client.put_task(job_id, task["id"], task.get("constraints") or {}), tasks)


def wait_for_tasks(client: BatchClient, job_id: str, task_ids: list[str], wait: dict[str, Any],
                   max_exit_codes: int, label: str = "tasks") -> dict[str, Any]:
    """Poll until every task of the collection completed, showing progress; export counts, exit codes and
    failures."""
    rule = WaitRule.from_props(wait)
    wanted = {t.lower() for t in task_ids}
    deadline, delay = time.monotonic() + rule.timeout_seconds, 0.2
    progress = Progress(label)
    while True:
        live = [t for t in client.list_tasks(job_id, select="id,state,executionInfo")
                if str(t["id"]).lower() in wanted]
        finished = len(live) == len(wanted) and all(t.get("state") == "completed" for t in live)
        progress.show(count_line(_counts(live), len(wanted)), force=finished)
        if finished:
            break
        if time.monotonic() >= deadline:
            done = sum(t.get("state") == "completed" for t in live)
            raise ProviderFailure(f"waiting for tasks of job {job_id!r}: {done}/{len(wanted)} completed when "
                                  "the wait_for_completion timeout ran out")
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)
    return _summarise(client, job_id, live, rule, max_exit_codes)


def _counts(live: list[dict[str, Any]]) -> dict[str, int]:
    completed = [t for t in live if t.get("state") == "completed"]
    failed = sum((t.get("executionInfo") or {}).get("result") == "failure" for t in completed)
    return {"completed": len(completed), "failed": failed, "running": sum(t.get("state") == "running" for t in live)}


def _summarise(client: BatchClient, job_id: str, live: list[dict[str, Any]], rule: WaitRule,
               max_exit_codes: int) -> dict[str, Any]:
    infos = {t["id"]: t.get("executionInfo") or {} for t in live}
    failed = sorted(tid for tid, info in infos.items() if info.get("result") != "success")
    failures = [{"taskId": tid, "exitCode": infos[tid].get("exitCode"),
                 "failureInfo": infos[tid].get("failureInfo")} for tid in failed[:20]]
    tail_of = failed[0] if failed else live[-1]["id"]
    tails = read_tails(client, job_id, tail_of)
    if failed and rule.success == "exitCodeZero":
        first = failures[0]
        reason = (first["failureInfo"] or {}).get("message") or f"exit code {first['exitCode']}"
        raise ProviderFailure(f"{len(failed)} task(s) of job {job_id!r} failed; first: task {first['taskId']}: "
                              f"{reason}" + (f"\nstderr (end):\n{tails['stderr']}" if tails.get("stderr") else ""))
    codes = {tid: info.get("exitCode") for tid, info in infos.items()}
    return {
        "counts": {"completed": len(live), "succeeded": len(live) - len(failed), "failed": len(failed)},
        "exit_codes": codes if len(codes) <= max_exit_codes else None,
        "failures": failures,
        "stdout_tail": tails.get("stdout"),
        "stderr_tail": tails.get("stderr"),
    }
