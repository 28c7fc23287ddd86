"""`$expand=stats` on tasks, jobs and pools through the official SDK: what process accounting measures is
there, what nothing measured is absent."""
from __future__ import annotations

import datetime as dt

from azure.batch import BatchClient, models

from tests.batch_service.pool_support import add_job, add_pool, wait_until
from tests.support.service import RunningService

WRITER = "/bin/sh -c 'dd if=/dev/zero of=out.bin bs=64k count=64 conv=fsync 2>/dev/null; i=0; " \
         "while [ $i -lt 20000 ]; do i=$((i+1)); done'"


def test_task_job_and_pool_stats_come_from_the_process(client: BatchClient, uid: str) -> None:
    add_pool(client, uid, targetDedicatedNodes=1)
    add_job(client, uid, uid, {"writer": WRITER, "fails": "/bin/sh -c 'exit 3'"})
    wait_until(lambda: [client.get_task(uid, task_id).state for task_id in ("writer", "fails")],
               lambda states: states == ["completed", "completed"])
    assert client.get_task(uid, "writer").task_statistics is None  # only with $expand=stats
    stats = client.get_task(uid, "writer", expand=["stats"]).task_statistics
    assert stats is not None and stats.url.endswith(f"/jobs/{uid}/tasks/writer")
    assert stats.user_cpu_time is not None and stats.kernel_cpu_time is not None
    assert stats.user_cpu_time + stats.kernel_cpu_time > dt.timedelta(0)
    assert stats.write_iops >= 4 * 1024 * 1024 // 512  # 4 MiB in 512-byte blocks, synced to disk
    assert stats.write_io_gib > 0 and stats.wall_clock_time > dt.timedelta(0)
    assert stats.wait_time is not None and stats.wait_time >= dt.timedelta(0)
    job = client.get_job(uid, expand=["stats"]).job_statistics
    assert job is not None
    assert (job.succeeded_tasks_count, job.failed_tasks_count, job.task_retries_count) == (1, 1, 0)
    assert job.write_iops >= stats.write_iops and job.user_cpu_time >= stats.user_cpu_time
    listed = [item for item in client.list_jobs(filter=f"id eq '{uid}'", expand=["stats"])]
    assert listed and listed[0].job_statistics is not None
    pool = client.get_pool(uid, expand=["stats"]).pool_statistics
    assert pool is not None and pool.resource_statistics is not None
    assert pool.resource_statistics.disk_write_iops >= stats.write_iops
    assert pool.usage_statistics is None  # core hours of a VM: nothing measures them here
    assert pool.resource_statistics.avg_cpu_percentage is None and pool.resource_statistics.peak_memory_gib is None
    assert client.get_pool(uid).pool_statistics is None


def test_stats_of_a_job_nothing_ran_for_hold_counts_only(client: BatchClient, uid: str,
                                                         node_service: RunningService) -> None:
    add_pool(client, uid, targetDedicatedNodes=0)
    add_job(client, uid, uid, {"waiting": "/bin/true"})
    job = client.get_job(uid, expand=["stats"]).job_statistics
    assert job is not None
    assert (job.succeeded_tasks_count, job.failed_tasks_count, job.task_retries_count) == (0, 0, 0)
    assert job.user_cpu_time is None and job.read_iops is None  # nothing measured, nothing invented
    assert client.get_task(uid, "waiting", expand=["stats"]).task_statistics is None
    tasks = list(client.list_tasks(uid, expand=["stats"]))
    assert [task.task_statistics for task in tasks] == [None]
    assert models.BatchJobState.ACTIVE == client.get_job(uid).state
