"""Node users as real accounts of the machine, through the official SDK (azure-batch 15.1.0): where the service
runs as root on Linux with useradd, a node user is an OS account, a task naming it runs as it, and the account
goes with the user, the node's reimage, the pool and the service. With `--os-users off` nothing of that
happens: users are records and tasks run as the service's own user.

azure-batch 15.1.0 defines the reimage option model but does not export it from azure.batch.models."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.batch.models._models import BatchNodeReimageOptions as ReimageOptions

from tests.batch_service.conftest import sdk_client
from tests.batch_service.pool_support import POLL, add_pool, wait_until
from tests.support.service import RunningService, start_service

pytestmark = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("useradd")),
    reason="node users become OS accounts only when the service runs as root on Linux with useradd")

WHO = "/bin/sh -c 'id -un; id -Gn; stat -c %U .'"


def _accounts() -> set[str]:
    return {entry.pw_name for entry in pwd.getpwall() if entry.pw_name.startswith("batch-")}


@pytest.fixture(scope="module")
def os_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service that runs tasks as real processes, with OS accounts on (the default)."""
    before = _accounts()
    with start_service(tmp_path_factory.mktemp("os-users"), "--delete-delay", "0.3") as running:
        yield running
    assert _accounts() <= before, "the service left accounts behind when it stopped"


@pytest.fixture
def client(os_service: RunningService) -> Iterator[BatchClient]:
    with sdk_client(os_service) as sdk:
        yield sdk


def _one_node_pool(sdk: BatchClient, pool_id: str, **fields: object) -> str:
    add_pool(sdk, pool_id, targetDedicatedNodes=1, **fields)
    nodes = wait_until(lambda: [str(node.id) for node in sdk.list_nodes(pool_id)], lambda found: len(found) == 1)
    wait_until(lambda: sdk.get_node(pool_id, nodes[0]).state, lambda state: state is not None and state.value == "idle")
    return nodes[0]


def _run_as(sdk: BatchClient, job_id: str, pool_id: str, user: str) -> list[str]:
    """Run WHO as `user` and return its stdout lines: the account, its groups, its working directory's owner."""
    sdk.create_job(models.BatchJobCreateOptions(id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    sdk.create_task(job_id, models.BatchTaskCreateOptions(
        id="who", command_line=WHO, user_identity=models.UserIdentity(username=user)))
    task = wait_until(lambda: sdk.get_task(job_id, "who"), lambda found: str(found.state.value) == "completed",
                      timeout=30)
    assert task.execution_info.exit_code == 0, task.execution_info
    return b"".join(sdk.download_task_file(job_id, "who", "stdout.txt")).decode().split("\n")


def test_a_node_user_is_an_os_account_and_its_task_runs_as_it(client: BatchClient, uid: str) -> None:
    node = _one_node_pool(client, uid)
    before = _accounts()
    client.create_node_user(uid, node, models.BatchNodeUserCreateOptions(name="alice", password="pa55-Word"))
    created = _accounts() - before
    assert len(created) == 1
    account = created.pop()
    assert pwd.getpwnam(account).pw_uid != 0
    who, groups, owner, _ = _run_as(client, uid, uid, "alice")
    assert (who, owner) == (account, account)
    assert "sudo" not in groups.split() and "wheel" not in groups.split() and "root" not in groups.split()
    client.delete_node_user(uid, node, "alice")
    assert account not in _accounts()


def test_an_admin_node_user_is_in_the_services_admin_group_only(client: BatchClient, uid: str) -> None:
    node = _one_node_pool(client, uid)
    client.create_node_user(uid, node, models.BatchNodeUserCreateOptions(name="root-like", is_admin=True))
    who, groups, _, _ = _run_as(client, uid, uid, "ROOT-LIKE")
    assert who.startswith("batch-") and who != "root"
    assert [group for group in groups.split() if group.endswith("-adm")], groups
    assert not {"sudo", "wheel", "root", "adm"} & set(groups.split())
    client.begin_reimage_node(uid, node, ReimageOptions(node_reimage_option="requeue"),
                              polling_interval=POLL).result()  # type: ignore[arg-type]
    wait_until(lambda: _accounts(), lambda names: who not in names)


def test_a_pool_user_account_becomes_an_os_account_for_its_task_and_goes_with_the_pool(
        client: BatchClient, uid: str) -> None:
    _one_node_pool(client, uid, userAccounts=[{"name": "builder", "password": "b-Pa55word"}])
    who, _, owner, _ = _run_as(client, uid, uid, "builder")
    assert who.startswith("batch-") and owner == who
    assert who in _accounts()
    client.begin_delete_job(uid, polling_interval=POLL).result()  # type: ignore[arg-type]
    client.begin_delete_pool(uid, polling_interval=POLL).result()  # type: ignore[arg-type]
    wait_until(lambda: _accounts(), lambda names: who not in names)


def test_a_user_the_node_does_not_have_runs_as_the_service(client: BatchClient, uid: str) -> None:
    _one_node_pool(client, uid)
    who, _, _, _ = _run_as(client, uid, uid, "nobody-here")
    assert who == pwd.getpwuid(os.geteuid()).pw_name


def test_with_os_users_off_users_stay_records(tmp_path: Path, uid: str) -> None:
    before = _accounts()
    with start_service(tmp_path / "off", "--os-users", "off") as running, sdk_client(running) as sdk:
        node = _one_node_pool(sdk, uid)
        sdk.create_node_user(uid, node, models.BatchNodeUserCreateOptions(name="alice"))
        assert _accounts() == before
        who, _, _, _ = _run_as(sdk, uid, uid, "alice")
    assert who == pwd.getpwuid(os.geteuid()).pw_name


def test_a_restart_removes_leftover_accounts_and_restores_the_stored_users(tmp_path: Path, uid: str) -> None:
    data = tmp_path / "restart"
    with start_service(data) as running, sdk_client(running) as sdk:
        node = _one_node_pool(sdk, uid)
        before = _accounts()
        sdk.create_node_user(uid, node, models.BatchNodeUserCreateOptions(name="alice"))
        (account,) = _accounts() - before
        running.process.kill()  # no orderly stop: the account stays behind
        running.process.wait()
    assert account in _accounts()
    # An account under the same service prefix that no stored user accounts for (a user deleted meanwhile).
    leftover = account[:-1] + ("0" if account[-1] != "0" else "1")
    subprocess.run(["useradd", leftover], check=True, capture_output=True)
    try:
        with start_service(data):
            assert account in _accounts() and leftover not in _accounts()
        assert account not in _accounts()
    finally:
        if leftover in _accounts():
            subprocess.run(["userdel", leftover], check=False, capture_output=True)
