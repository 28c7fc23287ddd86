"""The case the real service's recordings showed: an auto-pool job whose pool leaves out its node counts, its task
scheduling policy and its data disk's caching and storage type. The service fills them in; `pulumi up` then
`pulumi preview --expect-no-changes` must agree that nothing changed (no perpetual replace)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli, write_project
from tests.support.service import RunningService

pytestmark = pytest.mark.e2e

PROGRAM = """
from providers import BatchJob

BatchJob("render", spec={
    "id": "auto-pool-defaults",
    "poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": {
        "vmSize": "standard_d2_v2",
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts"},
            "nodeAgentSKUId": "batch.node.ubuntu 22.04",
            "dataDisks": [{"lun": 1, "diskSizeGB": 8}],
        },
    }}},
})
"""


def test_an_auto_pool_that_leaves_out_node_counts_and_policy_shows_no_changes_after_up(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    cli = Cli(write_project(tmp_path / "project", PROGRAM), tmp_path / "state")
    cli.run("stack", "select", "--create", "test")
    cli.run("config", "set", "batch:endpoint", service.endpoint)
    cli.run("config", "set", "batch:accountName", service.account_name)
    cli.run("config", "set", "--secret", "batch:accountKey", service.account_key)

    assert "+ 2 created" in cli.run("up", "--yes").stdout
    pool = sdk.get_job("auto-pool-defaults").pool_info.auto_pool_specification.pool
    assert (pool.target_dedicated_nodes, pool.target_low_priority_nodes) == (0, 0)  # the service's defaults
    assert pool.task_scheduling_policy.node_fill_type.lower() == "spread"

    preview = cli.run("preview", "--expect-no-changes")  # exits non-zero on any change
    assert "replace" not in preview.stdout
    cli.run("preview", "--refresh", "--expect-no-changes")
    cli.run("destroy", "--yes")
    assert cli.leftovers() == []
