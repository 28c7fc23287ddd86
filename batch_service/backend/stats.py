"""Statistics the local service can measure (sections 5.1 and 5.2 `stats`), built from process accounting.

A task's process is reaped with wait4(2), whose rusage gives user and kernel CPU time and the blocks read and
written (Linux counts them in 512-byte units, so readIOps/writeIOps are 512-byte block operations and the GiB
figures follow from them). Wall clock and wait time come from the task's own timestamps. What cannot be
measured here (memory and network of a node, core hours of a VM, CPU of a task started without wait4) is left
out of the statistics rather than invented. Statistics appear only with `$expand=stats`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from batch_service.backend.ids import ticks_from_iso

BLOCK_BYTES = 512
GIB = 1024 ** 3
_TICKS_PER_SECOND = 10_000_000


@dataclass(frozen=True)
class ResourceUsage:
    """What the kernel accounted for one finished process (and the children it waited for)."""

    user_cpu: float
    kernel_cpu: float
    read_blocks: int
    write_blocks: int

    @classmethod
    def from_rusage(cls, usage: Any) -> ResourceUsage:
        """From a resource.struct_rusage (os.wait4)."""
        return cls(float(usage.ru_utime), float(usage.ru_stime), int(usage.ru_inblock), int(usage.ru_oublock))


def duration(seconds: float) -> str:
    """Seconds as an ISO 8601 duration with up to seven fractional digits (section 1.1), e.g. PT0.0123S."""
    text = f"{max(0.0, seconds):.7f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


def _seconds_between(start: str, end: str) -> float:
    return max(0, ticks_from_iso(end) - ticks_from_iso(start)) / _TICKS_PER_SECOND


def add_attempt(record: Mapping[str, Any] | None, usage: ResourceUsage | None, start: str, end: str,
                created: str) -> dict[str, Any]:
    """A task's accumulated accounting after one more attempt (kept with the task, not in its read model)."""
    merged: dict[str, Any] = dict(record or {})
    merged["wallClock"] = float(merged.get("wallClock", 0.0)) + _seconds_between(start, end)
    merged["startTime"] = start
    merged["waitTime"] = _seconds_between(created, start)  # to the most recent start (BatchTaskStatistics)
    if usage is not None:
        merged["userCPU"] = float(merged.get("userCPU", 0.0)) + usage.user_cpu
        merged["kernelCPU"] = float(merged.get("kernelCPU", 0.0)) + usage.kernel_cpu
        merged["readBlocks"] = int(merged.get("readBlocks", 0)) + usage.read_blocks
        merged["writeBlocks"] = int(merged.get("writeBlocks", 0)) + usage.write_blocks
    return merged


def _io_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    if "readBlocks" not in record:
        return {}
    read, write = int(record["readBlocks"]), int(record["writeBlocks"])
    return {"readIOps": str(read), "writeIOps": str(write),
            "readIOGiB": read * BLOCK_BYTES / GIB, "writeIOGiB": write * BLOCK_BYTES / GIB}


def _cpu_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    if "userCPU" not in record:
        return {}
    return {"userCPUTime": duration(record["userCPU"]), "kernelCPUTime": duration(record["kernelCPU"])}


def task_stats(record: Mapping[str, Any], url: str, now: str) -> dict[str, Any]:
    """BatchTaskStatistics of a task that has run at least once."""
    return {"url": url, "startTime": record["startTime"], "lastUpdateTime": now, **_cpu_fields(record),
            "wallClockTime": duration(record["wallClock"]), **_io_fields(record),
            "waitTime": duration(record["waitTime"])}


def _sum(records: list[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"wallClock": 0.0, "waitTime": 0.0}
    for record in records:
        total["wallClock"] += float(record.get("wallClock", 0.0))
        total["waitTime"] += float(record.get("waitTime", 0.0))
        for name in ("userCPU", "kernelCPU", "readBlocks", "writeBlocks"):
            if name in record:
                total[name] = total.get(name, 0) + record[name]
    return total


def job_stats(job: Mapping[str, Any], tasks: Iterable[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
              url: str, now: str) -> dict[str, Any]:
    """BatchJobStatistics from the job's tasks as (read model, accounting record) pairs."""
    succeeded = failed = retries = 0
    records = []
    for model, record in tasks:
        info = model.get("executionInfo") or {}
        retries += int(info.get("retryCount") or 0)
        if model.get("state") == "completed":
            succeeded += info.get("result") == "success"
            failed += info.get("result") == "failure"
        if record:
            records.append(record)
    total = _sum(records)
    return {"url": url, "startTime": job["creationTime"], "lastUpdateTime": now, **_cpu_fields(total),
            "wallClockTime": duration(total["wallClock"]), **_io_fields(total),
            "numSucceededTasks": str(succeeded), "numFailedTasks": str(failed), "numTaskRetries": str(retries),
            "waitTime": duration(total["waitTime"])}


def pool_stats(pool: Mapping[str, Any], records: Iterable[Mapping[str, Any]], url: str,
               now: str) -> dict[str, Any]:
    """BatchPoolStatistics: the disk IO of the tasks run on the pool; node CPU, memory and network are not
    measured locally, so resourceStats holds the disk figures only and usageStats is absent."""
    total = _sum([record for record in records if record])
    stats: dict[str, Any] = {"url": url, "startTime": pool["creationTime"], "lastUpdateTime": now}
    if "readBlocks" in total:
        read, write = int(total["readBlocks"]), int(total["writeBlocks"])
        stats["resourceStats"] = {"startTime": pool["creationTime"], "lastUpdateTime": now,
                                  "diskReadIOps": str(read), "diskWriteIOps": str(write),
                                  "diskReadGiB": read * BLOCK_BYTES / GIB, "diskWriteGiB": write * BLOCK_BYTES / GIB}
    return stats
