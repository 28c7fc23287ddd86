"""BatchTask: one Azure Batch task (REST create body as `spec`) in a job, as a Pulumi dynamic resource."""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from providers import _base, job_link
from providers._base import (
    BatchProvider,
    ProviderFailure,
    announce,
    connection,
    foreign_owner_text,
    job_owned_by,
    post_tolerating_duplicate,
    public,
    stack_owner,
)
from providers.client.errors import BatchError, Conflict, NotFound
from providers.diff import DiffPlan, diff_task
from providers.job import BatchJob, wire_to_job
from providers.live_tasks import LIVE_TASKS
from providers.policy import policy_failures
from providers.schema import check_task
from providers.schema.model import is_unknown
from providers.secrets import mark_secret_spec
from providers.specs import TaskSpec, WaitForCompletion, live_task_spec
from providers.waiting import WaitRule, read_tails, task_outcome, wait_for_task


class _BatchTaskProvider(BatchProvider):
    """Create, diff against live, update constraints in place or replace, refresh and delete one task."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate what is known of the task body, and the cross-resource rules when the job is known (from
        job=, or the live job for job_id=); unknown values are checked once they are known."""
        spec = _base.checkable_spec(news, "task", "task")
        if isinstance(spec, CheckResult):
            return spec
        failures = _base.failures_from(check_task(spec, job_link.job_rules_of(connection, news)))
        failures += policy_failures("task", spec)
        problem = job_link.job_id_problem(news.get("job_id"))
        if problem is not None:
            failures.append(pulumi.dynamic.CheckFailure("", problem))
        return CheckResult({**news, "spec": spec}, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare with the LIVE task: constraints update in place, anything else replaces (batch-api.md 4.2).
        A value not known yet is a change that may replace (known after the job's or another output's step)."""
        job_id = job_link.current_job_id(olds, news)
        spec = news.get("spec")
        label = f"BatchTask {job_id}/{_task_id(spec, olds)}"
        moved = job_link.moved_keys(olds, news)
        if moved:
            announce(label, ["+- the job is replaced or another job is named: the task is created again in it"])
            return DiffResult(changes=True, replaces=moved, delete_before_replace=True)
        if not isinstance(spec, dict) or is_unknown(spec.get("id")):
            announce(label, ["+- spec: known after apply; the task may be replaced"])
            return DiffResult(changes=True, replaces=["spec"], delete_before_replace=True)
        plan = _plan(job_id, spec, {**news, "job_id": job_id})
        announce(label, plan.describe())
        options_changed = _options(olds) != _options(news)
        replaces = ["spec"] if plan.gone else plan.replaces
        return DiffResult(changes=plan.has_changes or plan.gone or options_changed, replaces=replaces,
                          delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST the task; adopt an identical existing one (adopt=True, or a retried create that met TaskExists)."""
        job_id, spec = props["job_id"], props["spec"]
        started, created = time.time(), False
        if not props.get("adopt"):
            try:
                created = post_tolerating_duplicate(lambda: connection().create_task(job_id, spec))
            except BatchError as error:
                raise _refused(job_id, spec, error) from None
        mine = created or props.get("adopt")
        live = _wait_if_asked(job_id, spec["id"], props, _adoptable(job_id, spec, props, None if mine else started))
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
        inputs: dict[str, Any] = {k: props[k] for k in ("job_id", "job_instance", "job_rules", "adopt", "wait", "owner")
                                  if k in props}
        return ReadResult(id_, outs, inputs={**inputs, "spec": spec})


# The name states written before the provider classes became private pickled; kept so they still load.
BatchTaskProvider = _BatchTaskProvider


def _task_id(spec: Any, olds: dict[str, Any]) -> str:
    if isinstance(spec, dict) and isinstance(spec.get("id"), str):
        return str(spec["id"])
    old_spec = olds.get("spec")
    return str(old_spec.get("id")) if isinstance(old_spec, dict) else "?"


def _refused(job_id: str, spec: dict[str, Any], error: BatchError) -> Exception:
    """The create's error; a refusal by a job-dependent rule says the field and the rule, like check does."""
    text = job_link.refusal_text(error.code, error.values)
    if text is None:
        return error
    return ProviderFailure(f"creating task {job_id}/{spec['id']}: {text}")


def _plan(job_id: str, spec: dict[str, Any], props: dict[str, Any]) -> DiffPlan:
    """Desired vs live for diff; many tasks of one job are read with one listing (see live_tasks.py)."""
    return _plan_against(spec, LIVE_TASKS.get(connection(), job_id, str(spec["id"])), props)


def _plan_against(spec: dict[str, Any], live: dict[str, Any] | None, props: dict[str, Any]) -> DiffPlan:
    rules = job_link.job_rules_of(connection, props)
    return diff_task(spec, live, job_max_task_retry_count=job_link.inherited_retry_count(rules))


def _adoptable(job_id: str, spec: dict[str, Any], props: dict[str, Any], started: float | None) -> dict[str, Any]:
    """The task after its create; `started`: when a create that met an existing task (a lost response,
    TaskExists) began, None when the service answered that it created it or adopt=True takes it over. Create
    it if it is not there; carry on with an existing one only if it equals the spec and this stack created it
    (this very call, or its job carries this stack's marker)."""
    client = connection()
    live = client.get_task(job_id, spec["id"])
    if live is None:
        client.create_task(job_id, spec)
        live = client.get_task(job_id, spec["id"])
        if live is None:
            raise ProviderFailure(f"creating task {job_id}/{spec['id']}: accepted but cannot be read back")
        return live
    if started is not None and _created_at(live) < started - CLOCK_ALLOWANCE_SECONDS:
        ours, found = job_owned_by(client, props)
        if not ours:
            raise ProviderFailure(foreign_owner_text(
                f"creating task {job_id}/{spec['id']}: a task with this id", found,
                f"`az batch task delete --job-id {job_id} --task-id {spec['id']}`"))
    plan = _plan_against(spec, live, props)
    if plan.has_changes:
        raise ProviderFailure(_differs_message(job_id, spec, plan))
    return live


# A task whose creationTime is at most this much earlier than our create call is the call's own (a retried
# POST whose first answer was lost); the allowance covers a clock slightly ahead of the service's. Any other
# existing task is this stack's only if its job carries this stack's marker.
CLOCK_ALLOWANCE_SECONDS = 1.0


def _created_at(live: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(live.get("creationTime"))).timestamp()
    except ValueError:
        return 0.0


def _differs_message(job_id: str, spec: dict[str, Any], plan: DiffPlan) -> str:
    return (f"creating task {job_id}/{spec['id']}: a task with this id already exists and differs from the "
            f"desired spec ({'; '.join(plan.describe())}); change the id, or delete it (`az batch task delete "
            f"--job-id {job_id} --task-id {spec['id']}`) and run `pulumi up` again")


def _wait_if_asked(job_id: str, task_id: str, props: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    wait = props.get("wait")
    if not isinstance(wait, dict):
        return live
    return wait_for_task(connection(), job_id, task_id, WaitRule.from_props(wait))


def _options(props: dict[str, Any]) -> dict[str, Any]:
    return {"adopt": bool(props.get("adopt", False)), "wait": props.get("wait")}


def _outputs(props: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    outs = {k: props.get(k) for k in ("job_id", "job_instance", "job_rules", "owner")}
    return {**outs, **_options(props), "spec": props["spec"], "task_id": live.get("id"),
            "state": live.get("state"), "etag": live.get("eTag"), "url": live.get("url"),
            **task_outcome(live, props.get("wait"))}


class BatchTask(Resource, module="batch", name="Task"):
    """A task of a Batch job; `spec` is the REST task create body (camelCase), e.g. any documented example.

    Name its job with `job=job` (a BatchJob of this program), `job_id=job.job_id`, or `job_id="id"` (a job
    this stack does not manage); all three behave alike through updates, replaces and drift.
    """

    task_id: pulumi.Output[str]
    job_id: pulumi.Output[str]
    state: pulumi.Output[str]
    etag: pulumi.Output[str]
    exit_code: pulumi.Output[int | None]
    result: pulumi.Output[str | None]
    failure_info: pulumi.Output[dict[str, Any] | None]
    stdout_tail: pulumi.Output[str | None]
    stderr_tail: pulumi.Output[str | None]

    def __init__(self, name: str, job_id: pulumi.Input[str] | None = None, spec: pulumi.Input[TaskSpec] | None = None,
                 opts: pulumi.ResourceOptions | None = None, *, job: BatchJob | None = None,
                 adopt: bool = False, wait_for_completion: WaitForCompletion | None = None) -> None:
        wiring = wire_to_job(f"BatchTask {name!r}", job, job_id, opts)
        props = {
            "job_id": wiring.job_id, "spec": mark_secret_spec("task", spec), "adopt": adopt,
            "wait": wait_for_completion, "job_instance": wiring.job_instance, "job_rules": wiring.job_rules,
            "owner": stack_owner(), "task_id": None, "state": None, "etag": None, "url": None, "exit_code": None, "result": None,
            "failure_info": None, "retry_count": None, "stdout_tail": None, "stderr_tail": None,
        }
        super().__init__(_BatchTaskProvider(), name, props, wiring.opts)
