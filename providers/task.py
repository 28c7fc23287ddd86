"""BatchTask: one Azure Batch task (REST create body as `spec`) in a job, as a Pulumi dynamic resource."""
from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from providers import _base
from providers._base import (
    BatchProvider,
    ProviderFailure,
    announce,
    connection,
    contains_unknown,
    post_tolerating_duplicate,
    public,
)
from providers.diff import DiffPlan, diff_task
from providers.errors import Conflict, NotFound
from providers.job import BatchJob
from providers.live_tasks import LIVE_TASKS
from providers.policy import policy_failures
from providers.schema import check_task
from providers.secrets import mark_secret_spec
from providers.specs import live_task_spec
from providers.waiting import WaitRule, read_tails, task_outcome, wait_for_task

# Inputs that change what the resource is without being part of the REST body.
_IDENTITY_KEYS = ("job_id", "job_instance")


class BatchTaskProvider(BatchProvider):
    """Create, diff against live, update constraints in place or replace, refresh and delete one task."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the task body (and, when the job is known, the cross-field rules) before sending anything."""
        spec = _base.checkable_spec(news, "task", "task")
        if isinstance(spec, CheckResult):
            return spec
        rules = news.get("job_rules")
        job = rules if isinstance(rules, dict) and not contains_unknown(rules) else None
        failures = _base.failures_from(check_task(spec, job))
        failures += policy_failures("task", spec)
        if not isinstance(news.get("job_id"), str) or not news.get("job_id"):
            failures.append(pulumi.dynamic.CheckFailure("", "job_id: required (the id of the task's job)"))
        return CheckResult({**news, "spec": spec}, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare with the LIVE task: constraints update in place, anything else replaces (batch-api.md 4.2)."""
        moved = [k for k in _IDENTITY_KEYS if _identity_changed(olds.get(k), news.get(k))]
        if moved:
            return DiffResult(changes=True, replaces=moved, delete_before_replace=True)
        spec = news.get("spec")
        if not isinstance(spec, dict) or contains_unknown(spec) or contains_unknown(news.get("job_id")):
            return DiffResult(changes=None)
        plan = _plan(news["job_id"], spec, news)
        announce(f"BatchTask {news['job_id']}/{spec['id']}", plan.describe())
        options_changed = _options(olds) != _options(news)
        replaces = ["spec"] if plan.gone else plan.replaces
        return DiffResult(changes=plan.has_changes or plan.gone or options_changed, replaces=replaces,
                          delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST the task; adopt an identical existing one (adopt=True, or a retried create that met TaskExists)."""
        job_id, spec = props["job_id"], props["spec"]
        if not props.get("adopt"):
            post_tolerating_duplicate(lambda: connection().create_task(job_id, spec))
        live = _wait_if_asked(job_id, spec["id"], props, _adoptable(job_id, spec, props))
        return CreateResult(f"{job_id}/{spec['id']}", _outputs(props, live))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PUT the constraints, the only thing a task lets change."""
        job_id, spec = news["job_id"], news["spec"]
        client = connection()
        live = client.get_task(job_id, spec["id"])
        if live is None:
            raise ProviderFailure(f"updating task {id_!r}: it no longer exists; run `pulumi up` again to recreate it")
        constraints = _plan_against(spec, live, news).task_constraints(spec)
        if constraints is not None:
            client.put_task(job_id, spec["id"], constraints, if_match=live.get("eTag"))
            live = client.get_task(job_id, spec["id"]) or live
        return UpdateResult(_outputs(news, live))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE the task; a task whose job is gone or being deleted is gone already."""
        try:
            connection().delete_task(props["job_id"], props["spec"]["id"])
        except NotFound:
            return
        except Conflict as error:
            if error.code not in ("JobBeingDeleted", "JobNotFound"):
                raise

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The live task for refresh; dropped from state when it (or its job) is gone."""
        job_id, old_spec = str(props.get("job_id") or ""), props.get("spec") or {}
        live = connection().get_task(job_id, str(old_spec["id"])) if job_id and old_spec.get("id") else None
        if live is None:
            return ReadResult(None, {})
        spec = old_spec if not _plan_against(old_spec, live, props).has_changes else live_task_spec(live)
        if props.get("wait") and live.get("state") == "completed":
            live["_tails"] = read_tails(connection(), job_id, live["id"])
        outs = _outputs({**public(props), "spec": spec}, live)
        inputs: dict[str, Any] = {k: props[k] for k in ("job_id", "job_instance", "job_rules", "adopt", "wait") if k in props}
        return ReadResult(id_, outs, inputs={**inputs, "spec": spec})


def _identity_changed(old: Any, new: Any) -> bool:
    if isinstance(new, str) and new == pulumi.runtime.rpc.UNKNOWN:
        return old is not None  # the job is being replaced: its new instance is not known until it exists
    if isinstance(old, str) and isinstance(new, str):
        return not _base.same_id(old, new)
    return bool(old != new)


def _job_retry_default(props: dict[str, Any]) -> int | None:
    rules = props.get("job_rules")
    if isinstance(rules, dict) and isinstance(rules.get("maxTaskRetryCount"), (int, float)):
        return int(rules["maxTaskRetryCount"])
    return None


def _plan(job_id: str, spec: dict[str, Any], props: dict[str, Any]) -> DiffPlan:
    """Desired vs live for diff; many tasks of one job are read with one listing (see live_tasks.py)."""
    return _plan_against(spec, LIVE_TASKS.get(connection(), job_id, str(spec["id"])), props)


def _plan_against(spec: dict[str, Any], live: dict[str, Any] | None, props: dict[str, Any]) -> DiffPlan:
    return diff_task(spec, live, job_max_task_retry_count=_job_retry_default(props))


def _adoptable(job_id: str, spec: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """The task after a create that may have landed (lost response, TaskExists) or with adopt=True: create it if
    it is not there, adopt it only if it equals the spec."""
    client = connection()
    live = client.get_task(job_id, spec["id"])
    if live is None:
        client.create_task(job_id, spec)
        live = client.get_task(job_id, spec["id"])
        if live is None:
            raise ProviderFailure(f"creating task {job_id}/{spec['id']}: accepted but cannot be read back")
        return live
    plan = _plan_against(spec, live, props)
    if plan.has_changes:
        raise ProviderFailure(_differs_message(job_id, spec, plan))
    return live


def _differs_message(job_id: str, spec: dict[str, Any], plan: DiffPlan) -> str:
    return (f"creating task {job_id}/{spec['id']}: a task with this id already exists and differs from the "
            f"desired spec ({'; '.join(plan.describe())}); delete it or change the id")


def _wait_if_asked(job_id: str, task_id: str, props: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    wait = props.get("wait")
    if not isinstance(wait, dict):
        return live
    return wait_for_task(connection(), job_id, task_id, WaitRule.from_props(wait))


def _options(props: dict[str, Any]) -> dict[str, Any]:
    return {"adopt": bool(props.get("adopt", False)), "wait": props.get("wait")}


def _outputs(props: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    outs = {k: props.get(k) for k in ("job_id", "job_instance", "job_rules")}
    return {**outs, **_options(props), "spec": props["spec"], "task_id": live.get("id"),
            "state": live.get("state"), "etag": live.get("eTag"), "url": live.get("url"),
            **task_outcome(live, props.get("wait"))}


class BatchTask(Resource, module="batch", name="Task"):
    """A task of a Batch job; `spec` is the REST task create body (camelCase), e.g. any documented example."""

    task_id: pulumi.Output[str]
    job_id: pulumi.Output[str]
    state: pulumi.Output[str]
    etag: pulumi.Output[str]
    exit_code: pulumi.Output[int | None]
    result: pulumi.Output[str | None]
    failure_info: pulumi.Output[dict[str, Any] | None]
    stdout_tail: pulumi.Output[str | None]
    stderr_tail: pulumi.Output[str | None]

    def __init__(self, name: str, job_id: pulumi.Input[str] | None = None,
                 spec: dict[str, Any] | pulumi.Input[dict[str, Any]] | None = None,
                 opts: pulumi.ResourceOptions | None = None, *, job: BatchJob | None = None,
                 adopt: bool = False, wait_for_completion: dict[str, Any] | None = None) -> None:
        if job is not None:
            job_id = job_id if job_id is not None else job.known_id
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[job], deleted_with=job))
        props = {
            "job_id": job_id, "spec": mark_secret_spec("task", spec), "adopt": adopt, "wait": wait_for_completion,
            "job_instance": job.instance_key if job is not None else None,
            "job_rules": job.known_rules if job is not None else None,
            "task_id": None, "state": None, "etag": None, "url": None, "exit_code": None, "result": None,
            "failure_info": None, "retry_count": None, "stdout_tail": None, "stderr_tail": None,
        }
        super().__init__(BatchTaskProvider(), name, props, opts)
