"""How a task or task collection relates to its job, whichever way the program named the job.

Three wirings reach the providers: `job=job` (job id, job rules and the job's replace fingerprint are inputs),
`job_id=job.job_id` (an Output: unknown at preview whenever the job has a pending change), and
`job_id="literal"` (a job this stack may not manage). Two things make them behave alike, both kept per
provider host, which serves one engine command (pulumi-dynamic.md §0, §2):

- `JOB_PLANS`: the outcome of each BatchJob diff. A task whose job id is unknown at preview asks it whether
  the job is replaced (a replaced job deletes its tasks, batch-api.md 2.5, so the task is replaced with it)
  or only updated in place (the task stays). The engine runs the job's diff first: the task's inputs wait for
  the job's output, and on a delete-before-replace the engine asks the job's dependents only after it.
- `LIVE_JOB_RULES`: the job fields the cross-resource rules need, read from the live job once per job per
  command, for tasks given only a job id.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from providers.client import BatchClient
from providers.client.errors import BatchClientError
from providers.schema.model import ID_PATTERN, is_unknown

REPLACE, UPDATE, SAME = "replace", "update", "same"


class JobPlans:
    """What this command's diff of each job decided: replace, update (in place) or same."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, str] = {}

    def record(self, job_id: str, outcome: str) -> None:
        """Remember the outcome of the diff of job `job_id`."""
        with self._lock:
            self._outcomes[job_id.lower()] = outcome

    def outcome(self, job_id: str) -> str | None:
        """The outcome recorded for `job_id` in this command, or None when no diff of it ran here."""
        with self._lock:
            return self._outcomes.get(job_id.lower())


class LiveJobRules:
    """The rules of live jobs by id (None: the job does not exist), read at most once per job per command."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[tuple[int, str], dict[str, Any] | None] = {}
        self._job_locks: dict[tuple[int, str], threading.Lock] = {}

    def get(self, connect: Callable[[], BatchClient], job_id: str) -> dict[str, Any] | None:
        """The job's rules, or None when the job does not exist or cannot be read now."""
        try:
            client = connect()
        except BatchClientError:
            return None  # no connection configured: the rules wait for create
        key = (id(client), job_id.lower())
        with self._lock:
            job_lock = self._job_locks.setdefault(key, threading.Lock())
        with job_lock:  # the tasks of one job wait for one read
            if key in self._rules:
                return self._rules[key]
            try:
                live = client.get_job(job_id)
            except BatchClientError:
                return None  # not cached: the service may answer the next task
            rules = job_rules(live) if live is not None else None
            self._rules[key] = rules
            return rules

    def forget(self, job_id: str) -> None:
        """Drop what was read of `job_id` (this process created, replaced or deleted it)."""
        with self._lock:
            for key in [k for k in self._rules if k[1] == job_id.lower()]:
                del self._rules[key]


def job_rules(job_spec: dict[str, Any]) -> dict[str, Any]:
    """The job fields a task's cross-field rules need: dependsOn, jobAction, reserved JP/JR ids, container
    pools, and the retry count a task inherits."""
    constraints = job_spec.get("constraints") or {}
    rules: dict[str, Any] = {
        "usesTaskDependencies": bool(job_spec.get("usesTaskDependencies", False)),
        "onTaskFailure": str(job_spec.get("onTaskFailure", "noaction")).lower(),
        "maxTaskRetryCount": constraints.get("maxTaskRetryCount", 0),
        "poolInfo": job_spec.get("poolInfo"),
    }
    for key, default_id in (("jobPreparationTask", "jobpreparation"), ("jobReleaseTask", "jobrelease")):
        if isinstance(job_spec.get(key), dict):
            rules[key] = {"id": job_spec[key].get("id", default_id)}
    return rules


JOB_PLANS = JobPlans()
LIVE_JOB_RULES = LiveJobRules()


def job_id_problem(job_id: object) -> str | None:
    """Why a job id input is unusable, or None; an unknown id is fine (it is known by the time of create)."""
    if is_unknown(job_id):
        return None
    if job_id is None or job_id == "":
        return "job_id: required: give job=<BatchJob> or job_id=<the id of the task's job>"
    if not isinstance(job_id, str):
        return "job_id: must be a string (a job id)"
    if len(job_id) > 64 or not re.fullmatch(ID_PATTERN, job_id):
        return "job_id: a job id has 1 to 64 letters, digits, '-' or '_'"
    return None


def _job_identity_moved(old: object, new: object, job_id: object) -> bool:
    """Whether one identity input (job id or the job's replace fingerprint) says the task is in another job."""
    if is_unknown(new):
        # Unknown at preview: the job has a pending change. It takes the task along only if it is replaced;
        # a job this command did not diff (its id comes from elsewhere) may be, so the task may be too.
        outcome = JOB_PLANS.outcome(job_id) if isinstance(job_id, str) else None
        return outcome not in (UPDATE, SAME)
    if isinstance(old, str) and isinstance(new, str):
        return old.lower() != new.lower() if old and new else old != new
    return bool(old != new)


def moved_keys(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The identity inputs whose change puts the task (or collection) in another job: it is replaced."""
    old_job = olds.get("job_id")
    return [key for key in ("job_id", "job_instance")
            if _job_identity_moved(olds.get(key), news.get(key), old_job)]


def current_job_id(olds: Mapping[str, Any], news: Mapping[str, Any]) -> str:
    """The job id to read the live task under: the new one when known, else the (unchanged) old one."""
    new = news.get("job_id")
    return new if isinstance(new, str) and new else str(olds.get("job_id") or "")


def job_rules_of(connect: Callable[[], BatchClient], props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The rules of a task's job: the program's (job=), else the live job's (job_id= known and the job
    exists), else None (judged once the job is known)."""
    rules = props.get("job_rules")
    if isinstance(rules, dict):
        return rules
    if rules is not None:
        return None  # job= whose rules are not known yet
    job_id = props.get("job_id")
    if not isinstance(job_id, str) or job_id_problem(job_id) is not None:
        return None
    return LIVE_JOB_RULES.get(connect, job_id)


def inherited_retry_count(rules: Mapping[str, Any] | None) -> int | None:
    """The maxTaskRetryCount a task that omits its own takes from the job (None when the job is not known)."""
    value = rules.get("maxTaskRetryCount") if rules is not None else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# Service refusals that are the cross-resource rules check() applies when it knows the job (batch-api.md 3.4,
# 3.6, 7): a task added before its job could be read (created in the same `up`) meets them here.
_REFUSAL_RULES = {"TaskDependenciesNotSpecifiedOnJob": "cross-field:depends-on-needs-task-dependencies"}


def refusal_text(code: str | None, values: Mapping[str, str], prefix: str = "spec") -> str | None:
    """The service's refusal of a task as a check failure would say it (field path and rule), or None when
    it is not one of the job-dependent rules."""
    path = values.get("PropertyName", "")
    rule = _REFUSAL_RULES.get(code or "")
    if rule is None and path.endswith("jobAction"):
        rule = "cross-field:job-action-needs-exit-options"
    if rule is None:
        return None
    return f"{prefix}.{path}: {values.get('Reason') or code} (the service refused it: {code}) [rule: {rule}]"
