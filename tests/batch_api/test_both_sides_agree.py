"""The providers and the local service read the same tables, so they agree: the service refuses every case of
the bad-input catalogue at the property the providers' preview names, and what the service fills in for an
omitted field is what the providers expect it to report (no drift on a freshly created object)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batch_service.backend.models import new_job, new_pool, new_task
from batch_service.validation import bodies
from providers.diff import normalise_job, normalise_task
from providers.schema import check_job, check_task

CATALOG: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs.json").read_text())
POOL_INFO = {"poolId": "pool"}


def _service_error(case: dict[str, Any]) -> bodies.ValidationError | None:
    try:
        if case["kind"] == "job":
            bodies.validate_job_create(case["spec"])
        else:
            bodies.validate_task_create(case["spec"], new_job(case["job"], 1, "pool"))
    except bodies.ValidationError as error:
        return error
    return None


@pytest.mark.parametrize("case", CATALOG, ids=[case["name"] for case in CATALOG])
def test_the_service_refuses_each_catalogued_case_at_the_property_the_preview_names(case: dict[str, Any]) -> None:
    error = _service_error(case)
    if case["rule"] == "read-only":
        # The service tolerates read-only properties in a body, so that a read-back object can be sent again;
        # only the providers' preview refuses them.
        assert error is None
        return
    assert error is not None and error.status in (400, 409)
    named = next(entry["value"] for entry in error.values if entry["key"] == "PropertyName")
    if case["rule"] == "one-of":
        # The preview names the object; the service names the member of the group that is missing or extra.
        assert named.startswith(f"{case['path']}.")
    else:
        assert named == case["path"]


def test_the_catalogue_is_large_enough_to_mean_something() -> None:
    assert len(CATALOG) >= 100


JOBS: list[dict[str, Any]] = [
    {"id": "plain", "poolInfo": POOL_INFO},
    {"id": "full", "poolInfo": POOL_INFO, "priority": 5, "constraints": {"maxTaskRetryCount": 2},
     "jobManagerTask": {"id": "jm", "commandLine": "run"},
     "jobPreparationTask": {"commandLine": "prep"}, "jobReleaseTask": {"commandLine": "release"},
     "metadata": [{"name": "b", "value": "2"}, {"name": "a", "value": "1"}]},
]
TASKS: list[dict[str, Any]] = [
    {"id": "t", "commandLine": "run"},
    {"id": "t", "commandLine": "run", "constraints": {"maxWallClockTime": "PT1H"},
     "userIdentity": {"autoUser": {"elevationLevel": "admin"}}},
    {"id": "t", "commandLine": "run", "multiInstanceSettings": {"coordinationCommandLine": "setup"}},
]


@pytest.mark.parametrize("body", JOBS, ids=[job["id"] for job in JOBS])
def test_a_job_the_service_just_created_shows_no_drift(body: dict[str, Any]) -> None:
    assert check_job(body) == []
    bodies.validate_job_create(body)
    live = new_job(body, 1, "pool")
    assert normalise_job(live) == normalise_job(body)


@pytest.mark.parametrize("body", TASKS, ids=["plain", "constraints-and-admin", "multi-instance"])
def test_a_task_the_service_just_created_shows_no_drift(body: dict[str, Any]) -> None:
    job = new_job({"id": "job", "poolInfo": POOL_INFO, "constraints": {"maxTaskRetryCount": 3}}, 1, "pool")
    assert check_task(body) == []
    bodies.validate_task_create(body, job)
    live = new_task(body, job, 2)
    assert live["constraints"]["maxTaskRetryCount"] == 3  # inherited from the job
    assert normalise_task(live, job["constraints"]) == normalise_task(body, job["constraints"])


def test_a_pool_reports_the_defaults_of_its_table() -> None:
    body = {"id": "p", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 2,
            "virtualMachineConfiguration": {"imageReference": {"publisher": "p", "offer": "o", "sku": "s"},
                                            "nodeAgentSKUId": "batch.node.ubuntu 22.04"}}
    bodies.validate_pool_create(body)
    pool = new_pool(body, 1)
    assert (pool["resizeTimeout"], pool["taskSlotsPerNode"], pool["enableAutoScale"]) == ("PT15M", 1, False)
    assert pool["taskSchedulingPolicy"] == {"nodeFillType": "Spread"}  # the real service's spelling
    assert (pool["targetDedicatedNodes"], pool["currentDedicatedNodes"], pool["targetLowPriorityNodes"]) == (2, 2, 0)
