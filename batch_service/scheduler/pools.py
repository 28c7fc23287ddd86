"""The scheduler's side of pools and compute nodes: which virtual nodes a pool has (as the backend lists them),
and what happens to attempts when nodes go away, reboot or stop taking tasks (section 6.4, node removal)."""
from __future__ import annotations

from batch_service.backend.account import Backend
from batch_service.scheduler.execution import Model, guarded
from batch_service.scheduler.model import PoolSlots
from batch_service.scheduler.state import JobView


class PoolEvents:
    """The Lifecycle calls about pools and nodes; mixed into Scheduler, whose state they use."""

    _backend: Backend
    _jobs: dict[str, JobView]
    _pools: dict[str, PoolSlots]
    _started: bool

    def _request_pass(self) -> None:
        """Schedule soon (Scheduler's own)."""
        raise NotImplementedError

    def pool_added(self, pool_id: str) -> None:
        """Model the new pool's nodes and schedule onto them."""
        if self._started:
            pool = guarded(lambda: self._backend.get_pool(pool_id))
            if pool is not None:
                self._add_pool(pool)
                self._request_pass()

    def pool_deleted(self, pool_id: str) -> None:
        """Its nodes go away: tasks running there are requeued (section 6.4, node removal)."""
        self._pools.pop(pool_id.lower(), None)
        for view in self._jobs.values():
            for attempt in list(view.running.values()):
                if attempt.pool.pool_id.lower() == pool_id.lower():
                    attempt.stop("requeue")

    def _add_pool(self, pool: Model) -> None:
        if pool.get("state") == "deleting":
            return
        slots = self._pools.setdefault(pool["id"].lower(), PoolSlots(pool["id"], []))
        fill = str((pool.get("taskSchedulingPolicy") or {}).get("nodeFillType") or "spread")
        slots.sync(self._backend.schedulable_nodes(pool["id"]), int(pool.get("taskSlotsPerNode") or 1), fill)

    def nodes_changed(self, pool_id: str) -> None:
        """Take the pool's nodes again (added, removed, rebooting, scheduling switched) and schedule."""
        self.pool_added(pool_id)

    def node_tasks_stopping(self, pool_id: str, node_ids: list[str], option: str) -> None:
        """Requeue or terminate the attempts running on the nodes (node removal, reboot, disablescheduling)."""
        wanted = {node_id.lower() for node_id in node_ids}
        for view in self._jobs.values():
            for attempt in list(view.running.values()):
                if any(node.node_id.lower() in wanted for node in attempt.nodes):
                    attempt.stop(option)
