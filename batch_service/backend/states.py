"""Job and task state machines as data (section 6): allowed (from, to) pairs and, per operation, the states
in which it acts, the states in which it is accepted without effect, and the 409 it answers otherwise."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from batch_service.backend import errors
from batch_service.backend.errors import BatchServiceError

JOB_STATES = ("active", "disabling", "disabled", "enabling", "terminating", "completed", "deleting")
TASK_STATES = ("active", "preparing", "running", "completed")
_LIVE_JOB_STATES = frozenset({"active", "disabling", "disabled", "enabling"})

# Section 6.1. `active -> completed` is the auto-pool creation failure; every state but deleting may be deleted.
JOB_TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("active", "disabling"), ("disabling", "disabled"),
    ("disabled", "enabling"), ("enabling", "active"),
    ("active", "terminating"), ("disabling", "terminating"), ("disabled", "terminating"),
    ("enabling", "terminating"), ("terminating", "completed"), ("active", "completed"),
    *((state, "deleting") for state in JOB_STATES if state != "deleting"),
})

# Section 6.3: the normal path, retries/requeues back to active, terminate from any live state, reactivate.
TASK_TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("active", "preparing"), ("active", "running"), ("preparing", "running"),
    ("preparing", "active"), ("running", "active"),
    ("running", "completed"), ("preparing", "completed"), ("active", "completed"),
    ("completed", "active"),
})


class InvalidTransition(Exception):
    """A state change the tables above do not allow (a scheduler bug, never a client error)."""


def _job_conflict(state: str) -> BatchServiceError:
    # Section 2.5 names these codes; which appears in which state is UNCONFIRMED there, so the closest fits.
    if state == "deleting":
        return errors.job_being_deleted()
    if state == "terminating":
        return errors.job_being_terminated()
    if state == "completed":
        return errors.job_completed()
    return errors.job_not_active()


def _task_not_completed(state: str) -> BatchServiceError:
    return errors.task_not_completed()


def _task_completed(state: str) -> BatchServiceError:
    return errors.task_completed()


@dataclass(frozen=True)
class Rule:
    """Where an operation acts, where it is accepted as a no-op, and what it answers elsewhere."""

    acts_in: frozenset[str]
    no_op_in: frozenset[str] = frozenset()
    conflict: Callable[[str], BatchServiceError] = _job_conflict


# Keyed by operation; checked against the job's state.
JOB_RULES: dict[str, Rule] = {
    "update": Rule(_LIVE_JOB_STATES),
    # Section 2.5: disabling a job in any state but active/disabling/disabled is a 409.
    "disable": Rule(frozenset({"active"}), frozenset({"disabling", "disabled"})),
    "enable": Rule(frozenset({"disabled"}), frozenset({"enabling", "active"})),
    "terminate": Rule(_LIVE_JOB_STATES),
    "delete": Rule(frozenset(state for state in JOB_STATES if state != "deleting")),
    "add_tasks": Rule(frozenset({"active"})),
    "update_task": Rule(_LIVE_JOB_STATES | {"terminating"}),
    "terminate_task": Rule(frozenset(state for state in JOB_STATES if state != "deleting")),
    "delete_task": Rule(frozenset(state for state in JOB_STATES if state != "deleting")),
    # Section 2.5: reactivate fails when the job is completed, terminating or deleting.
    "reactivate_task": Rule(_LIVE_JOB_STATES),
}

# Keyed by operation; checked against the task's state (after the job rule passed).
TASK_RULES: dict[str, Rule] = {
    "terminate": Rule(frozenset({"active", "preparing", "running"}), conflict=_task_completed),
    "reactivate": Rule(frozenset({"completed"}), conflict=_task_not_completed),
    "update": Rule(frozenset(TASK_STATES)),
    "delete": Rule(frozenset(TASK_STATES)),
}


def check(rule: Rule, state: str) -> bool:
    """True when the operation acts in `state`, False when it is a no-op there; raises the 409 otherwise."""
    if state in rule.acts_in:
        return True
    if state in rule.no_op_in:
        return False
    raise rule.conflict(state)


def require_job_transition(from_state: str, to_state: str) -> None:
    """Raise InvalidTransition unless section 6.1 allows from_state -> to_state."""
    if (from_state, to_state) not in JOB_TRANSITIONS:
        raise InvalidTransition(f"job cannot go from {from_state} to {to_state}")


def require_task_transition(from_state: str, to_state: str) -> None:
    """Raise InvalidTransition unless section 6.3 allows from_state -> to_state."""
    if (from_state, to_state) not in TASK_TRANSITIONS:
        raise InvalidTransition(f"task cannot go from {from_state} to {to_state}")
