"""Drift in a large collection through the bare CLI: one task changed out of band among 50,000 is found by the
no-op preview (which lists live tasks with $select and compares them page by page), and only that one."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli, write_project
from tests.support.service import RunningService

pytestmark = pytest.mark.e2e

COUNT = 50000
PROGRAM = f"""
from providers import BatchJob, BatchTaskCollection, ParametricSweep

job = BatchJob("job", spec={{"id": "drift-50k", "poolInfo": {{"poolId": "local"}}}})
BatchTaskCollection("sweep", job=job, factory=ParametricSweep(
    {{"id": "t{{i:05d}}", "commandLine": "/bin/echo {{i}}", "constraints": {{"maxTaskRetryCount": 1}}}},
    {{"i": range({COUNT})}}))
"""


@pytest.fixture()
def quiet_service(tmp_path: Path) -> Iterator[RunningService]:
    """A service that stores tasks without running them (50,000 processes are not the point here)."""
    from tests.support.service import start_service

    with start_service(tmp_path / "svc", "--runner", "none") as running:
        yield running


def test_one_task_changed_among_50000_is_the_one_change_the_preview_shows(
        tmp_path: Path, quiet_service: RunningService) -> None:
    from azure.batch import BatchClient
    from azure.batch.models import BatchTask, BatchTaskConstraints
    from azure.core.credentials import AzureNamedKeyCredential

    service = quiet_service
    cli = Cli(write_project(tmp_path / "project", PROGRAM), tmp_path / "state", service.env())
    cli.run("stack", "select", "--create", "drift")
    cli.run("up", "--yes", "--skip-preview", timeout=900)
    clean = cli.run("preview", "--expect-no-changes", "--diff", timeout=900)
    assert f"{COUNT} unchanged" in clean.stdout, clean.stdout

    sdk = BatchClient(service.endpoint, AzureNamedKeyCredential(service.account_name, service.account_key))
    sdk.replace_task("drift-50k", "t31337", BatchTask(constraints=BatchTaskConstraints(max_task_retry_count=3)))
    sdk.close()
    drifted = cli.run("preview", "--expect-no-changes", "--diff", check=False, timeout=900)
    assert drifted.returncode != 0, drifted.stdout
    assert (f"0 to create, 0 to delete, 0 to replace (immutable fields changed), 1 to update in place "
            f"(constraints), {COUNT - 1} unchanged") in drifted.stdout, drifted.stdout
    assert cli.leftovers() == []
