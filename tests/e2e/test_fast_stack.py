"""`up` through deploy's Stack returns what the SDK's own `up` returns, without its three bookkeeping commands."""
from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from deploy.selftest import LocalFile
from deploy.stacks import open_stack, write_scratch_project

pytestmark = pytest.mark.e2e


def _stack(tmp_path: Path, program: object) -> auto.Stack:
    work = write_scratch_project(tmp_path / "proj", Path(sys.prefix))
    return open_stack("test-fast-stack", program=program, work_dir=work,  # type: ignore[arg-type]
                      state_dir=tmp_path / "state")


def _commands(stack: auto.Stack, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    seen: list[list[str]] = []
    original = stack.workspace.pulumi_command.run

    def run(args: list[str], *rest: object, **kwargs: object) -> auto.CommandResult:
        seen.append([a for a in args if not a.startswith("-")][:1])
        return original(args, *rest, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stack.workspace.pulumi_command, "run", run)
    return seen


def test_up_without_secret_outputs_runs_only_the_up_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def program() -> None:
        f = LocalFile("f", path=str(tmp_path / "f.txt"), content="x")
        pulumi.export("sha", f.sha256)
        pulumi.export("nested", {"a": [1, None, True], "b": 1.5})

    stack = _stack(tmp_path, program)
    commands = _commands(stack, monkeypatch)
    up = stack.up(color="never")
    assert commands == [["up"]]
    assert {k: (v.value, v.secret) for k, v in up.outputs.items()} == {
        k: (v.value, v.secret) for k, v in stack.outputs().items()}
    assert up.outputs["nested"].value == {"a": [1, None, True], "b": 1.5}
    assert up.summary.result == "succeeded" and up.summary.resource_changes == {"create": 2}


def test_secret_outputs_come_from_the_engine_and_stay_marked_secret(tmp_path: Path) -> None:
    def program() -> None:
        pulumi.export("plain", "p")
        pulumi.export("hidden", pulumi.Output.secret("s3cret"))

    up = _stack(tmp_path, program).up(color="never")
    assert (up.outputs["plain"].value, up.outputs["plain"].secret) == ("p", False)
    assert (up.outputs["hidden"].value, up.outputs["hidden"].secret) == ("s3cret", True)


def test_a_summary_read_late_still_describes_its_own_update(tmp_path: Path) -> None:
    def first() -> None:
        LocalFile("a", path=str(tmp_path / "a.txt"), content="1")

    def second() -> None:
        LocalFile("a", path=str(tmp_path / "a.txt"), content="2")

    stack = _stack(tmp_path, first)
    one = stack.up(color="never")
    two = stack.up(color="never", program=second)
    assert one.summary.resource_changes == {"create": 2}
    assert two.summary.resource_changes == {"same": 1, "update": 1}
    assert one.summary.end_time <= two.summary.start_time
