"""Open a stack of this project, or of a scratch project, through the Automation API with the project's engine.

Without a program the stack's own `__main__.py` runs through the toolchain's language host, exactly as the
`pulumi` CLI runs it; with one (tests) it is an inline program. Either way the backend is the local file
backend and every offline switch is set (deploy/environment.py).
"""
from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode

from deploy.environment import PROJECT_DIR, STATE_DIR, TOOLCHAIN_DIR, engine_env, require_engine

PROJECT_NAME = "batch-as-code"


def clear_stale_locks(state_dir: Path, stack: str) -> list[Path]:
    """Remove this stack's locks left by an engine on this host that no longer runs (a Ctrl-C or kill that
    ended it before it could unlock). Live locks, and locks of other hosts, are left alone."""
    removed: list[Path] = []
    for lock in (state_dir / ".pulumi" / "locks").glob(f"*/*/{stack}/*.json"):
        try:
            owner = json.loads(lock.read_text())
            if owner.get("hostname") != socket.gethostname() or _alive(int(owner["pid"])):
                continue
        except (OSError, ValueError, KeyError):
            continue
        lock.unlink(missing_ok=True)
        removed.append(lock)
        print(f"removed a stale lock of stack {stack!r}: engine pid {owner['pid']} is gone", file=sys.stderr)
    if removed:
        remove_torn_sidecars(state_dir, stack)
    return removed


def remove_torn_sidecars(state_dir: Path, stack: str) -> list[Path]:
    """Remove the stack's `.attrs` sidecar files that an engine left half-written when it died.

    The file backend (gocloud's fileblob) writes a blob atomically but its `.attrs` sidecar in place: an engine
    killed in between (a Ctrl-C, or SIGPIPE once the process that ran it is gone) leaves an empty or cut-off
    sidecar, and every later command on the stack fails with "failed to load checkpoint: EOF". A missing
    sidecar reads as default attributes, so a torn one is removed. Called only once a dead engine's lock was
    found, so no running engine is writing them.
    """
    pulumi_dir = state_dir / ".pulumi"
    candidates = [*pulumi_dir.glob(f"stacks/*/{stack}.json*.attrs"),
                  *pulumi_dir.glob(f"history/*/{stack}/*.attrs"), *pulumi_dir.glob(f"backups/*/{stack}/*.attrs")]
    removed: list[Path] = []
    for sidecar in candidates:
        try:
            json.loads(sidecar.read_text())
            continue
        except ValueError:
            pass
        except OSError:
            continue
        sidecar.unlink(missing_ok=True)
        removed.append(sidecar)
        print(f"removed a torn state file of stack {stack!r}: {sidecar.name}", file=sys.stderr)
    return removed


def _alive(pid: int) -> bool:
    # The engine that wrote a lock of this host runs as this user or not at all; /proc tells either way.
    return Path(f"/proc/{pid}").exists()


def open_stack(
    stack: str,
    program: Callable[[], None] | None = None,
    work_dir: Path = PROJECT_DIR,
    extra_env: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> auto.Stack:
    """Create or select `stack` with the engine from .toolchain and a local file backend (`program`: an inline
    program in place of the project's `__main__.py`)."""
    require_engine()
    clear_stale_locks(state_dir or STATE_DIR, stack)
    env = engine_env(stack, **({"state_dir": state_dir} if state_dir else {}))
    env.update(extra_env or {})
    workspace = auto.LocalWorkspace(
        work_dir=str(work_dir),
        program=program,
        env_vars=env,
        pulumi_home=env["PULUMI_HOME"],
        pulumi_command=auto.PulumiCommand(root=str(TOOLCHAIN_DIR)),
    )
    return auto.Stack(stack, workspace, StackInitMode.CREATE_OR_SELECT)


def write_scratch_project(directory: Path, venv: Path) -> Path:
    """A minimal Pulumi.yaml for a throwaway project (tests): same runtime options, config next to it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {PROJECT_NAME}\n"
        "runtime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {venv}\n"
    )
    return directory
