"""The scheduler's pure rules: exit-condition resolution, dependencies, node placement, durations."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from batch_service.durations import duration_seconds
from batch_service.scheduler.model import (
    DependencyBook,
    ExitOptions,
    PendingQueue,
    PoolSlots,
    resolve_exit_options,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "examples"
CONDITIONS = {
    "exitCodes": [{"code": 0, "exitOptions": {"jobAction": "terminate"}},
                  {"code": 3, "exitOptions": {"dependencyAction": "satisfy"}}],
    "exitCodeRanges": [{"start": 2, "end": 5, "exitOptions": {"jobAction": "disable"}}],
    "preProcessingError": {"jobAction": "none"},
    "default": {"dependencyAction": "satisfy"},
}


@pytest.mark.parametrize(("code", "kind", "expected"), [
    (0, "none", ExitOptions("terminate", "satisfy")),       # zero listed explicitly
    (3, "exit", ExitOptions("terminate", "satisfy")),       # exitCodes before ranges
    (4, "exit", ExitOptions("disable", "block")),           # range
    (9, "exit", ExitOptions("terminate", "satisfy")),       # default
    (None, "preprocessing", ExitOptions("none", "block")),  # specific pre-processing entry
    (None, "fileupload", ExitOptions("terminate", "satisfy")),  # no fileUploadError entry: default
    (4, "fileupload", ExitOptions("disable", "block")),     # a matched exit code wins over fileUploadError
])
def test_exit_conditions_resolve_in_the_documented_order(code: int | None, kind: str,
                                                         expected: ExitOptions) -> None:
    assert resolve_exit_options(CONDITIONS, code, kind) == expected


def test_built_in_defaults_without_exit_conditions() -> None:
    assert resolve_exit_options(None, 0, "none") == ExitOptions("none", "satisfy")
    assert resolve_exit_options(None, 1, "exit") == ExitOptions("terminate", "block")
    assert resolve_exit_options({}, None, "cancelled") == ExitOptions("none", "block")


def test_documented_example_range_terminates_the_job() -> None:
    body = json.loads((EXAMPLES / "task-create-exit-conditions.json").read_text())
    assert resolve_exit_options(body["exitConditions"], 3, "exit").job_action == "terminate"
    assert resolve_exit_options(body["exitConditions"], 1, "exit") == ExitOptions("terminate", "block")


def test_ranges_ignore_leading_zeros_and_non_integer_ids() -> None:
    book = DependencyBook()
    for task_id in ("001", "2", "abc", "0003"):
        book.add(task_id)
    depends = {"taskIdRanges": [{"start": 1, "end": 3}]}
    assert not book.ready(depends)
    book.settle("001", True)
    book.settle("2", True)
    assert not book.ready(depends)
    book.settle("0003", True)
    assert book.ready(depends)
    assert book.ready({"taskIdRanges": [{"start": 1, "end": 1_000_000_000}]})


def test_listed_parents_must_exist_and_satisfy_case_insensitively() -> None:
    book = DependencyBook()
    assert not book.ready({"taskIds": ["Parent"]})
    book.add("parent")
    book.settle("parent", True)
    assert book.ready({"taskIds": ["PARENT"]})
    book.settle("parent", False)
    assert not book.ready({"taskIds": ["parent"]})


def test_spread_uses_the_emptiest_node_and_pack_the_fullest() -> None:
    spread = PoolSlots.build("p", 2, 2, "spread")
    first = spread.place(1)
    assert first is not None
    first.used += 1
    second = spread.place(1)
    assert second is not None and second.node_id != first.node_id
    pack = PoolSlots.build("p", 2, 2, "pack")
    first = pack.place(1)
    assert first is not None
    first.used += 1
    assert pack.place(1) is first


def test_required_slots_and_exclusive_placement() -> None:
    pool = PoolSlots.build("p", 2, 2, "pack")
    assert pool.place(3) is None
    exclusive = pool.place(1, exclusive=True)
    assert exclusive is not None and exclusive.node_id == "tvm-local-p-1"
    exclusive.used, exclusive.exclusive = 1, True
    other = pool.place(2)
    assert other is not None and other.node_id == "tvm-local-p-0"
    assert pool.place_distinct(2) is None


def test_pending_queue_keeps_creation_order_on_requeue() -> None:
    queue = PendingQueue()
    for order, task_id in enumerate(["a", "b", "c"]):
        queue.push(task_id, order)
    queue.discard("a")
    queue.push("a", 0)
    queue.push("a", 0)
    assert [task_id for _, task_id in queue] == ["a", "b", "c"]


@pytest.mark.parametrize(("value", "seconds"), [
    ("PT1M30S", 90.0), ("P1D", 86400.0), (None, None), ("P10675199DT2H48M5.4775807S", None)])
def test_durations(value: str | None, seconds: float | None) -> None:
    assert duration_seconds(value) == seconds
