"""The metric history autoscale formulas read: a sample of every read-only service variable of each pool, taken
every 30 seconds while the pool has autoscale enabled and at each evaluation (a reading less than 30 seconds
after the previous sample replaces it, so there is one sample per 30 seconds, as on the real service). Kept in memory (a restart starts
an empty history, like a new pool's), at most MAX_SAMPLES per pool.

Where each value comes from:
    $ActiveTasks, $RunningTasks ($PendingTasks = both), $SucceededTasks, $FailedTasks
                              the tasks of the pool's active jobs (running includes preparing)
    $CurrentDedicatedNodes, $CurrentLowPriorityNodes, $SampleNodeCount, $UsableNodeCount (idle or running)
                              the pool's node records
    $PreemptedNodeCount       0: nodes of this machine are never preempted
    $TaskSlotsPerNode         the pool's taskSlotsPerNode
    $CPUPercent               this machine's one-minute load average over its CPU count, at most 100
    $MemoryBytes, $DiskBytes  megabytes of memory in use (/proc/meminfo), gigabytes used on the node's disk
    $WallClockSeconds, $DiskRead/WriteBytes, $DiskRead/WriteOps, $NetworkIn/OutBytes
                              0: not measured on the local node
"""
from __future__ import annotations

import collections
import datetime as dt
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from batch_service.backend.autoscale_eval import SAMPLE_PERIOD, Series

__all__ = ["METRICS", "SAMPLE_PERIOD", "MetricHistory", "machine_values", "node_values", "task_values"]

MAX_SAMPLES = 2880  # a day of 30-second samples
METRICS = ("$CPUPercent", "$WallClockSeconds", "$MemoryBytes", "$DiskBytes", "$DiskReadBytes", "$DiskWriteBytes",
           "$DiskReadOps", "$DiskWriteOps", "$NetworkInBytes", "$NetworkOutBytes", "$SampleNodeCount",
           "$ActiveTasks", "$RunningTasks", "$PendingTasks", "$SucceededTasks", "$FailedTasks",
           "$CurrentDedicatedNodes", "$CurrentLowPriorityNodes", "$PreemptedNodeCount", "$UsableNodeCount",
           "$TaskSlotsPerNode")
_MEMINFO = Path("/proc/meminfo")


def machine_values(node_root: Path) -> dict[str, float]:
    """The resource metrics of this machine (the one node every pool runs on)."""
    cores = os.cpu_count() or 1
    values = {"$CPUPercent": min(100.0, 100.0 * os.getloadavg()[0] / cores)}
    try:
        info = dict(line.split(":", 1) for line in _MEMINFO.read_text().splitlines() if ":" in line)
        used_kb = int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])
        values["$MemoryBytes"] = used_kb / 1024
    except (OSError, KeyError, ValueError):
        values["$MemoryBytes"] = 0.0
    try:
        values["$DiskBytes"] = shutil.disk_usage(node_root).used / 1e9
    except OSError:
        values["$DiskBytes"] = 0.0
    return values


def task_values(tasks: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The task metrics from the models of the tasks of the pool's active jobs."""
    counts = collections.Counter(str(task["state"]) for task in tasks)
    results = collections.Counter(str((task.get("executionInfo") or {}).get("result")) for task in tasks
                                  if task["state"] == "completed")
    running = counts["running"] + counts["preparing"]
    return {"$ActiveTasks": float(counts["active"]), "$RunningTasks": float(running),
            "$PendingTasks": float(counts["active"] + running), "$SucceededTasks": float(results["success"]),
            "$FailedTasks": float(results["failure"])}


def node_values(records: Sequence[Mapping[str, Any]], usable: int, slots_per_node: int) -> dict[str, float]:
    """The node metrics from the pool's node records (`usable`: how many are idle or running)."""
    dedicated = sum(1 for record in records if record["isDedicated"])
    return {"$CurrentDedicatedNodes": float(dedicated), "$CurrentLowPriorityNodes": float(len(records) - dedicated),
            "$SampleNodeCount": float(len(records)), "$UsableNodeCount": float(usable),
            "$PreemptedNodeCount": 0.0, "$TaskSlotsPerNode": float(slots_per_node)}


class MetricHistory:
    """Samples per pool (keyed by case-folded pool id), oldest first."""

    def __init__(self) -> None:
        self._samples: dict[str, collections.deque[tuple[dt.datetime, dict[str, float]]]] = {}

    def record(self, pool_key: str, when: dt.datetime, values: Mapping[str, float]) -> None:
        """Add one sample; every metric not in `values` is 0 in it."""
        history = self._samples.setdefault(pool_key, collections.deque(maxlen=MAX_SAMPLES))
        if history and when - history[-1][0] < SAMPLE_PERIOD:
            history.pop()  # one sample per period: a newer reading replaces the period's sample
        history.append((when, {name: float(values.get(name, 0.0)) for name in METRICS}))

    def series(self, pool_key: str, now: dt.datetime) -> dict[str, Series]:
        """Each metric's samples as the formula sees them."""
        history = list(self._samples.get(pool_key, ()))
        return {name: Series(name, tuple((when, values[name]) for when, values in history), now)
                for name in METRICS}

    def forget(self, pool_key: str) -> None:
        """Drop a deleted pool's history."""
        self._samples.pop(pool_key, None)
