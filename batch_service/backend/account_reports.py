"""Account-level reads: the application and image catalogues, node counts per pool, and pool usage metrics.
No HTTP here.

The catalogues are small and fixed (this service installs no application packages and runs every node on this
machine): APPLICATIONS and SUPPORTED_IMAGES below. Node counts and usage metrics are computed from the service's
own records: the nodes each pool has now, and the lifetimes of nodes that left it (kept with the pool).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from batch_service.backend import errors
from batch_service.backend.core import AccountState, Entry, key_of
from batch_service.backend.ids import TICKS_PER_SECOND, iso, ticks_from_iso
from batch_service.backend.models import Model
from batch_service.backend.node_ops import NodeOperations

APPLICATIONS: tuple[Model, ...] = (
    {"id": "local-tools", "versions": ["1.0"], "displayName": "Tools of the local node (none installed)"},
)
_UBUNTU = {"publisher": "canonical", "version": "latest"}
SUPPORTED_IMAGES: tuple[Model, ...] = (
    {"nodeAgentSKUId": "batch.node.ubuntu 22.04",
     "imageReference": {**_UBUNTU, "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts"},
     "verificationType": "verified", "capabilities": ["DockerCompatible"], "osType": "linux"},
    {"nodeAgentSKUId": "batch.node.ubuntu 24.04",
     "imageReference": {**_UBUNTU, "offer": "ubuntu-24_04-lts", "sku": "server"},
     "verificationType": "verified", "capabilities": ["DockerCompatible"], "osType": "linux"},
    {"nodeAgentSKUId": "batch.node.windows amd64",
     "imageReference": {"publisher": "microsoftwindowsserver", "offer": "windowsserver",
                        "sku": "2022-datacenter", "version": "latest"},
     "verificationType": "unverified", "osType": "windows"},
)
NODE_COUNT_STATES = ("creating", "deallocated", "deallocating", "idle", "leavingPool", "offline", "preempted",
                     "rebooting", "reimaging", "running", "starting", "startTaskFailed", "unknown", "unusable",
                     "upgradingOS", "waitingForStartTask")
USAGE_INTERVAL = 30 * 60 * TICKS_PER_SECOND  # metrics are aggregated in 30-minute intervals
_CORES = re.compile(r"_[a-z]+?(\d+)", re.IGNORECASE)
_STATE_KEYS = {name.lower(): name for name in NODE_COUNT_STATES}


def cores_of(vm_size: str) -> int:
    """The cores of a VM size by its name (standard_d2s_v3 -> 2); 1 for names without a count ("local")."""
    match = _CORES.search(vm_size)
    return int(match.group(1)) if match else 1


class AccountReports:
    """Applications, supported images, node counts and pool usage metrics."""

    def __init__(self, core: AccountState, node_ops: NodeOperations) -> None:
        self._core = core
        self._nodes = node_ops

    @staticmethod
    def application_items() -> Iterator[tuple[int, Model]]:
        """(sequence, application) of the catalogue, for list paging."""
        return ((index, dict(app)) for index, app in enumerate(APPLICATIONS))

    @staticmethod
    def application(application_id: str) -> Model:
        """GET /applications/{id}; 404 ApplicationNotFound."""
        for app in APPLICATIONS:
            if str(app["id"]).lower() == application_id.lower():
                return dict(app)
        raise errors.application_not_found()

    @staticmethod
    def image_items() -> Iterator[tuple[int, Model]]:
        """(sequence, image) of the supported images, for list paging and $filter."""
        return ((index, dict(image)) for index, image in enumerate(SUPPORTED_IMAGES))

    def node_count_items(self) -> Iterator[tuple[int, Model]]:
        """(sequence, counts) per pool: its nodes by state, dedicated and low-priority apart."""
        for pool in list(self._core.pools.values()):
            counts = {kind: dict.fromkeys(NODE_COUNT_STATES, 0) for kind in ("dedicated", "lowPriority")}
            for record in self._nodes.records(pool):
                bucket = counts["dedicated" if record["isDedicated"] else "lowPriority"]
                bucket[_STATE_KEYS.get(self._nodes.state_of(record).lower(), "unknown")] += 1
            for bucket in counts.values():
                bucket["total"] = sum(bucket.values())
            yield pool.seq, {"poolId": pool.model["id"], **counts}

    def usage_metric_items(self, start: int | None, end: int | None) -> Iterator[tuple[int, Model]]:
        """(sequence, metrics) per pool and 30-minute interval overlapping [start, end] (default: from the
        pool's creation to now): the core hours its nodes were allocated in that interval."""
        now = self._core.clock.tick()
        end = now if end is None else min(end, now)
        sequence = 0
        for pool in sorted(self._core.pools.values(), key=lambda entry: key_of(entry.model["id"])):
            spans = self._spans(pool, now)
            created = ticks_from_iso(pool.model["creationTime"])
            first = max(created, start or created)
            interval = first - first % USAGE_INTERVAL
            while interval < end:
                hours = sum(max(0, min(stop, interval + USAGE_INTERVAL) - max(begin, interval))
                            for begin, stop in spans) / (3600 * TICKS_PER_SECOND)
                sequence += 1
                yield sequence, {"poolId": pool.model["id"], "startTime": iso(interval),
                                 "endTime": iso(interval + USAGE_INTERVAL),
                                 "vmSize": pool.model.get("vmSize", "local"),
                                 "totalCoreHours": round(hours * cores_of(str(pool.model.get("vmSize", ""))), 6)}
                interval += USAGE_INTERVAL

    def _spans(self, pool: Entry, now: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = [(ticks_from_iso(span["start"]), ticks_from_iso(span["end"]))
                                        for span in pool.extra.get("nodeSpans", [])]
        spans += [(ticks_from_iso(record["allocationTime"]), now) for record in self._nodes.records(pool)
                  if record["condition"] != "deallocated"]
        return spans

