"""The node facts of batch_service/backend/nodes.py, rule by rule: allocation on this machine, shown states,
transitions, which nodes a shrink removes, and the verbs' state rules."""
from __future__ import annotations

import pytest

from batch_service.backend import nodes
from batch_service.backend.errors import BatchServiceError

WHEN = "2025-07-01T12:00:00.0000000Z"


def test_allocation_gives_dedicated_nodes_first_and_says_when_it_gives_fewer() -> None:
    assert nodes.allocate(2, 1, 8) == nodes.Allocation(2, 1, [])
    clipped = nodes.allocate(6, 4, 8)
    assert (clipped.dedicated, clipped.low_priority) == (6, 2)
    assert [error["code"] for error in clipped.errors] == ["AccountCoreQuotaReached"]
    assert {"name": "MaxNodes", "value": "8"} in clipped.errors[0]["values"]


def test_the_shown_state_comes_from_the_condition_then_the_tasks_then_scheduling() -> None:
    record = nodes.new_record("n0", True, WHEN)
    assert nodes.shown_state(record, 0) == "idle"
    assert nodes.shown_state(record, 2) == "running"
    record["schedulingState"] = "disabled"
    assert nodes.shown_state(record, 0) == "offline"
    assert nodes.shown_state(record, 1) == "running"
    nodes.move_condition(record, "rebooting", WHEN)
    assert nodes.shown_state(record, 1) == "rebooting"


def test_conditions_and_allocation_states_move_only_along_their_tables() -> None:
    record = nodes.new_record("n0", True, WHEN)
    nodes.move_condition(record, "leavingpool", WHEN)
    with pytest.raises(ValueError):
        nodes.move_condition(record, "ready", WHEN)
    nodes.require_allocation_transition("resizing", "stopping")
    with pytest.raises(ValueError):
        nodes.require_allocation_transition("steady", "stopping")


def test_a_shrink_removes_the_least_busy_then_the_newest_nodes() -> None:
    records = [nodes.new_record(f"n{n}", True, WHEN) for n in range(4)]
    order = nodes.removal_order(records, {"n0": 1, "n1": 0, "n2": 2, "n3": 0})
    assert [record["id"] for record in order] == ["n3", "n1", "n0", "n2"]


@pytest.mark.parametrize(("verb", "state", "code"), [
    ("reboot", "rebooting", "NodeBeingRebooted"),
    ("reboot", "leavingpool", "OperationInvalidForCurrentState"),
    ("scheduling", "rebooting", "NodeBeingRebooted"),
    ("remove", "leavingpool", "OperationInvalidForCurrentState"),
])
def test_a_verb_asked_of_a_busy_node_is_a_conflict(verb: str, state: str, code: str) -> None:
    with pytest.raises(BatchServiceError) as raised:
        nodes.check_node_rule(verb, state)
    assert (raised.value.status, raised.value.code) == (409, code)
    nodes.check_node_rule(verb, "idle")


def test_options_default_to_requeue_and_unknown_ones_are_refused() -> None:
    assert nodes.option_of(None, "nodeRebootOption", nodes.REBOOT_OPTIONS) == "requeue"
    assert nodes.option_of({"nodeRebootOption": "TaskCompletion"}, "nodeRebootOption",
                           nodes.REBOOT_OPTIONS) == "taskcompletion"
    with pytest.raises(BatchServiceError) as raised:
        nodes.option_of({"nodeDisableSchedulingOption": "retaineddata"}, "nodeDisableSchedulingOption",
                        nodes.DISABLE_SCHEDULING_OPTIONS)
    assert (raised.value.status, raised.value.code) == (400, "InvalidPropertyValue")
