"""The real Azure Batch service's recorded answers as the providers' oracle.

Each real pair (what a create, PUT, PATCH or update asked for, and what the real service reported afterwards in a
GET or a list page) must give an empty diff; each property the service reported for something the request left
out must be a default the schema tables know; and nothing the real service accepted may be refused.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from batch_api import POOL_SPECIFICATION
from batch_api.model import NO_DEFAULT, Field, ObjectType
from providers.diff import diff_job, diff_task
from providers.schedule import SchedulePlan
from providers.schema import check_job, check_job_schedule, check_task, root_type
from providers.schema.normalise import ABSENT, normalise_value
from tests.support.recordings import CONVERSATIONS, RUN_TIME, Pair, as_auto_pool_job, load, raw, real_pairs

PAIRS = real_pairs()

POOL_ONLY = frozenset({"id"})  # a pool's own id: the auto-pool specification has none


def _plan_lines(pair: Pair) -> list[str]:
    if pair.kind == "job":
        return diff_job(pair.desired, pair.reported).describe()
    if pair.kind == "task":
        return diff_task(pair.desired, pair.reported).describe()
    if pair.kind == "job_schedule":
        plan = SchedulePlan(pair.desired, pair.reported)
        return [f"{name}: {leaves}" for name, leaves in plan.changed.items()]
    return diff_job(as_auto_pool_job(pair.desired), as_auto_pool_job(pair.reported)).describe()


def test_the_recordings_give_real_pairs_of_every_kind() -> None:
    kinds = {pair.kind for pair in PAIRS}
    assert kinds == {"job", "task", "job_schedule", "pool"}
    assert len(PAIRS) == 18
    assert any(pair.name.endswith("list") or " list " in pair.name for pair in PAIRS)


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.name for pair in PAIRS])
def test_a_real_pair_has_no_diff(pair: Pair) -> None:
    lines = _plan_lines(pair)
    assert not lines, f"{pair.name}: the provider would change what the real service reported:\n" + "\n".join(lines)


def _root(kind: str) -> ObjectType:
    return POOL_SPECIFICATION if kind == "pool" else root_type(kind)


def _missing_defaults(otype: ObjectType, asked: Any, reported: Any, path: str, kind: str) -> list[str]:
    """Each reported property the request left out whose value the table's default does not give."""
    asked = asked if isinstance(asked, dict) else {}
    missing: list[str] = []
    for name, value in reported.items():
        where = f"{path}.{name}" if path else name
        f = otype.field(name)
        if name in RUN_TIME or (kind == "pool" and not path and name in POOL_ONLY):
            continue
        if f is None:
            missing.append(f"{where}: reported, but the schema does not know this property")
        elif not f.read_only:
            missing.extend(_field_missing(f, asked.get(name), value, where, kind))
    return missing


def _field_missing(f: Field, asked: Any, value: Any, where: str, kind: str) -> list[str]:
    otype = f.object_type
    if f.kind == "object" and otype is not None and isinstance(value, dict):
        return _object_missing(f, otype, asked, value, where, kind)
    if f.kind == "list" and isinstance(value, list):
        if asked is None:
            return [f"{where}: reported {value!r} when left out"] if value else []
        items = asked if isinstance(asked, list) else []
        return [line for index, item in enumerate(value) if otype is not None and isinstance(item, dict)
                for line in _missing_defaults(otype, items[index] if index < len(items) else {}, item,
                                              f"{where}[{index}]", kind)]
    if asked is not None or (f.inherit is not None and kind == "task"):
        return []  # asked for (compared by the diff), or the job's value a task inherits
    if f.default is NO_DEFAULT:
        return [f"{where}: reported {value!r} when left out, but the table has no default"]
    known = [normalise_value(f, copy.deepcopy(d), {}, ABSENT) for d in (f.default, *f.also_default)]
    if normalise_value(f, value, {}, ABSENT) not in known:
        return [f"{where}: reported {value!r} when left out, but the table's default is {f.default!r}"]
    return []


def _object_missing(f: Field, otype: ObjectType, asked: Any, value: dict[str, Any], where: str,
                    kind: str) -> list[str]:
    inner = _missing_defaults(otype, asked, value, where, kind)
    if asked is not None:
        return inner
    if f.default is NO_DEFAULT:
        return [f"{where}: reported {value!r} when left out, but the table has no default for the object", *inner]
    if f.default == {}:
        return inner  # an object whose members carry the defaults (constraints)
    known = [normalise_value(f, copy.deepcopy(d), {}, ABSENT) for d in (f.default, *f.also_default)]
    if normalise_value(f, copy.deepcopy(value), {}, ABSENT) in known:
        return []
    return inner or [f"{where}: reported {value!r} when left out, but the table's default is {f.default!r}"]


def test_every_default_the_real_service_reported_is_known_to_the_schema() -> None:
    missing: set[str] = set()
    for pair in PAIRS:
        missing.update(f"{pair.kind}: {line}" for line in
                       _missing_defaults(_root(pair.kind), pair.desired, pair.reported, "", pair.kind))
    assert not missing, "defaults the schema does not know:\n" + "\n".join(sorted(missing))


def test_every_property_of_the_specification_examples_is_known_to_the_schema() -> None:
    examples = raw("spec_examples")["examples"]
    unknown = []
    for example in examples:
        unknown += [f"{example['path']}: {line}" for line in
                    _missing_defaults(_root(example["kind"]), example["body"], example["body"], "", example["kind"])]
    assert not unknown, "\n".join(unknown)


def _accepted_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    """Every create body of a job, task, job schedule or pool the real service accepted (2xx)."""
    found = []
    for name in CONVERSATIONS:
        for index, ex in enumerate(load(name).exchanges):
            collection = ex.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            if ex.method == "POST" and ex.status < 300 and isinstance(ex.request, dict) and "id" in ex.request:
                kind = {"jobs": "job", "tasks": "task", "jobschedules": "job_schedule", "pools": "pool"}[collection]
                found.append((f"{name} #{index} {kind}", kind, ex.request))
    return found


ACCEPTED = _accepted_bodies()


@pytest.mark.parametrize(("name", "kind", "body"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_validation_refuses_nothing_the_real_service_accepted(name: str, kind: str, body: dict[str, Any]) -> None:
    if kind == "pool":
        problems = check_job(as_auto_pool_job(body))  # a pool is checked as a job's auto-pool specification
    else:
        problems = {"job": check_job, "task": check_task, "job_schedule": check_job_schedule}[kind](body)
    assert problems == [], f"{name} was accepted by the real service"


def test_the_recordings_cover_what_the_issue_names() -> None:
    # The auto-pool job whose pool leaves out node counts and scheduling policy, accepted with 201.
    create = load("jobs").exchanges[0]
    pool = create.request["poolInfo"]["autoPoolSpecification"]["pool"]
    assert create.status == 201 and "targetDedicatedNodes" not in pool and "taskSchedulingPolicy" not in pool
    assert len(ACCEPTED) == 9


def _leaves(body: Any, path: str = "") -> dict[str, Any]:
    if isinstance(body, dict):
        return {k: v for name, value in body.items() for k, v in _leaves(value, f"{path}.{name}").items()}
    if isinstance(body, list) and body:
        return {k: v for i, item in enumerate(body) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: body}


def test_the_real_pairs_hold_each_case_that_must_not_diff() -> None:
    asked = [_leaves(pair.desired) for pair in PAIRS]
    reported = [_leaves(pair.reported) for pair in PAIRS]
    pairs = list(zip(asked, reported, strict=True))
    # A duration in another spelling, an enum in another case, the "unlimited" value, a list sent empty and
    # reported absent: each is in at least one pair, so the clean diffs above cover it.
    assert any(a.get(".schedule.startWindow") == "PT01H00M00S" and r.get(".schedule.startWindow") == "PT1H"
               for a, r in pairs)
    assert any(a.get(".taskSchedulingPolicy.nodeFillType") == "pack"
               and r.get(".taskSchedulingPolicy.nodeFillType") == "Pack" for a, r in pairs)
    assert any("P10675199DT2H48M5.4775807S" in r.values() for r in reported)
    assert any(a.get(".applicationPackageReferences") == [] and not any(
        k.startswith(".applicationPackageReferences") for k in r) for a, r in pairs)


# Bodies the real service refused that no check before sending can refuse, and why.
REFUSED_ONLY_BY_THE_SERVICE = {
    "subnetId": "the subnet belongs to another subscription than the account's: only the service knows its account",
}


def test_a_body_the_real_service_refused_for_its_form_is_refused_before_it_is_sent() -> None:
    refused = [(ex.request, ex.response) for name in CONVERSATIONS for ex in load(name).exchanges
               if ex.method == "POST" and ex.status == 400 and isinstance(ex.request, dict)]
    assert len(refused) == 2
    for body, answer in refused:
        named = next(v["value"] for v in answer["values"] if v["key"] == "PropertyName")
        problems = check_job(as_auto_pool_job(body))
        if named in REFUSED_ONLY_BY_THE_SERVICE:
            assert problems == []
        else:
            assert [p.path.rsplit(".", 1)[-1] for p in problems] == [named], problems
