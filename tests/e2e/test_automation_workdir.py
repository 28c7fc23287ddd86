"""A user's own Automation API program with a work directory (not inline): the engine runs the project's
`__main__.py` through the toolchain's language host, as `pulumi up` would."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from deploy.environment import TOOLCHAIN_DIR
from tests.e2e.test_cli import PROGRAM, TOKEN, state_text
from tests.support.cli import Cli, write_project
from tests.support.service import RunningService

pytestmark = pytest.mark.e2e


def test_a_work_dir_program_goes_up_previews_clean_and_is_destroyed(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    cli = Cli(write_project(tmp_path / "project", PROGRAM, name="auto-workdir"), tmp_path / "state")
    env = cli.activated_env()  # the program runs after `source toolchain/activate`, as README says
    stack = auto.create_or_select_stack(
        "dev", work_dir=str(cli.project),
        opts=auto.LocalWorkspaceOptions(env_vars=env, pulumi_home=env["PULUMI_HOME"],
                                        pulumi_command=auto.PulumiCommand(root=str(TOOLCHAIN_DIR))))
    stack.set_all_config({
        "batch:endpoint": auto.ConfigValue(service.endpoint),
        "batch:accountName": auto.ConfigValue(service.account_name),
        "batch:accountKey": auto.ConfigValue(service.account_key, secret=True),
        "token": auto.ConfigValue(TOKEN, secret=True),
        "jobId": auto.ConfigValue("auto-workdir-job"),
    })
    said: list[str] = []
    up = stack.up(on_output=said.append, color="never")
    assert up.summary.result == "succeeded"
    assert up.outputs["job"].value == "auto-workdir-job"
    assert up.outputs["hello"].value["stdout"] == "hello from the cli\n"
    assert sdk.get_task("auto-workdir-job", "hello").state == "completed"
    preview = stack.preview(on_output=said.append, color="never", expect_no_changes=True)
    assert set(preview.change_summary) == {"same"}
    for text in [*said, state_text(cli)]:
        assert TOKEN not in text and service.account_key not in text
    stack.destroy(on_output=said.append, color="never")
    assert cli.leftovers() == []
