"""BatchJobSchedule: an Azure Batch job schedule (REST create body as `spec`) as a Pulumi dynamic resource.

Rules (batch-api.md 4.3) come from the job schedule's table in `providers.schema.job`: `id` and `displayName`
are fixed (a change replaces the schedule); `schedule`, `jobSpecification` and `metadata` are PATCHed in place
and apply only to jobs created after the update.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from providers import _base
from providers._base import (
    KEPT,
    BatchProvider,
    ProviderFailure,
    announce,
    connection,
    foreign_owner_text,
    owner_of,
    post_after_deletion,
    public,
    same_id,
    stack_owner,
    with_owner,
    without_owner,
)
from providers.client.errors import Conflict
from providers.schema import PATCH, REPLACE, check_job_schedule, root_type
from providers.schema.job import JOB_SCHEDULE
from providers.schema.normalise import normalise_body
from providers.secrets import mark_secret_spec
from providers.specs import JobScheduleSpec

KIND = "job_schedule"
DELETE_TIMEOUT_SECONDS = 300.0
# The schedule is compared field by field at the top level; each field's rule is the table's.
FIXED = tuple(f.name for f in JOB_SCHEDULE.fields if f.change == REPLACE)
PATCHABLE = tuple(f.name for f in JOB_SCHEDULE.fields if f.change == PATCH)
FUTURE_JOBS = "applies to jobs created after the update; the current job keeps its specification"


class SchedulePlan:
    """What differs between a desired schedule spec and the live schedule (top-level fields, with leaves)."""

    def __init__(self, desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> None:
        self.gone = live is None
        self.changed: dict[str, list[str]] = {}
        if live is None:
            return
        otype = root_type(KIND)
        live_form = normalise_body(otype, without_owner(dict(live)))
        desired_form = normalise_body(otype, dict(desired), live=live_form)
        for name in (*FIXED, *PATCHABLE):
            want, have = desired_form.get(name), live_form.get(name)
            if name == "id":
                if not same_id(str(want), str(have)):
                    self.changed[name] = [name]
            elif name == "metadata":
                if _by_name(want) != _by_name(have):
                    self.changed[name] = [name]
            elif want != have:
                self.changed[name] = _leaves(want, have, name)

    @property
    def has_changes(self) -> bool:
        """True when any field differs from live."""
        return bool(self.changed)

    @property
    def replaces(self) -> list[str]:
        """Property paths whose change forces a new schedule."""
        return [f"spec.{name}" for name in FIXED if name in self.changed]

    def patch_body(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The PATCH body: each changed updatable element whole (an absent element is unchanged, 4.3)."""
        body = {name: spec.get(name) for name in PATCHABLE if name in self.changed}
        if "metadata" in body and body["metadata"] is None:
            body["metadata"] = []
        return body

    def describe(self) -> list[str]:
        """Plan lines for preview; paths only, so no value (secret or not) is printed."""
        if self.gone:
            return ["+ the job schedule no longer exists in the service: it will be created"]
        lines = []
        for name, leaves in self.changed.items():
            for leaf in leaves:
                if name in FIXED:
                    lines.append(f"~ spec.{leaf}: replace (a job schedule's {name} cannot change, 4.3)")
                else:
                    lines.append(f"~ spec.{leaf}: update in place (PATCH); {FUTURE_JOBS}")
        return lines


def _by_name(items: Any) -> list[Any]:
    if items is not None and not isinstance(items, list):
        return [items]  # not known yet (preview): differs from any live list
    return sorted(items or [], key=lambda item: str(item.get("name")) if isinstance(item, dict) else "")


def _leaves(want: Any, have: Any, path: str) -> list[str]:
    """The paths of the differing leaves under `path` (whole lists count as one leaf)."""
    if isinstance(want, dict) and isinstance(have, dict):
        found: list[str] = []
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                found += _leaves(want.get(key), have.get(key), f"{path}.{key}")
        return found
    return [path]


class _BatchJobScheduleProvider(BatchProvider):
    """Create, diff against live, PATCH in place or replace, refresh and delete one job schedule."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the whole create body before anything is sent."""
        spec = _base.checkable_spec(news, KIND, "job schedule")
        if isinstance(spec, CheckResult):
            return spec
        return CheckResult({**news, "spec": spec}, _base.failures_from(check_job_schedule(spec)))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare the desired spec with the LIVE schedule: id/displayName replace, the rest PATCH."""
        spec = news.get("spec")
        if not isinstance(spec, dict):
            announce(f"BatchJobSchedule {id_!r}", ["+- spec: known after apply; the schedule may be replaced"])
            return DiffResult(changes=True, replaces=["spec"], delete_before_replace=True)
        # A field not known yet compares unequal: an unknown id or displayName may replace, the rest PATCH.
        plan = SchedulePlan(spec, connection().get_job_schedule(id_))
        announce(f"BatchJobSchedule {id_!r}", plan.describe())
        replaces = ["spec"] if plan.gone else plan.replaces
        return DiffResult(changes=plan.has_changes or plan.gone, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST the schedule marked with this stack; after a lost response or JobScheduleExists carry on only
        with an identical schedule this stack created (a run that died before its state was written)."""
        spec, owner = props["spec"], props.get("owner")
        client = connection()
        created = post_after_deletion(lambda: client.create_job_schedule(with_owner(spec, owner)),
                                      lambda: _wait_deleted(spec["id"]))
        live = client.get_job_schedule(spec["id"])
        if live is None:
            raise ProviderFailure(f"creating job schedule {spec['id']!r}: the service accepted it but cannot "
                                  "find it")
        remedy = f"`az batch job-schedule delete --job-schedule-id {spec['id']}`"
        if owner_of(live) != owner:
            raise ProviderFailure(foreign_owner_text(f"creating job schedule {spec['id']!r}: a schedule with "
                                                     "this id", owner_of(live), remedy))
        plan = SchedulePlan(spec, live)
        if plan.has_changes:
            raise ProviderFailure(f"creating job schedule {spec['id']!r}: a schedule with this id already exists "
                                  f"and differs from the desired spec ({'; '.join(plan.describe())}); make the "
                                  f"spec match it, change the id, or delete it ({remedy}) and run `pulumi up` "
                                  "again")
        if not created:
            announce(f"BatchJobSchedule {spec['id']!r}", [KEPT])
        return CreateResult(spec["id"], _outputs(props, live))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PATCH the changed elements with If-Match; the current job keeps its specification."""
        spec = news["spec"]
        client = connection()
        live = client.get_job_schedule(id_)
        if live is None:
            raise ProviderFailure(f"updating job schedule {id_!r}: it no longer exists; run `pulumi refresh`")
        body = SchedulePlan(spec, live).patch_body(spec)
        if "metadata" in body:  # PATCH replaces the whole list: keep the marker in it
            body = with_owner(body, news.get("owner") or owner_of(live))
        if body:
            client.patch_job_schedule(id_, body, if_match=live.get("eTag"))
        return UpdateResult(_outputs(news, client.get_job_schedule(id_) or live))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE (the service deletes its jobs too, 6.8) and wait until it is gone, so the id is free."""
        try:
            connection().delete_job_schedule(id_)
        except Conflict as error:  # an earlier delete (interrupted, or out of band) is already under way
            if error.code != "JobScheduleBeingDeleted":
                raise
        _wait_deleted(id_)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The live schedule for refresh: the same inputs when nothing drifted, the live fields when it did."""
        live = connection().get_job_schedule(id_)
        if live is None:
            return ReadResult(None, {})
        old_spec = props.get("spec") or {}
        spec = old_spec if not SchedulePlan(old_spec, live).has_changes else live_schedule_spec(without_owner(live))
        return ReadResult(id_, _outputs({**public(props), "spec": spec}, live),
                          inputs={"spec": spec, "owner": props.get("owner")})


# The name states written before the provider classes became private pickled; kept so they still load.
BatchJobScheduleProvider = _BatchJobScheduleProvider


def _wait_deleted(schedule_id: str) -> None:
    """Poll until the schedule is gone, so its id is free again."""
    client = connection()
    deadline = time.monotonic() + DELETE_TIMEOUT_SECONDS
    while client.get_job_schedule(schedule_id) is not None:
        if time.monotonic() > deadline:
            raise ProviderFailure(f"deleting job schedule {schedule_id!r}: still present after "
                                  f"{DELETE_TIMEOUT_SECONDS:.0f}s")
        time.sleep(0.25)


def live_schedule_spec(live: Mapping[str, Any]) -> dict[str, Any]:
    """The create-body fields of a live schedule."""
    return {name: live[name] for name in (*FIXED, *PATCHABLE) if live.get(name) not in (None, [])}


def _outputs(props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    recent = (live.get("executionInfo") or {}).get("recentJob") or {}
    return {"spec": props["spec"], "owner": props.get("owner"), "schedule_id": live.get("id"), "state": live.get("state"),
            "etag": live.get("eTag"), "recent_job_id": recent.get("id")}


class BatchJobSchedule(Resource, module="batch", name="JobSchedule"):
    """An Azure Batch job schedule; `spec` is the REST create body (camelCase). The service creates its jobs;
    a change to `schedule`/`jobSpecification`/`metadata` is a PATCH that applies to jobs created afterwards."""

    schedule_id: pulumi.Output[str]
    state: pulumi.Output[str]
    etag: pulumi.Output[str]
    recent_job_id: pulumi.Output[str | None]
    spec: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, spec: pulumi.Input[JobScheduleSpec],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"spec": mark_secret_spec(KIND, spec), "owner": stack_owner(), "schedule_id": None, "state": None, "etag": None,
                 "recent_job_id": None}
        super().__init__(_BatchJobScheduleProvider(), name, props, opts)
