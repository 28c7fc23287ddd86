"""BatchJob: an Azure Batch job (REST create body as `spec`) managed as a Pulumi dynamic resource."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from providers import _base, job_link
from providers._base import (
    KEPT,
    BatchProvider,
    ProviderFailure,
    announce,
    connection,
    contains_unknown,
    foreign_owner_text,
    owner_of,
    post_after_deletion,
    public,
    stack_owner,
    with_owner,
    without_owner,
)
from providers.client.errors import Conflict
from providers.diff import DiffPlan, check_transition, diff_job
from providers.job_link import job_rules
from providers.policy import policy_failures
from providers.schema import REPLACE, check_job, rule_for
from providers.secrets import mark_secret_spec
from providers.specs import JobSpec, WaitForCompletion, live_job_spec
from providers.waiting import WaitRule, wait_for_job

# How long a replace waits for the asynchronous job delete to finish (batch-api.md 2.5).
DELETE_TIMEOUT_SECONDS = 300.0
DISABLE_TIMEOUT_SECONDS = 120.0


class _BatchJobProvider(BatchProvider):
    """Create, diff against live, PATCH in place or replace, refresh and delete one Batch job."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the whole create body before anything is sent."""
        spec = _base.checkable_spec(news, "job", "job")
        if isinstance(spec, CheckResult):
            return spec
        problems = check_job(spec)
        old_spec = olds.get("spec") if olds else None
        if not problems and isinstance(old_spec, dict) and not contains_unknown(old_spec):
            problems = check_transition("job", old_spec, spec)
        failures = _base.failures_from(problems)
        failures += policy_failures("job", spec)
        if news.get("defer_completion") and news.get("wait"):
            failures.append(pulumi.dynamic.CheckFailure("", "wait_for_completion: a job whose completion is "
                            "deferred to its task collection would wait forever; wait on the collection"))
        return CheckResult({**news, "spec": spec}, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare the desired spec with the LIVE job and say, per field, update or replace and why. A field not
        known yet (preview) counts as changed: it may replace the job if its change rule is replace."""
        spec = news.get("spec")
        if not isinstance(spec, dict):
            announce(f"BatchJob {id_!r}", ["+- spec: known after apply; the job may be replaced"])
            job_link.JOB_PLANS.record(id_, job_link.REPLACE)
            return DiffResult(changes=True, replaces=["spec"], delete_before_replace=True)
        plan = _plan(id_, spec)
        announce(f"BatchJob {id_!r}", plan.describe())
        if plan.refused:
            raise ProviderFailure("; ".join(change.reason for change in plan.refused))
        changes = plan.has_changes or plan.gone or _options(olds) != _options(news)
        replaces = ["spec"] if plan.gone else plan.replaces
        job_link.JOB_PLANS.record(id_, job_link.REPLACE if replaces else job_link.UPDATE if changes else job_link.SAME)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST the job marked with this stack; carry on with an identical one this stack created before (a run
        that died before its state was written, or a lost response), or any identical one with adopt=True."""
        body = _creation_body(props)
        job_link.LIVE_JOB_RULES.forget(body["id"])
        created = not props.get("adopt") and _posted(body, props)
        live = _adoptable(body, props, created)
        return CreateResult(body["id"], _outputs(props, _wait_if_asked(props, live)))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PATCH only the changed updatable fields; a pool change goes disable → PATCH → enable."""
        spec = news["spec"]
        client = connection()
        job_link.LIVE_JOB_RULES.forget(id_)
        live = client.get_job(id_)
        if live is None:
            raise ProviderFailure(f"updating job {id_!r}: it no longer exists; run `pulumi refresh` or `up` again")
        plan = diff_job(spec, without_owner(live))
        body = plan.patch_body(spec)
        if "metadata" in body:  # PATCH replaces the whole list: keep the marker in it
            body = with_owner(body, news.get("owner") or owner_of(live))
        if plan.needs_disable:
            client.disable_job(id_, "requeue")
            client.wait_job_state(id_, {"disabled"}, DISABLE_TIMEOUT_SECONDS)
            live = client.get_job(id_) or live
        if body:
            client.patch_job(id_, body, if_match=live.get("eTag"))
        if plan.needs_disable:
            client.enable_job(id_)
        return UpdateResult(_outputs(news, _wait_if_asked(news, client.get_job(id_) or live)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE and wait until the job is really gone, so a replace can reuse the id."""
        client = connection()
        job_link.LIVE_JOB_RULES.forget(id_)
        try:
            client.delete_job(id_)
        except Conflict as error:  # an earlier delete (interrupted, or out of band) is already under way
            if error.code != "JobBeingDeleted":
                raise
        client.wait_job_deleted(id_, DELETE_TIMEOUT_SECONDS)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The live job for refresh: same inputs when nothing drifted, the live create fields when it did."""
        found = connection().get_job(id_)
        if found is None:
            return ReadResult(None, {})
        live = without_owner(found)
        old_spec = props.get("spec") or {}
        spec = old_spec if not diff_job(old_spec, live).has_changes else live_job_spec(live)
        outs = _outputs({**public(props), "spec": spec}, live)
        return ReadResult(id_, outs, inputs={**_options(props), **_owner(props), "spec": spec})


# The name states written before the provider classes became private pickled; kept so they still load.
BatchJobProvider = _BatchJobProvider


def _creation_body(props: dict[str, Any]) -> dict[str, Any]:
    """The body to POST. With defer_completion a `terminatejob` job starts as `noaction`: its task collection
    switches it once every task is in, since an empty job would complete at once (batch-api.md 6.2)."""
    spec: dict[str, Any] = props["spec"]
    if props.get("defer_completion") and str(spec.get("onAllTasksComplete", "")).lower() == "terminatejob":
        return {**spec, "onAllTasksComplete": "noaction"}
    return spec


def _wait_if_asked(props: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    wait = props.get("wait")
    if not isinstance(wait, dict):
        return live
    return wait_for_job(connection(), live["id"], WaitRule.from_props(wait))


def _plan(id_: str, spec: dict[str, Any]) -> DiffPlan:
    """Desired vs the live job under the state's id; a changed id shows up as an `id` replace."""
    live = connection().get_job(id_)
    return diff_job(spec, None if live is None else without_owner(live))


def _adoptable(spec: dict[str, Any], props: dict[str, Any], created: bool) -> dict[str, Any]:
    """The job after its POST (`created`: the service said it created it), after a POST that met an existing
    job (a lost response, JobExists), or with adopt=True: create it if it is not there; carry on with it only
    if it equals the spec and this stack created it (its marker), or adopt=True takes it over."""
    client, owner = connection(), props.get("owner")
    live = client.get_job(spec["id"])
    if live is None:
        client.create_job(with_owner(spec, owner))
        live = client.get_job(spec["id"])
        if live is None:
            raise ProviderFailure(f"creating job {spec['id']!r}: the service accepted it but cannot find it")
        return live
    found = owner_of(live)
    if not props.get("adopt") and found != owner:
        raise ProviderFailure(foreign_owner_text(f"creating job {spec['id']!r}: a job with this id", found,
                                                 f"`az batch job delete --job-id {spec['id']}`"))
    plan = diff_job(spec, without_owner(live))
    if plan.has_changes:
        raise ProviderFailure(_differs_message(spec, plan))
    if not created and found == owner:
        announce(f"BatchJob {spec['id']!r}", [KEPT])
    return live


def _posted(body: dict[str, Any], props: dict[str, Any]) -> bool:
    """POST the job marked with this stack; True when the service answered that it created it."""
    client = connection()
    return post_after_deletion(lambda: client.create_job(with_owner(body, props.get("owner"))),
                               lambda: client.wait_job_deleted(body["id"], DELETE_TIMEOUT_SECONDS))


def _differs_message(spec: dict[str, Any], plan: DiffPlan) -> str:
    return (f"creating job {spec['id']!r}: a job with this id already exists and differs from the desired spec "
            f"({'; '.join(plan.describe())}); make the spec match it, change the id, or delete it "
            f"(`az batch job delete --job-id {spec['id']}`) and run `pulumi up` again")


def _options(props: dict[str, Any]) -> dict[str, Any]:
    return {"adopt": bool(props.get("adopt", False)), "defer_completion": bool(props.get("defer_completion")),
            "wait": props.get("wait")}


def _owner(props: dict[str, Any]) -> dict[str, Any]:
    """The stack that created the job, kept in state (never diffed: the program sets it on every run)."""
    return {"owner": props.get("owner")}


def _outputs(props: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    execution = live.get("executionInfo") or {}
    return {
        **_options(props),
        **_owner(props),
        "spec": props["spec"],
        "job_id": live.get("id"),
        "state": live.get("state"),
        "etag": live.get("eTag"),
        "pool_id": execution.get("poolId"),
        "url": live.get("url"),
        "creation_time": live.get("creationTime"),
        "terminate_reason": execution.get("terminateReason"),
        "task_counts": live.get("_taskCounts"),
    }


class BatchJob(Resource, module="batch", name="Job"):
    """An Azure Batch job; `spec` is the REST create body (camelCase), e.g. any documented example.

    `defer_completion=True`: a job with onAllTasksComplete=terminatejob is created as noaction and its
    BatchTaskCollection switches it after adding the tasks. `wait_for_completion={"timeout", "success"}`: up
    returns when the job has completed (for jobs that end by themselves: job manager or terminatejob).
    """

    job_id: pulumi.Output[str]
    state: pulumi.Output[str]
    etag: pulumi.Output[str]
    pool_id: pulumi.Output[str]
    creation_time: pulumi.Output[str]
    defer_completion: pulumi.Output[bool]
    task_counts: pulumi.Output[dict[str, int] | None]
    spec: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, spec: pulumi.Input[JobSpec], opts: pulumi.ResourceOptions | None = None, *,
                 adopt: bool = False, defer_completion: bool = False,
                 wait_for_completion: WaitForCompletion | None = None) -> None:
        props = {
            "spec": mark_secret_spec("job", spec), "adopt": adopt, "defer_completion": defer_completion,
            "owner": stack_owner(),
            "wait": wait_for_completion, "job_id": None, "state": None, "etag": None, "pool_id": None,
            "url": None, "creation_time": None, "terminate_reason": None, "task_counts": None,
        }
        super().__init__(_BatchJobProvider(), name, props, opts)
        # Known while the program runs, so tasks wired with job= need not wait for outputs that are unknown
        # at preview whenever the job has a pending change.
        plain = cast(dict[str, Any], spec) if is_plain(spec) else None
        self._known_id: pulumi.Input[str] = plain["id"] if plain else self.job_id
        self._known_rules: pulumi.Input[dict[str, Any]] = (job_rules(plain) if plain
                                                           else self.spec.apply(job_rules))
        self._instance_key: pulumi.Input[str] = replace_fingerprint(plain) if plain else self.creation_time


class WiringError(ValueError):
    """Raised while the program runs when a task or collection is not given its job (job= or job_id=)."""


@dataclass(frozen=True)
class JobWiring:
    """The inputs that tie a task or collection to its job, and the options that order it after the job."""

    job_id: pulumi.Input[str]
    job_instance: pulumi.Input[str] | None
    job_rules: pulumi.Input[dict[str, Any]] | None
    opts: pulumi.ResourceOptions | None


def wire_to_job(owner: str, job: BatchJob | None, job_id: pulumi.Input[str] | None,
                opts: pulumi.ResourceOptions | None) -> JobWiring:
    """job=: the job's id, rules and replace fingerprint as known while the program runs, and the task
    deleted with the job. job_id= (a literal, or an Output such as job.job_id): the id only; the job's rules
    are read from the live job at preview, and an Output orders the task after the job by itself."""
    if job is None:
        if job_id is None:
            raise WiringError(f"{owner}: give job=<BatchJob> or job_id=<the id of its job>")
        return JobWiring(job_id, None, None, opts)
    merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[job], deleted_with=job))
    return JobWiring(job_id if job_id is not None else job._known_id, job._instance_key, job._known_rules,
                     merged)


def is_plain(value: Any) -> bool:
    """True when a value holds no pulumi.Output anywhere."""
    if isinstance(value, pulumi.Output):
        return False
    if isinstance(value, dict):
        return all(is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    return True


def replace_fingerprint(spec: dict[str, Any]) -> str:
    """A digest of the fields whose change replaces the job: when it changes, the job's tasks are replaced
    with it (deleting a job deletes its tasks, batch-api.md 2.5)."""
    leaves: list[tuple[str, Any]] = []

    def walk(value: Any, parts: list[str]) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(value[key], [*parts, key])
        elif parts and rule_for("job", parts).rule == REPLACE:
            leaves.append((".".join(parts), value.lower() if parts == ["id"] else value))

    walk(spec, [])
    return hashlib.sha256(json.dumps(leaves, sort_keys=True, default=str).encode()).hexdigest()[:16]
