"""The scheduler's pure parts: durations, exit-condition resolution, dependencies, slots on virtual nodes.

No I/O and no asyncio here, so each rule is tested on its own. Batch facts cite
../shared/reference/batch-api.md (sections 3.5, 3.6, 6.4-6.6).
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

JobAction = Literal["none", "disable", "terminate"]
DependencyAction = Literal["satisfy", "block"]
_INTEGER_ID = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class ExitOptions:
    """What one task completion does to its job and its dependents (section 3.6)."""

    job_action: JobAction
    dependency_action: DependencyAction


SUCCESS_OPTIONS = ExitOptions("none", "satisfy")


def resolve_exit_options(exit_conditions: dict[str, Any] | None, exit_code: int | None,
                         failure_kind: str) -> ExitOptions:
    """Pick the ExitOptions for a completed task, in the order of section 6.5."""
    conditions = exit_conditions or {}
    matched = _options_for_code(conditions, exit_code) if exit_code is not None else None
    if matched is not None:
        return _with_defaults(matched, failed=exit_code != 0 or failure_kind != "none")
    if failure_kind == "cancelled":
        # Ended by the user or by the job ending: that is no reason to act on the job again.
        return ExitOptions("none", "block")
    if failure_kind == "none":
        # Exit code 0 that is not listed: success with the built-in defaults (section 6.5, step 1).
        return SUCCESS_OPTIONS
    specific = {"preprocessing": "preProcessingError", "fileupload": "fileUploadError"}.get(failure_kind)
    chosen = conditions.get(specific) if specific else None
    if chosen is None and failure_kind in ("exit", "preprocessing", "fileupload", "timeout"):
        chosen = conditions.get("default")
    return _with_defaults(chosen or {}, failed=True)


def _options_for_code(conditions: dict[str, Any], code: int) -> dict[str, Any] | None:
    # exitCodes first, then exitCodeRanges (the precedence section 6.5 presumes), then `default` for nonzero.
    for mapping in conditions.get("exitCodes") or []:
        if int(mapping["code"]) == code:
            return dict(mapping.get("exitOptions") or {})
    for mapping in conditions.get("exitCodeRanges") or []:
        if int(mapping["start"]) <= code <= int(mapping["end"]):
            return dict(mapping.get("exitOptions") or {})
    if code != 0 and conditions.get("default") is not None:
        return dict(conditions["default"])
    return None


def _with_defaults(options: dict[str, Any], failed: bool) -> ExitOptions:
    # Section 3.6: jobAction defaults to none for exit 0 and terminate otherwise; dependencyAction to
    # satisfy for exit 0 and block otherwise.
    job_action = str(options.get("jobAction") or ("terminate" if failed else "none")).lower()
    dependency = str(options.get("dependencyAction") or ("block" if failed else "satisfy")).lower()
    return ExitOptions(job_action, dependency)  # type: ignore[arg-type]


def integer_id(task_id: str) -> int | None:
    """The integer value of a task ID made of digits only (leading zeros ignored, section 6.6), else None."""
    return int(task_id) if _INTEGER_ID.match(task_id) else None


@dataclass
class DependencyBook:
    """Which tasks of one job exist and which of them satisfy their dependents (section 6.6)."""

    existing: set[str] = field(default_factory=set)
    satisfying: set[str] = field(default_factory=set)
    integers: dict[int, set[str]] = field(default_factory=dict)

    def add(self, task_id: str) -> None:
        """Record that a task exists (IDs are compared case-insensitively)."""
        lowered = task_id.lower()
        key = task_id if lowered == task_id else lowered  # no second copy of an id already in lower case
        self.existing.add(key)
        number = integer_id(task_id)
        if number is not None:
            self.integers.setdefault(number, set()).add(key)

    def remove(self, task_id: str) -> None:
        """Forget a deleted task."""
        key = task_id.lower()
        self.existing.discard(key)
        self.satisfying.discard(key)
        number = integer_id(task_id)
        if number is not None:
            self.integers.get(number, set()).discard(key)

    def settle(self, task_id: str, satisfies: bool) -> None:
        """Record a completion outcome (or its undoing, on reactivation or retry)."""
        if satisfies:
            self.satisfying.add(task_id.lower())
        else:
            self.satisfying.discard(task_id.lower())

    def ready(self, depends_on: dict[str, Any] | None) -> bool:
        """Whether every listed parent exists and satisfies, and every existing in-range parent satisfies."""
        if not depends_on:
            return True
        for parent in depends_on.get("taskIds") or []:
            if str(parent).lower() not in self.satisfying:
                return False
        for span in depends_on.get("taskIdRanges") or []:
            if not self._range_ready(int(span["start"]), int(span["end"])):
                return False
        return True

    def _range_ready(self, start: int, end: int) -> bool:
        numbers: Iterable[int] = (range(start, end + 1) if end - start < len(self.integers)
                                  else (n for n in self.integers if start <= n <= end))
        for number in numbers:
            if any(key not in self.satisfying for key in self.integers.get(number, ())):
                return False
        return True


@dataclass
class VirtualNode:
    """One modelled compute node: `tvm-local-<pool>-<n>` with a number of task slots."""

    node_id: str
    capacity: int
    used: int = 0
    exclusive: bool = False
    schedulable: bool = True

    @property
    def free(self) -> int:
        """Slots still free on this node (none while a runExclusive task holds it or it takes no tasks)."""
        return 0 if self.exclusive or not self.schedulable else self.capacity - self.used


@dataclass
class PoolSlots:
    """The nodes of one pool and how tasks land on them (taskSchedulingPolicy.nodeFillType)."""

    pool_id: str
    nodes: list[VirtualNode]
    fill_type: str = "spread"

    @classmethod
    def build(cls, pool_id: str, node_count: int, slots_per_node: int, fill_type: str) -> PoolSlots:
        """A pool of `node_count` nodes (at least one) of `slots_per_node` slots each."""
        count, per_node = max(1, node_count), max(1, slots_per_node)
        nodes = [VirtualNode(f"tvm-local-{pool_id}-{n}", per_node) for n in range(count)]
        return cls(pool_id, nodes, (fill_type or "spread").lower())

    def sync(self, listed: list[tuple[str, bool]], slots_per_node: int, fill_type: str) -> None:
        """Take the pool's nodes as the backend lists them (id, accepts tasks), keeping the slot use of the
        nodes that stay; attempts still hold the nodes that left and release them when they end."""
        known = {node.node_id: node for node in self.nodes}
        self.nodes = []
        for node_id, schedulable in listed:
            node = known.get(node_id) or VirtualNode(node_id, max(1, slots_per_node))
            node.capacity, node.schedulable = max(1, slots_per_node), schedulable
            self.nodes.append(node)
        self.fill_type = (fill_type or "spread").lower()

    def place(self, slots: int, exclusive: bool = False, avoid: frozenset[str] = frozenset()) -> VirtualNode | None:
        """The node a task needing `slots` lands on, or None when none fits."""
        fits = [node for node in self.nodes if node.node_id not in avoid and node.free >= slots
                and (not exclusive or node.used == 0)]
        if not fits:
            return None
        if exclusive:
            # A runExclusive task takes an idle node; the last one, so packed work keeps node 0.
            return fits[-1]
        if self.fill_type == "pack":
            return min(fits, key=lambda node: node.free)
        return max(fits, key=lambda node: node.free)

    def place_distinct(self, count: int, avoid: frozenset[str] = frozenset()) -> list[VirtualNode] | None:
        """`count` different nodes with a free slot each (multi-instance tasks), or None."""
        fits = [node for node in self.nodes if node.node_id not in avoid and node.free >= 1]
        if len(fits) < count:
            return None
        return sorted(fits, key=lambda node: -node.free)[:count]

    def node(self, node_id: str) -> VirtualNode | None:
        """The node with this ID, if the pool has it."""
        return next((node for node in self.nodes if node.node_id == node_id), None)


@dataclass
class PendingQueue:
    """A job's active tasks waiting for a slot, in creation order."""

    entries: list[tuple[int, str]] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)

    def push(self, task_id: str, order: int) -> None:
        """Queue a task (again) at its creation position."""
        if task_id in self.members:
            return
        self.members[task_id] = order
        bisect.insort(self.entries, (order, task_id))

    def discard(self, task_id: str) -> None:
        """Take a task off the queue if it is there."""
        order = self.members.pop(task_id, None)
        if order is None:
            return
        index = bisect.bisect_left(self.entries, (order, task_id))
        if index < len(self.entries) and self.entries[index] == (order, task_id):
            del self.entries[index]

    def __iter__(self) -> Any:
        return iter(list(self.entries))

    def __len__(self) -> int:
        return len(self.entries)
