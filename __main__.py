"""The Pulumi program: Batch jobs and tasks declared as code, chosen per stack (stacks/Pulumi.<stack>.yaml).

- `pipeline: local-demo` (the dev stack): a small real pipeline for the local Batch service — a job on an
  auto-pool with a job manager task, tasks with dependencies and exit conditions, Linux commands — whose
  outputs show each task's state and exit code.
- `pipeline: declared` (the prod stack): the jobs and tasks written out in the stack config as REST bodies
  (`batch-as-code:jobs`), e.g. the documented full job example.
"""
from __future__ import annotations

from typing import Any

import pulumi

from providers import BatchJob, BatchTask

config = pulumi.Config()


def local_demo() -> None:
    """A word-count pipeline that really runs on the local service."""
    job = BatchJob("demo", spec={
        "id": config.get("jobId") or "demo-wordcount",
        "displayName": "word count demo",
        "priority": config.get_int("priority") or 10,
        "usesTaskDependencies": True,
        "onTaskFailure": "performexitoptionsjobaction",
        "constraints": {"maxWallClockTime": "PT30M", "maxTaskRetryCount": 1},
        "commonEnvironmentSettings": [{"name": "CORPUS", "value": "the quick brown fox jumps over the lazy dog"}],
        "jobManagerTask": {
            "id": "manager",
            "commandLine": "/bin/sh -c 'echo manager on $AZ_BATCH_NODE_ID; date -u > $AZ_BATCH_NODE_SHARED_DIR/started'",
            "killJobOnCompletion": False,
            "runExclusive": False,
        },
        "poolInfo": {"autoPoolSpecification": {
            "autoPoolIdPrefix": "demo",
            "poolLifetimeOption": "job",
            "pool": {
                "vmSize": "standard_d2s_v3",
                "virtualMachineConfiguration": {
                    "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                                       "sku": "server", "version": "latest"},
                    "nodeAgentSKUId": "batch.node.ubuntu 24.04",
                },
                "targetDedicatedNodes": 1,
                "taskSlotsPerNode": 2,
            },
        }},
        "metadata": [{"name": "owner", "value": "platform-team"}],
    })
    wait = {"timeout": "PT5M", "success": "exitCodeZero"}
    tasks = {
        "split": {"commandLine": "/bin/sh -c 'echo $CORPUS | tr \" \" \"\\n\" > $AZ_BATCH_NODE_SHARED_DIR/words'"},
        "count": {"commandLine": "/bin/sh -c 'wc -l < $AZ_BATCH_NODE_SHARED_DIR/words'",
                  "dependsOn": {"taskIds": ["split"]}},
        "flaky": {"commandLine": "/bin/sh -c 'echo pretending to fail >&2; exit 3'",
                  "exitConditions": {"exitCodes": [{"code": 3, "exitOptions": {
                      "jobAction": "none", "dependencyAction": "satisfy"}}]}},
        "report": {"commandLine": "/bin/sh -c 'echo report: $(cat $AZ_BATCH_NODE_SHARED_DIR/words | sort | uniq | wc -l) distinct words'",
                   "dependsOn": {"taskIds": ["count", "flaky"]},
                   "constraints": {"maxWallClockTime": "PT5M", "maxTaskRetryCount": 2}},
    }
    declared: dict[str, BatchTask] = {}
    for task_id, body in tasks.items():
        rule = {**wait, "success": "completed"} if task_id == "flaky" else wait
        after = [declared[p] for p in body.get("dependsOn", {}).get("taskIds", [])]
        declared[task_id] = BatchTask(task_id, job=job, spec={"id": task_id, **body}, wait_for_completion=rule,
                                      opts=pulumi.ResourceOptions(depends_on=after))
    pulumi.export("job", {"id": job.job_id, "state": job.state, "pool": job.pool_id})
    pulumi.export("tasks", {tid: {"state": t.state, "exitCode": t.exit_code, "stdout": t.stdout_tail}
                            for tid, t in declared.items()})


def declared() -> None:
    """Jobs and tasks written out in the stack config (`batch-as-code:jobs`) as REST create bodies."""
    jobs: list[dict[str, Any]] = config.require_object("jobs")
    for entry in jobs:
        spec = entry["spec"]
        job = BatchJob(spec["id"], spec=spec, adopt=bool(entry.get("adopt", False)))
        for task_spec in entry.get("tasks", []):
            BatchTask(f"{spec['id']}-{task_spec['id']}", job=job, spec=task_spec)
        pulumi.export(spec["id"], {"state": job.state, "pool": job.pool_id})


{"local-demo": local_demo, "declared": declared}[config.get("pipeline") or "local-demo"]()
