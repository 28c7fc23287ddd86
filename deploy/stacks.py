"""Open a stack of this project (or of a scratch project for tests) as an Automation API inline program.

The Python language host (`pulumi-language-python`) cannot be built here: the Go module proxy does not serve
its untagged module. Inline programs host the Python runtime in this process and need only the engine and the
dynamic-provider shim, so every stack runs that way; `__main__.py` stays the program (see README).
"""
from __future__ import annotations

import json
import os
import runpy
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode

from deploy.environment import PROJECT_DIR, STATE_DIR, TOOLCHAIN_DIR, engine_env, require_engine
from deploy.fast_stack import DeployStack, settled

PROJECT_NAME = "batch-as-code"


def project_program() -> None:
    """Run the project's `__main__.py` as the Pulumi program."""
    runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__pulumi_program__")


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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_stack(
    stack: str,
    program: Callable[[], None] = project_program,
    work_dir: Path = PROJECT_DIR,
    extra_env: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> auto.Stack:
    """Create or select `stack` with the engine from .toolchain and a local file backend."""
    require_engine()
    clear_stale_locks(state_dir or STATE_DIR, stack)
    env = engine_env(stack, **({"state_dir": state_dir} if state_dir else {}))
    env.update(extra_env or {})
    workspace = auto.LocalWorkspace(
        work_dir=str(work_dir),
        program=settled(program),
        env_vars=env,
        pulumi_home=env["PULUMI_HOME"],
        pulumi_command=auto.PulumiCommand(root=str(TOOLCHAIN_DIR)),
    )
    return DeployStack(stack, workspace, StackInitMode.CREATE_OR_SELECT)


def write_scratch_project(directory: Path, venv: Path) -> Path:
    """A minimal Pulumi.yaml for a throwaway project (tests): same runtime options, config next to it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {PROJECT_NAME}\n"
        "runtime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {venv}\n"
    )
    return directory
