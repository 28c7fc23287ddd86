"""BatchTaskCollection: many tasks of one job as ONE resource, added through add-task-collection.

Diffed as a set keyed by task id against the live job: added tasks are created, removed ones deleted, changed
ones replaced (tasks are immutable but for constraints, batch-api.md 4.2), constraints-only changes updated in
place. Creation chunks the tasks (≤ 100 tasks and < 1 MB per request, several requests in flight), halves a
chunk on 413, resubmits only failed tasks under the same ids, and treats `TaskExists` on a resubmission as
success (the earlier attempt landed).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)
from pulumi.runtime import rpc

from providers import _base, job_link
from providers._base import (
    BatchProvider,
    ProviderFailure,
    announce,
    connection,
    contains_unknown,
    foreign_owner_text,
    job_owned_by,
    public,
    stack_owner,
)
from providers.client import BatchClient
from providers.client.errors import BatchClientError, NotFound
from providers.collection_ops import TaskBatcher, delete_tasks, update_constraints, wait_for_tasks
from providers.diff import diff_task
from providers.factories import TaskFactory
from providers.job import BatchJob, WiringError, is_plain, wire_to_job
from providers.live_tasks import TaskComparison, stream_tasks
from providers.policy import collection_policy_failures, stack_policy_set
from providers.schema import check_task, coerce_numbers
from providers.secrets import mark_secret_spec
from providers.specs import TaskSpec, WaitForCompletion

# Above this many tasks the per-task exit codes are summarised, not exported one by one.
MAX_EXPORTED_EXIT_CODES = 20000


@dataclass
class SetPlan:
    """What an update does to each task of the collection."""

    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    replace: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def has_changes(self) -> bool:
        """True when any task must be created, deleted, replaced or updated."""
        return bool(self.create or self.delete or self.replace or self.update)

    def summary(self) -> str:
        """The one line preview shows for the collection."""
        return (f"{len(self.create)} to create, {len(self.delete)} to delete, {len(self.replace)} to replace "
                f"(immutable fields changed), {len(self.update)} to update in place (constraints), "
                f"{self.unchanged} unchanged")


class _BatchTaskCollectionProvider(BatchProvider):
    """Reconciles a set of tasks in one job."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate every task body, ids unique (case-insensitively) within the collection, and the
        cross-resource rules when the job is known (job=, or the live job for job_id=)."""
        problem = job_link.job_id_problem(news.get("job_id"))
        job_failures = [CheckFailure("", problem)] if problem is not None else []
        if _validated_before(olds, news) and not stack_policy_set():
            return CheckResult(news, job_failures)
        tasks, has_floats = _decode_for_check(news.get("tasks"))
        if has_floats is None and contains_unknown(tasks):
            return CheckResult(news, job_failures)
        if not isinstance(tasks, list):
            return CheckResult(news, [CheckFailure("", "tasks: must be a list of task create bodies")])
        rules = job_link.job_rules_of(connection, news)
        # Coercion only rewrites integral floats, so JSON text without a float needs none.
        coerced = [coerce_numbers("task", t) if isinstance(t, dict) and has_floats is not False else t
                   for t in tasks]
        failures: list[CheckFailure] = job_failures
        seen: set[str] = set()
        for index, task in enumerate(coerced):
            if not isinstance(task, dict):
                failures.append(CheckFailure("", f"tasks[{index}]: must be a task create body (an object)"))
                continue
            failures += _base.failures_from(check_task(task, rules), prefix=f"tasks[{index}]")
            key = str(task.get("id", "")).lower()
            if key in seen:
                failures.append(CheckFailure("", f"tasks[{index}].id: {task.get('id')!r} appears twice [rule: unique]"))
            seen.add(key)
        failures += collection_policy_failures(coerced)
        # Without a float nothing was coerced: the text the program sent stands as it is (no re-encoding).
        checked = news["tasks"] if has_floats is False else encode_tasks(coerced)
        return CheckResult({**news, "tasks": checked}, failures[:50])

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare the desired set with the live tasks; preview prints how many of each change. A task list
        not known yet is a change (the set plan is made at up); a job replaced takes the collection along."""
        job_id = job_link.current_job_id(olds, news)
        label = f"BatchTaskCollection {id_!r} (job {job_id})"
        moved = job_link.moved_keys(olds, news)
        if moved:
            announce(label, ["+- the job is replaced or another job is named: every task is added again"])
            return DiffResult(changes=True, replaces=moved, delete_before_replace=True)
        if not isinstance(news.get("tasks"), str) or contains_unknown(news.get("tasks")):
            announce(label, ["~ tasks: known after apply"])
            return DiffResult(changes=True, replaces=[], delete_before_replace=True)
        plan = plan_set({**news, "job_id": job_id}, olds)
        announce(label, [plan.summary()])
        options_changed = _options(olds) != _options(news)
        return DiffResult(changes=plan.has_changes or options_changed, replaces=[], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Add every task in chunks, then (if asked) let the job end when its tasks end. Tasks an earlier run
        of this stack added before it died are taken as they are when they equal the spec. When the service
        refuses some, the ones this create added are deleted again: a failed create leaves no task behind."""
        job_id, tasks = props["job_id"], decode_tasks(props["tasks"])
        client = connection()
        found = _resumable(client, props, tasks)
        batcher = TaskBatcher(client, job_id)
        try:
            batcher.add([task for task in tasks if str(task["id"]).lower() not in found] if found else tasks)
        except (ProviderFailure, BatchClientError):
            delete_tasks(client, job_id, batcher.added)
            raise
        _complete_job_if_asked(props)
        return CreateResult(f"{job_id}/{props['name']}", _outputs(props, tasks))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply the set plan: delete, replace (delete then add under the same id), add, update constraints."""
        plan = plan_set(news, olds)
        client, job_id = connection(), news["job_id"]
        delete_tasks(client, job_id, plan.delete + [t["id"] for t in plan.replace])
        TaskBatcher(client, job_id).add(plan.replace + plan.create)
        update_constraints(client, job_id, plan.update)
        _complete_job_if_asked(news)
        return UpdateResult(_outputs(news, decode_tasks(news["tasks"])))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete every task of the collection (already gone is fine)."""
        delete_tasks(connection(), props["job_id"], decode_ids(props.get("task_ids")))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the collection is gone only when its job is; task-level drift shows in the next diff."""
        if connection().get_job(props["job_id"]) is None:
            return ReadResult(None, {})
        return ReadResult(id_, public(props))


# The name states written before the provider classes became private pickled; kept so they still load.
BatchTaskCollectionProvider = _BatchTaskCollectionProvider


def encode_tasks(tasks: Any) -> Any:
    """The task list as one compact JSON string: the engine moves one string, not 10,000 objects, through
    every RPC and into the state (that alone took most of a 10,000-task `up`)."""
    return json.dumps(tasks, separators=(",", ":"), sort_keys=True) if isinstance(tasks, list) else tasks


def _validated_before(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """True when the task list and its job are exactly those of the last applied inputs, which check() accepted
    then: a no-op preview of 50,000 tasks skips validating them again (~0.5 s). A stack policy is applied even
    then (see check)."""
    tasks = news.get("tasks")
    return isinstance(tasks, str) and tasks == olds.get("tasks") and \
        all(news.get(key) == olds.get(key) for key in ("job_id", "job_rules", "job_instance"))


def _decode_for_check(tasks: Any) -> tuple[Any, bool | None]:
    """The task list, and whether its JSON text held a float (None: not known to be free of floats and
    unknowns). Both shortcuts are exact: the unknown sentinel is plain hex and dashes, so a string equal to it
    appears verbatim in the JSON text, and the float hook sees every number with a fraction or exponent."""
    if not (isinstance(tasks, str) and tasks.startswith("[")) or rpc.UNKNOWN in tasks:
        return decode_tasks(tasks), None
    floats: list[str] = []

    def parse_float(text: str) -> float:
        floats.append(text)
        return float(text)

    return json.loads(tasks, parse_float=parse_float), bool(floats)


def decode_tasks(tasks: Any) -> Any:
    """The task list from its JSON string (a list passes through; unknowns stay unknown)."""
    if isinstance(tasks, str) and tasks.startswith("["):
        return json.loads(tasks)
    return tasks


def encode_ids(ids: list[str]) -> str:
    """The task ids output as one JSON string: as a list, 10,000 ids cost ~0.15 s of CPU per `up` just to
    serialize in the provider process and deserialize in the program (and again in every later diff)."""
    return json.dumps(ids, separators=(",", ":"))


def decode_ids(ids: Any) -> list[str]:
    """The task ids from the output: a JSON string, or a list (states written before encode_ids)."""
    if isinstance(ids, str):
        return list(json.loads(ids)) if ids.startswith("[") else []
    return [str(i) for i in ids] if isinstance(ids, list) else []


def plan_set(news: dict[str, Any], olds: dict[str, Any]) -> SetPlan:
    """Classify each task: create, delete (ours, no longer desired), replace, update or unchanged. Live tasks
    are compared page by page as they arrive, with only the compared properties (live_tasks.stream_tasks)."""
    client, job_id = connection(), news["job_id"]
    desired = {str(t["id"]).lower(): t for t in decode_tasks(news["tasks"])}
    ours = {i.lower() for i in decode_ids(olds.get("task_ids"))}
    compare = TaskComparison(job_link.inherited_retry_count(job_link.job_rules_of(connection, news)))
    plan, seen, deleted = SetPlan(), set[str](), dict[str, str]()
    try:
        for live in stream_tasks(client, job_id):
            key = str(live["id"]).lower()
            seen.add(key)
            task = desired.get(key)
            if task is None:
                if key in ours:
                    deleted[key] = live["id"]
                continue
            verdict = compare.verdict(task, live)
            if verdict == "replace":
                plan.replace.append(task)
            elif verdict == "update":
                plan.update.append(task)
            else:
                plan.unchanged += 1
    except NotFound:
        plan, seen, deleted = SetPlan(), set(), {}  # the job is gone (deleted out of band): add every task
    plan.delete = [deleted[k] for k in sorted(deleted)]
    plan.create = [task for key, task in desired.items() if key not in seen]
    return plan


def _resumable(client: BatchClient, props: dict[str, Any], tasks: list[dict[str, Any]]) -> set[str]:
    """The (lower-case) ids of the collection's tasks already in the job: what an earlier run of this stack
    added before it was killed. Refused unless the job is this stack's and each of them equals its spec."""
    job_id = props["job_id"]
    desired = {str(t["id"]).lower(): t for t in tasks}
    try:
        live = [t for t in client.list_tasks(job_id) if str(t["id"]).lower() in desired]
    except NotFound:
        return set()  # the add names the missing job
    if not live:
        return set()
    label = f"creating BatchTaskCollection {props.get('name')!r}"
    ours, owner = job_owned_by(client, props)
    if not ours:
        raise ProviderFailure(foreign_owner_text(
            f"{label}: task {live[0]['id']} (one of {len(live)} of its tasks already in job {job_id!r})", owner,
            f"`az batch task delete --job-id {job_id} --task-id <id>` for each"))
    retry_default = job_link.inherited_retry_count(job_link.job_rules_of(connection, props))
    differing = [(t["id"], diff_task(desired[str(t["id"]).lower()], t, job_max_task_retry_count=retry_default))
                 for t in live]
    differing = [(task_id, plan) for task_id, plan in differing if plan.has_changes]
    if differing:
        shown = "; ".join(f"{task_id}: {', '.join(plan.describe())}" for task_id, plan in differing[:5])
        raise ProviderFailure(
            f"{label}: {len(live)} of its tasks are already in job {job_id!r}, added by an earlier run of "
            f"this stack, and {len(differing)} differ from the spec ({shown}); delete those (`az batch task delete --job-id "
            f"{job_id} --task-id <id>`) or put their earlier spec back, then run `pulumi up` again")
    announce(f"BatchTaskCollection {props.get('name')!r}",
             [(f"{len(live)} of {len(tasks)} tasks were added by an earlier, interrupted run of this stack: "
              f"kept; adding the other {len(tasks) - len(live)}")])
    return {str(t["id"]).lower() for t in live}


def _complete_job_if_asked(props: dict[str, Any]) -> None:
    """Race-free completion: the job was created with `noaction`; only now that every task is in, switch it
    to `terminatejob` (an empty job would otherwise complete at once, batch-api.md 6.2)."""
    if props.get("complete_job"):
        client = connection()
        job = client.get_job(props["job_id"])
        if job is not None and job.get("onAllTasksComplete") != "terminatejob":
            client.patch_job(props["job_id"], {"onAllTasksComplete": "terminatejob"})


def _options(props: dict[str, Any]) -> dict[str, Any]:
    return {"wait": props.get("wait"), "complete_job": bool(props.get("complete_job"))}


def _outputs(props: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The outputs for `props`, whose task list the caller has already decoded (`tasks`)."""
    outs = {k: props.get(k) for k in ("name", "job_id", "job_instance", "job_rules", "owner")}
    outs.update(_options(props))
    ids = [t["id"] for t in tasks]
    outs["task_ids"] = encode_ids(ids)
    outs["task_count"] = len(tasks)
    wait = props.get("wait")
    outs.update(wait_for_tasks(connection(), props["job_id"], ids, wait, MAX_EXPORTED_EXIT_CODES,
                               f"BatchTaskCollection {props.get('name')!r}")
                if isinstance(wait, dict) else {"counts": None, "exit_codes": None, "failures": None,
                                                "stdout_tail": None, "stderr_tail": None})
    return outs


class BatchTaskCollection(Resource, module="batch", name="TaskCollection"):
    """Many tasks of one job: `tasks=[task create bodies]` or `factory=ParametricSweep(...)`/`PerItem(...)`.

    Name its job with `job=job`, `job_id=job.job_id` or `job_id="id"`, as for BatchTask.
    """

    task_count: pulumi.Output[int]
    counts: pulumi.Output[dict[str, int] | None]
    exit_codes: pulumi.Output[dict[str, int] | None]
    failures: pulumi.Output[list[dict[str, Any]] | None]

    def __init__(self, name: str, job_id: pulumi.Input[str] | None = None,
                 tasks: Sequence[pulumi.Input[TaskSpec]] | None = None, factory: TaskFactory | None = None,
                 opts: pulumi.ResourceOptions | None = None, *, job: BatchJob | None = None,
                 wait_for_completion: WaitForCompletion | None = None) -> None:
        if (tasks is None) == (factory is None):
            raise WiringError(f"BatchTaskCollection {name!r}: give exactly one of tasks= or factory=")
        bodies = factory.expand() if factory is not None else list(tasks or [])
        wiring = wire_to_job(f"BatchTaskCollection {name!r}", job, job_id, opts)
        props = {
            "name": name, "job_id": wiring.job_id, "wait": wait_for_completion,
            "tasks": mark_secret_spec("task", encode_tasks(bodies) if is_plain(bodies)
                                      else pulumi.Output.from_input(bodies).apply(encode_tasks)),
            "job_instance": wiring.job_instance, "job_rules": wiring.job_rules,
            "complete_job": job.defer_completion if job is not None else False, "owner": stack_owner(),
            "task_ids": None, "task_count": None, "counts": None, "exit_codes": None, "failures": None,
            "stdout_tail": None, "stderr_tail": None,
        }
        super().__init__(_BatchTaskCollectionProvider(), name, props, wiring.opts)

    @property
    def task_ids(self) -> pulumi.Output[list[str]]:
        """The ids of the collection's tasks (the engine holds them as one string, see encode_ids)."""
        raw: pulumi.Output[Any] = self.__dict__["task_ids"]
        return raw.apply(decode_ids)
