"""The dynamic-provider host of a command, started ahead of time by the language host.

When the program registers its first dynamic resource, the engine starts the provider plugin
(`pulumi-resource-pulumi-python`) and waits while it imports the Pulumi SDK, gRPC, dill and the providers:
~0.4 s of every preview, up, refresh and destroy. The language host learns of a command before that (its
GetRequiredPackages or Run call), so it starts that process then: `<python> -m providers.warm_host FD SOCKET
ENGINE_PID` (providers/warm_host.py), listening on a Unix socket named after the engine's pid. The plugin the
engine finds in the toolchain looks for the socket of its own parent, the same engine, and hands the request
over (providers/host_handoff.py); anything short of a complete handover runs the SDK's own plugin instead.

A pre-started host serves one plugin start and never outlives its engine. One per engine is offered at a time:
the socket's name is the lock. `BATCH_WARM_HOST=off` turns this off.
"""
from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
from pathlib import Path

from langhost.runtime import PythonRuntime


def enabled() -> bool:
    """False when the user turned pre-started hosts off."""
    return os.environ.get("BATCH_WARM_HOST", "on").lower() not in ("off", "0", "false", "no")


def socket_dir() -> Path:
    """This user's folder of host sockets; the plugin computes the same path (`${TMPDIR:-/tmp}`)."""
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"batch-as-code-{os.getuid()}"


def socket_path(engine_pid: int) -> Path:
    """Where the host offered to `engine_pid` listens."""
    return socket_dir() / f"engine-{engine_pid}.sock"


def _private_dir() -> Path | None:
    folder = socket_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # someone else's, or open to others: never offer a host through it
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(folder: Path) -> None:
    """Sockets of engines that are gone (a host that was never claimed exits with its engine)."""
    for entry in folder.glob("engine-*.sock"):
        with contextlib.suppress(ValueError, OSError):
            if not _alive(int(entry.stem.removeprefix("engine-"))):
                entry.unlink()


def offer(runtime: PythonRuntime, cwd: str, engine_pid: int) -> subprocess.Popen[bytes] | None:
    """Start a host for `engine_pid`'s next provider plugin, unless one is already offered; the process, or
    None when nothing was started (turned off, one already waiting, or no socket to be had here)."""
    if not enabled():
        return None
    try:
        folder = _private_dir()
        if folder is None:
            return None
        remove_stale(folder)
        path = socket_path(engine_pid)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path))  # fails when a host is already offered to this engine: the name is the lock
            listener.listen(1)
            fd = listener.fileno()
            # Bound and listening before the host starts: a plugin that comes early waits, never falls back.
            return subprocess.Popen(
                [runtime.python, "-u", "-m", "providers.warm_host", str(fd), str(path), str(engine_pid)],
                cwd=cwd, env=runtime.environment(dict(os.environ)), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(fd,), start_new_session=True)
    except OSError:
        return None
