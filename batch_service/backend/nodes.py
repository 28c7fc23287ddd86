"""Compute nodes of the local service, as data: the node records a pool keeps, how many nodes a pool can get
on this machine, the state each node shows, and the rules of the node verbs. No I/O here.

Every node of every pool is a virtual node of this one machine: they share the node directory
(<data-dir>/node) and the --max-slots cap on task slots running at once. A pool can therefore hold at most
--max-slots nodes (dedicated first, then low-priority): more could never all be busy. Asking for more ends
the resize with the nodes that fit and a `resizeErrors` entry saying so.

A node record is what is stored with the pool: {id, isDedicated, condition, schedulingState, allocationTime,
lastBootTime, stateTransitionTime, users}. `condition` is `ready`, `rebooting`, `reimaging`, `deallocating`,
`deallocated`, `starting` or `leavingpool`; the `state` the API
shows is derived from it and from the tasks running on the node (section 6.3 for task states).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batch_service.backend import errors
from batch_service.backend.errors import BatchServiceError

Record = dict[str, Any]
DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")
REBOOT_OPTIONS = DEALLOCATION_OPTIONS
DISABLE_SCHEDULING_OPTIONS = ("requeue", "terminate", "taskcompletion")
NODE_AGENT_VERSION = "local-1.0"
# The directories of a node's root (section 10.2), there before any task runs.
NODE_DIRECTORIES = ("shared", "startup", "workitems", "fsmounts", "applications", "volatile")

# Pool allocation state (steady -> resizing -> steady; stopresize goes through stopping).
ALLOCATION_TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("steady", "resizing"), ("resizing", "steady"), ("resizing", "stopping"), ("stopping", "steady"),
})
# Node conditions: a reboot, a reimage, a deallocation (and the start after it) and a removal take a node out
# of service. A removal may interrupt any of them.
CONDITION_TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("ready", "rebooting"), ("rebooting", "ready"), ("ready", "reimaging"), ("reimaging", "ready"),
    ("ready", "deallocating"), ("deallocating", "deallocated"), ("deallocated", "starting"), ("starting", "ready"),
    *((condition, "leavingpool") for condition in ("ready", "rebooting", "reimaging", "deallocating", "deallocated",
                                                    "starting")),
})
# What a node that was in the middle of a change is on the next start of the service (the change completes).
SETTLED_ON_RESTART = {"rebooting": "ready", "reimaging": "ready", "starting": "ready", "deallocating": "deallocated"}


def require_allocation_transition(from_state: str, to_state: str) -> None:
    """Raise ValueError unless the pool's allocationState may go from_state -> to_state."""
    if (from_state, to_state) not in ALLOCATION_TRANSITIONS:
        raise ValueError(f"allocationState cannot go from {from_state} to {to_state}")


def move_condition(record: Record, to_condition: str, when: str) -> None:
    """Enter `to_condition` (checked against CONDITION_TRANSITIONS)."""
    if (record["condition"], to_condition) not in CONDITION_TRANSITIONS:
        raise ValueError(f"node cannot go from {record['condition']} to {to_condition}")
    record["condition"] = to_condition
    record["stateTransitionTime"] = when


@dataclass(frozen=True)
class NodeRule:
    """The node states (as shown) in which a verb acts; anything else answers a 409."""

    acts_in: frozenset[str]


NODE_RULES: dict[str, NodeRule] = {
    # The SDK documents: a node can be restarted only when it is idle or running.
    "reboot": NodeRule(frozenset({"idle", "running", "offline"})),
    # "You can reimage a Compute Node only if it is in an idle or running state."
    "reimage": NodeRule(frozenset({"idle", "running", "offline"})),
    # "You can deallocate a Compute Node only if it is in an idle or running state."
    "deallocate": NodeRule(frozenset({"idle", "running", "offline"})),
    # "You can start a Compute Node only if it has been deallocated."
    "start": NodeRule(frozenset({"deallocated"})),
    # "You can add/update/delete a user account on a Compute Node only when it is in the idle or running state."
    "users": NodeRule(frozenset({"idle", "running", "offline"})),
    "scheduling": NodeRule(frozenset({"idle", "running", "offline"})),
    "remove": NodeRule(frozenset({"idle", "running", "offline", "rebooting", "reimaging", "deallocating",
                                  "deallocated", "starting"})),
}


def check_node_rule(verb: str, state: str) -> None:
    """Raise the 409 for a verb asked of a node in a state where it does not act."""
    if state in NODE_RULES[verb].acts_in:
        return
    raise node_conflict(state)


def node_conflict(state: str) -> BatchServiceError:
    """The 409 for a node that is busy with something else."""
    if state == "rebooting":
        return errors.node_being_rebooted()
    if state == "reimaging":
        return errors.node_being_reimaged()
    return errors.invalid_for_current_state(f"The node is {state}.")


@dataclass(frozen=True)
class Allocation:
    """How many nodes of each kind a pool gets, and the resize errors when that is fewer than asked."""

    dedicated: int
    low_priority: int
    errors: list[dict[str, Any]]


def allocate(target_dedicated: int, target_low_priority: int, max_nodes: int) -> Allocation:
    """The nodes this machine gives a pool asking for the targets (dedicated first)."""
    dedicated = min(target_dedicated, max_nodes)
    low_priority = min(target_low_priority, max_nodes - dedicated)
    problems = []
    if (dedicated, low_priority) != (target_dedicated, target_low_priority):
        problems.append({
            "code": "AccountCoreQuotaReached",
            "message": f"The local service gives a pool at most {max_nodes} nodes (its --max-slots); "
                       f"{dedicated} dedicated and {low_priority} low-priority nodes were allocated.",
            "values": [{"name": "MaxNodes", "value": str(max_nodes)},
                       {"name": "TargetDedicatedNodes", "value": str(target_dedicated)},
                       {"name": "TargetLowPriorityNodes", "value": str(target_low_priority)}],
        })
    return Allocation(dedicated, low_priority, problems)


def new_record(node_id: str, dedicated: bool, when: str) -> Record:
    """A node that has just joined the pool (ready at once: there is no VM to start)."""
    return {"id": node_id, "isDedicated": dedicated, "condition": "ready", "schedulingState": "enabled",
            "allocationTime": when, "lastBootTime": when, "stateTransitionTime": when}


def shown_state(record: Mapping[str, Any], running: int) -> str:
    """The node `state` of the API: rebooting / leavingpool, else running, offline or idle."""
    if record["condition"] != "ready":
        return str(record["condition"])
    if running:
        return "running"
    return "offline" if record["schedulingState"] == "disabled" else "idle"


def removal_order(records: list[Record], running: Mapping[str, int]) -> list[Record]:
    """Which nodes a shrink removes first: the least busy, then the newest."""
    indexed = list(enumerate(records))
    indexed.sort(key=lambda pair: (running.get(pair[1]["id"], 0), -pair[0]))
    return [record for _, record in indexed]


def read_model(record: Mapping[str, Any], pool: Mapping[str, Any], running_tasks: int, running_slots: int,
               counters: Mapping[str, int], recent: list[dict[str, Any]]) -> dict[str, Any]:
    """The BatchNode the API returns (url as a path; the HTTP layer prefixes the endpoint)."""
    node_id = record["id"]
    model: dict[str, Any] = {
        "id": node_id, "url": f"/pools/{pool['id']}/nodes/{node_id}",
        "state": shown_state(record, running_tasks), "schedulingState": record["schedulingState"],
        "stateTransitionTime": record["stateTransitionTime"], "lastBootTime": record["lastBootTime"],
        "allocationTime": record["allocationTime"], "ipAddress": "127.0.0.1", "affinityId": f"TVM:{node_id}",
        "vmSize": pool.get("vmSize", "local"), "totalTasksRun": counters.get("run", 0),
        "runningTasksCount": running_tasks, "runningTaskSlotsCount": running_slots,
        "totalTasksSucceeded": counters.get("succeeded", 0),
    }
    if recent:
        model["recentTasks"] = recent
    model["isDedicated"] = record["isDedicated"]
    model["nodeAgentInfo"] = {"version": NODE_AGENT_VERSION, "lastUpdateTime": record["allocationTime"]}
    return model


def option_of(body: object, name: str, allowed: tuple[str, ...], default: str = "requeue") -> str:
    """A deallocation-style option from an optional body: `default` when absent, 400 when unknown."""
    if body in (None, {}):
        return default
    if not isinstance(body, dict):
        raise errors.invalid_request_body("The body must be a JSON object.")
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str) or value.lower() not in allowed:
        raise errors.invalid_property(name, f"Allowed values: {', '.join(allowed)}.")
    return value.lower()
