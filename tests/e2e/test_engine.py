"""The real engine built from Go modules runs a dynamic resource end to end."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from deploy.environment import ENGINE, OFFLINE_SWITCHES
from deploy.selftest import LocalFile
from deploy.stacks import open_stack, write_scratch_project

pytestmark = pytest.mark.e2e


def test_engine_version_matches_the_pinned_sdk() -> None:
    engine = subprocess.run([str(ENGINE), "version"], capture_output=True, text=True, check=True,
                            env={**OFFLINE_SWITCHES, "PATH": "/usr/bin:/bin"})
    pip = subprocess.run([sys.executable, "-m", "pip", "show", "pulumi"], capture_output=True, text=True, check=True)
    version = next(line.split(":", 1)[1].strip() for line in pip.stdout.splitlines() if line.startswith("Version:"))
    assert engine.stdout.strip() == f"v{version}"


def test_dynamic_resource_up_preview_destroy(tmp_path: Path) -> None:
    target = tmp_path / "hello.txt"

    def program() -> None:
        f = LocalFile("greeting", path=str(target), content="hello from the engine")
        pulumi.export("sha", f.sha256)

    work = write_scratch_project(tmp_path / "proj", Path(sys.prefix))
    stack = open_stack("test-engine", program=program, work_dir=work, state_dir=tmp_path / "state")
    lines: list[str] = []
    up = stack.up(on_output=lines.append, color="never")
    assert up.summary.result == "succeeded"
    assert target.read_text() == "hello from the engine"
    assert up.outputs["sha"].value == hashlib.sha256(b"hello from the engine").hexdigest()
    assert up.summary.resource_changes == {"create": 2}

    preview = stack.preview(expect_no_changes=True, color="never")
    assert preview.change_summary == {"same": 2}

    target.write_text("changed out of band")
    refresh = stack.refresh(color="never")
    assert refresh.summary.resource_changes.get("update") == 1
    again = stack.up(color="never")
    assert again.summary.resource_changes.get("update") == 1
    assert target.read_text() == "hello from the engine"

    destroy = stack.destroy(color="never")
    assert destroy.summary.result == "succeeded"
    assert not target.exists()
    joined = "\n".join(lines)
    assert "warning" not in joined.lower(), joined
