"""Replay each conversation recorded with the real Azure Batch service against the local service.

Statuses must match, and for every GET each configuration property the real service reported must come back
with the same value. What cannot match is listed in `CANNOT_MATCH`, each with its reason; the list is exact (a
listed difference that no longer shows fails the test too, so the list stays true).

Run-time facts are not compared, and some differ for reasons of their own: the recorded Windows command lines
(`cmd /c ...`) run under /bin/sh here and fail with CommandProgramNotFound; a job with onAllTasksComplete
terminatejob and no task completes at once here, while the real one was still active moments after its creation;
the local service names a schedule's jobs `<id>-job-<n>` (':' is not a job id character here) where the real one
writes `<id>:job-<n>`, and its nodes `tvm-local-<pool>-<n>`.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.recordings import API_VERSION, CONVERSATIONS, load
from tests.support.replay import Outcome, Replayer
from tests.support.service import RunningService, start_service
from tests.support.sharedkey import SharedKeyAuth

# What the recorded tests created before their recording started (not in the recordings): the same objects,
# as the recordings' own answers describe them, are created first. The pool's node counts are given because
# creating them is not what these conversations test.
PRECONDITIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "files": [
        ("/pools", {"id": "71071ccc", "vmSize": "standard_d2_v2", "targetDedicatedNodes": 1,
                    "virtualMachineConfiguration": {
                        "imageReference": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer",
                                           "sku": "2016-Datacenter-smalldisk"},
                        "nodeAgentSKUId": "batch.node.windows amd64"}}),
        ("/jobs", {"id": "batch71071ccc", "poolInfo": {"poolId": "71071ccc"}}),
    ],
    "scale_pools": [
        ("/pools", {"id": "f50021c2", "displayName": "test_pool", "vmSize": "standard_d2_v2",
                    "targetDedicatedNodes": 0,
                    "userAccounts": [{"name": "task-user", "password": "replay-password", "elevationLevel": "admin"}],
                    "virtualMachineConfiguration": {
                        "imageReference": {"publisher": "Canonical", "offer": "UbuntuServer", "sku": "18.04-LTS"},
                        "nodeAgentSKUId": "batch.node.ubuntu 18.04"}}),
    ],
}

# Ids the local service names itself, mapped in order from its list answers: a node, a schedule's job.
MAPPED = {
    "files": {"tvmps_734a3c716706b66baf1a311b39610e23021ada78f234b21985e6cc1f1c44448d_d"},
    "job_schedules": {"batch_schedule_3a802288:job-1"},
}

# Bodies not compared, only statuses: node and task file listings name the local node's own directories.
STATUS_ONLY = ("/files",)

# (conversation, entry, property path or "status") → why the local service cannot answer the same; a path
# covers the properties inside it.
_AUTOSCALE_FIRST_RUN = ("the real service answered before its first autoscale evaluation (no autoScaleRun in its "
                        "answer), so its target stayed 0; the local service evaluates the formula "
                        "($TargetDedicatedNodes=2) as soon as autoscale is enabled")
_AFTER_AUTOSCALE = "follows from the first evaluation above: the local pool was still resizing towards 2 nodes"
CANNOT_MATCH: dict[tuple[str, int, str], str] = {
    ("create_pools", 2, "status"): "the real service refused a subnet of another subscription than its account's; "
                                   "the local service has no subscription and no virtual networks to check",
    ("create_pools", 3, "values"): "the local service names the refused property by its full path and never "
                                   "echoes a value the client sent (it may be a secret); the real one names the "
                                   "leaf and adds PropertyValue. Code, status and reason are the same",
    ("create_pools", 11, "value[batch_ade_1824222e]"): "a page of one pool: the real service lists pools in id order "
                                                       "(ade, app, disk, iaas, created in the opposite order), the "
                                                       "local one in creation order, its own pool 'local' first",
    ("scale_pools", 2, "targetDedicatedNodes"): _AUTOSCALE_FIRST_RUN,
    ("scale_pools", 4, "targetDedicatedNodes"): _AFTER_AUTOSCALE,
    ("scale_pools", 5, "status"): f"{_AFTER_AUTOSCALE}, so the resize is refused with 409 PoolBeingResized",
    ("scale_pools", 7, "targetDedicatedNodes"): _AFTER_AUTOSCALE,
    ("scale_pools", 7, "targetLowPriorityNodes"): f"{_AFTER_AUTOSCALE}, and the resize to 2 low-priority nodes "
                                                  "was refused",
    ("scale_pools", 8, "targetDedicatedNodes"): _AFTER_AUTOSCALE,
    ("scale_pools", 8, "targetLowPriorityNodes"): f"{_AFTER_AUTOSCALE}, and the resize to 2 low-priority nodes "
                                                  "was refused",
}


@pytest.fixture()
def replay_service(tmp_path: Path) -> Iterator[RunningService]:
    """A fresh service for each conversation (a fresh account, as each recording had), running tasks."""
    with start_service(tmp_path / "service", "--delete-delay", "0.3") as running:
        yield running


def _replay(service: RunningService, name: str) -> tuple[Outcome, dict[str, str]]:
    # The recorded paths carry their own api-version, so the client adds none.
    auth = SharedKeyAuth(service.account_name, service.account_key)
    with httpx.Client(base_url=service.endpoint, auth=auth, timeout=30.0) as client:
        for path, body in PRECONDITIONS.get(name, []):
            created = client.post(f"{path}?api-version={API_VERSION}", json=body,
                                  headers={"Content-Type": "application/json"})
            assert created.status_code == 201, f"precondition {path} {body.get('id')}: {created.text}"
        replayer = Replayer(client, STATUS_ONLY)
        return replayer.replay(load(name)), replayer.ids


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_a_recorded_conversation_replays_with_the_real_answers(replay_service: RunningService, name: str) -> None:
    outcome, ids = _replay(replay_service, name)
    assert set(ids) == MAPPED.get(name, set()), "the ids the local service chose itself, learnt in order"
    print(f"\n{name}: statuses {outcome.statuses_matching}/{outcome.statuses}, "
          f"properties {outcome.properties_matching}/{outcome.properties}")
    listed = {key: reason for key, reason in CANNOT_MATCH.items() if key[0] == name}
    unexpected = [f"#{m.entry} {m.where}: {m.detail}" for m in outcome.mismatches
                  if not any(_covers(key, name, m.entry, m.where) for key in listed)]
    stale = [f"#{key[1]} {key[2]} ({reason})" for key, reason in listed.items()
             if not any(_covers(key, name, m.entry, m.where) for m in outcome.mismatches)]
    assert not unexpected, f"{name}: the local service answered differently:\n" + "\n".join(unexpected)
    assert not stale, f"{name}: listed as different but now the same (remove from CANNOT_MATCH):\n" + "\n".join(stale)
    assert outcome.statuses == len(load(name).exchanges) and outcome.properties > 0


def _covers(key: tuple[str, int, str], name: str, entry: int, where: str) -> bool:
    """A listed difference covers a found one at the same place or inside it."""
    return key[0] == name and key[1] == entry and (where == key[2] or where.startswith((f"{key[2]}.", f"{key[2]}[")))
