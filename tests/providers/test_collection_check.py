"""BatchTaskCollection's check: every task validated, numbers coerced, unknowns left for later."""
from __future__ import annotations

import json

from pulumi.runtime import rpc

from providers.collection import BatchTaskCollectionProvider, encode_tasks


def _check(tasks: list[dict[str, object]]) -> tuple[list[dict[str, object]], list[str]]:
    result = BatchTaskCollectionProvider().check({}, {"tasks": encode_tasks(tasks), "job_id": "j", "job_rules": {}})
    return json.loads(result.inputs["tasks"]), [f.reason for f in result.failures]


def test_integral_floats_become_ints_and_valid_tasks_pass() -> None:
    tasks, failures = _check([{"id": "a", "commandLine": "x", "requiredSlots": 2.0},
                              {"id": "b", "commandLine": "y"}])
    assert failures == []
    assert tasks[0]["requiredSlots"] == 2 and isinstance(tasks[0]["requiredSlots"], int)
    assert tasks[1] == {"id": "b", "commandLine": "y"}


def test_a_fractional_number_and_a_repeated_id_are_refused_with_their_paths() -> None:
    _, failures = _check([{"id": "a", "commandLine": "x", "requiredSlots": 1.5},
                          {"id": "A", "commandLine": "y"}])
    assert any(f.startswith("tasks[0].requiredSlots:") for f in failures)
    assert any(f.startswith("tasks[1].id:") and "[rule: unique]" in f for f in failures)


def test_a_task_holding_an_unknown_value_is_not_checked_yet() -> None:
    tasks, failures = _check([{"id": rpc.UNKNOWN, "commandLine": "not/ valid id is fine later"},
                              {"id": "bad id!", "commandLine": "x"}])
    assert failures == []
    assert tasks[0]["id"] == rpc.UNKNOWN
