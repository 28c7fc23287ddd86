"""The real Azure Batch service's recorded conversations (tests/fixtures/real), translated to api-version 2025-06-01.

The recordings were made with older api-versions (2023-05-01.17.0). This module is the one place that says how
an older request or answer reads in 2025-06-01; `TRANSLATION` lists every rule, and each is applied by
`translate_body` / `translate_uri`:

- the api-version query parameter becomes 2025-06-01, and the account's host is dropped (a replay puts its own);
- `cloudServiceConfiguration` (removed in 2025-06-01) becomes the `virtualMachineConfiguration` of the same
  Windows Server release: OS family 5 is Windows Server 2016, so the marketplace image MicrosoftWindowsServer /
  WindowsServer / 2016-Datacenter with node agent `batch.node.windows amd64`; an `osVersion` of "*" (the
  newest) is the image `version` "latest";
- the properties 2025-06-01 removed are left out wherever they appear: `targetNodeCommunicationMode`,
  `currentNodeCommunicationMode`, `applicationLicenses`, `certificateReferences`, `resourceTags`;
- a data disk's `storageAccountType` moved into `managedDisk.storageAccountType`.

`real_pairs` then follows each conversation and yields what a create (and later PUT, PATCH or update) asked for
next to what the service reported afterwards, from a single GET or from a list page.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"
API_VERSION = "2025-06-01"
CONVERSATIONS = ("jobs", "job_schedules", "files", "create_pools", "update_pools", "scale_pools")

REMOVED = ("targetNodeCommunicationMode", "currentNodeCommunicationMode", "applicationLicenses",
           "certificateReferences", "resourceTags")
# Cloud service OS families and the Windows Server release each one is (Azure guest OS families 4-7).
OS_FAMILY_SKUS = {"4": "2012-R2-Datacenter", "5": "2016-Datacenter", "6": "2019-Datacenter", "7": "2022-Datacenter"}
# Facts of a run, never configuration: times, urls, eTags, states, execution and statistics, and what a node
# knows of its own machine (addresses, agent, counters).
RUN_TIME = frozenset({
    "odata.metadata", "odata.nextLink", "url", "eTag", "lastModified", "creationTime", "state",
    "stateTransitionTime", "previousState", "previousStateTransitionTime", "executionInfo", "stats", "nodeInfo",
    "allocationState", "allocationStateTransitionTime", "currentDedicatedNodes", "currentLowPriorityNodes",
    "resizeErrors", "autoScaleRun", "timestamp", "message",
    "schedulingState", "allocationTime", "lastBootTime", "ipAddress", "affinityId", "totalTasksRun",
    "totalTasksSucceeded", "runningTasksCount", "runningTaskSlotsCount", "endpointConfiguration", "nodeAgentInfo",
    "virtualMachineInfo",
})
TRANSLATION = (
    ("api-version", f"every request's api-version query parameter becomes {API_VERSION}"),
    ("cloudServiceConfiguration", ("becomes virtualMachineConfiguration with the Windows Server image of its OS "
                                   "family (osVersion '*' is the image version 'latest')")),
    *((name, "removed in 2025-06-01: left out") for name in REMOVED),
    ("dataDisks[].storageAccountType", "moved to dataDisks[].managedDisk.storageAccountType"),
    ("nodecounts", ("node counts gain the node states added since (deallocated, deallocating, upgradingOS) at "
                    "0: no node could be in a state its api-version did not have")),
)
# Node states 2025-06-01 counts that the recorded api-versions did not have.
NEW_NODE_COUNT_STATES = ("deallocated", "deallocating", "upgradingOS")


@dataclass(frozen=True)
class Exchange:
    """One recorded request and the real service's answer, translated to 2025-06-01."""

    method: str
    path: str  # path and query, without the host, e.g. "/jobs/j1?api-version=2025-06-01"
    request: Any
    status: int
    response: Any


@dataclass(frozen=True)
class Recording:
    """A recorded conversation: where it comes from and its exchanges in order."""

    name: str
    source: Mapping[str, str]
    exchanges: tuple[Exchange, ...]


@dataclass(frozen=True)
class Pair:
    """What was asked for (the desired spec) and what the real service reported, for one object."""

    name: str  # "<recording> #<entry> <kind> <id> (get|list)"
    kind: str  # "job" | "task" | "job_schedule" | "pool"
    desired: dict[str, Any]
    reported: dict[str, Any]


def raw(name: str) -> dict[str, Any]:
    """The fixture file as stored (older api-version, real service's host)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def load(name: str) -> Recording:
    """A recorded conversation translated to 2025-06-01."""
    data = raw(name)
    exchanges = tuple(
        Exchange(entry["RequestMethod"], translate_uri(entry["RequestUri"]), translate_body(entry["RequestBody"]),
                 int(entry["StatusCode"]), translate_body(entry["ResponseBody"]))
        for entry in data["Entries"])
    return Recording(name, data["source"], exchanges)


def translate_uri(uri: str) -> str:
    """Path and query of a recorded URI, with the api-version of 2025-06-01."""
    parts = urlsplit(uri)
    query = [(k, API_VERSION if k == "api-version" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return f"{parts.path}?{urlencode(query, safe='$(),/:')}"


def translate_body(body: Any) -> Any:
    """A recorded request or response body as it reads in 2025-06-01 (see TRANSLATION)."""
    if isinstance(body, list):
        return [translate_body(item) for item in body]
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in REMOVED:
            continue
        if key == "cloudServiceConfiguration" and isinstance(value, dict):
            out["virtualMachineConfiguration"] = _windows_image(value)
        elif key == "dataDisks" and isinstance(value, list):
            out[key] = [_managed_disk(disk) for disk in value]
        elif key in ("dedicated", "lowPriority") and isinstance(value, dict) and "waitingForStartTask" in value:
            out[key] = {**value, **{state: value.get(state, 0) for state in NEW_NODE_COUNT_STATES}}
        else:
            out[key] = translate_body(value)
    return out


def _windows_image(cloud_service: Mapping[str, Any]) -> dict[str, Any]:
    image = {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer",
             "sku": OS_FAMILY_SKUS[str(cloud_service.get("osFamily"))]}
    if cloud_service.get("osVersion") in ("*", "latest"):
        image["version"] = "latest"
    return {"imageReference": image, "nodeAgentSKUId": "batch.node.windows amd64"}


def _managed_disk(disk: Any) -> Any:
    if not isinstance(disk, dict):
        return disk
    disk = translate_body(disk)
    if "storageAccountType" in disk:
        managed = dict(disk.get("managedDisk") or {})
        managed["storageAccountType"] = disk.pop("storageAccountType")
        disk["managedDisk"] = managed
    return disk


# --- real pairs -----------------------------------------------------------------------------------------------

# What a PUT replaces (everything else of the create stays), per collection (reference 4.1, 4.3, pool
# updateproperties).
_JOB_PUT = ("priority", "maxParallelTasks", "allowTaskPreemption", "constraints", "poolInfo",
            "onAllTasksComplete", "metadata")
_SCHEDULE_PUT = ("schedule", "jobSpecification", "metadata")
_POOL_UPDATE_PROPERTIES = ("startTask", "applicationPackageReferences", "metadata")
_COLLECTIONS = {"jobs": "job", "jobschedules": "job_schedule", "pools": "pool", "tasks": "task"}


def real_pairs(names: tuple[str, ...] = CONVERSATIONS) -> list[Pair]:
    """Every (asked for, reported) pair of the recordings, in recording order."""
    pairs: list[Pair] = []
    for name in names:
        pairs.extend(_pairs_of(load(name)))
    return pairs


def _pairs_of(recording: Recording) -> Iterator[Pair]:
    desired: dict[tuple[str, str], dict[str, Any]] = {}
    for index, ex in enumerate(recording.exchanges):
        segments = urlsplit(ex.path).path.strip("/").split("/")
        if ex.status >= 300:
            continue
        if ex.method in ("POST", "PUT", "PATCH"):
            _apply(desired, segments, ex.method, ex.request)
            continue
        if ex.method != "GET" or not isinstance(ex.response, dict) or "$select" in ex.path:
            continue  # a $select answer is a projection, not the object
        where = f"{recording.name} #{index}"
        if "value" in ex.response and isinstance(ex.response["value"], list):
            for item in ex.response["value"]:
                yield from _pair(desired, segments, item, f"{where} list", listed=True)
        else:
            yield from _pair(desired, segments, ex.response, f"{where} get", listed=False)


def _apply(desired: dict[tuple[str, str], dict[str, Any]], segments: list[str], method: str, body: Any) -> None:
    body = copy.deepcopy(body) if isinstance(body, dict) else {}
    kind = _COLLECTIONS.get(segments[-1]) if method == "POST" else None
    if kind is not None and "id" in body:  # a create
        desired[(kind, str(body["id"]).lower())] = body
        return
    if len(segments) < 2:
        return
    kind = _COLLECTIONS.get(segments[0])
    key = (str(kind), segments[1].lower())
    current = desired.get(key)
    if current is None:
        return
    action = segments[2] if len(segments) > 2 else method
    if action == "PUT":
        for name in _JOB_PUT if kind == "job" else _SCHEDULE_PUT:
            current.pop(name, None)
        current.update(body)
    elif action in ("PATCH", "enableautoscale"):
        current.update(body)
        if action == "enableautoscale":
            current["enableAutoScale"] = True
    elif action == "updateproperties":
        for name in _POOL_UPDATE_PROPERTIES:
            current.pop(name, None)
        current.update(body)
    elif action == "disableautoscale":
        current["enableAutoScale"] = False
        current.pop("autoScaleFormula", None)
        current.pop("autoScaleEvaluationInterval", None)
    elif action == "resize":
        current.update({k: v for k, v in body.items() if k.startswith("target")})


def _pair(desired: Mapping[tuple[str, str], dict[str, Any]], segments: list[str], item: Any, where: str,
          listed: bool) -> Iterator[Pair]:
    if not isinstance(item, dict) or "id" not in item:
        return
    object_id = str(item["id"])
    if segments[0] == "jobschedules" and segments[-1] == "jobs":
        # A job the schedule created: its spec is the schedule's jobSpecification under the job's id.
        schedule = desired.get(("job_schedule", segments[1].lower()))
        if schedule is not None:
            spec = {"id": object_id, **copy.deepcopy(schedule.get("jobSpecification") or {})}
            yield Pair(f"{where} job {object_id}", "job", spec, item)
        return
    kind = _COLLECTIONS.get(segments[-1] if listed else segments[-2])
    asked = desired.get((str(kind), object_id.lower()))
    if kind is not None and asked is not None:
        yield Pair(f"{where} {kind} {object_id}", kind, copy.deepcopy(asked), item)


def as_auto_pool_job(pool: Mapping[str, Any]) -> dict[str, Any]:
    """A pool body as the auto-pool specification of a job, so the job's diff compares its pool fields."""
    spec = {k: v for k, v in pool.items() if k != "id"}
    return {"id": "auto-pool-pair", "poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": spec}}}
