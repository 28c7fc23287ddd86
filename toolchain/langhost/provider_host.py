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

import os
import subprocess
from pathlib import Path

from langhost import sockets
from langhost.runtime import PythonRuntime


def enabled() -> bool:
    """False when the user turned pre-started hosts off."""
    return os.environ.get("BATCH_WARM_HOST", "on").lower() not in ("off", "0", "false", "no")


def socket_path(engine_pid: int) -> Path:
    """Where the host offered to `engine_pid` listens."""
    return sockets.socket_path("engine", engine_pid)


def offer(runtime: PythonRuntime, cwd: str, engine_pid: int) -> subprocess.Popen[bytes] | None:
    """Start a host for `engine_pid`'s next provider plugin, unless one is already offered; the process, or
    None when nothing was started (turned off, one already waiting, or no socket to be had here)."""
    if not enabled():
        return None
    bound = sockets.listen("engine", engine_pid)
    if bound is None:
        return None
    listener, path = bound
    with listener:
        try:
            # Bound and listening before the host starts: a plugin that comes early waits, never falls back.
            return subprocess.Popen(
                [runtime.python, "-u", "-m", "providers.warm_host", str(listener.fileno()), str(path),
                 str(engine_pid)],
                cwd=cwd, env=runtime.environment(dict(os.environ)), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(listener.fileno(),),
                start_new_session=True)
        except OSError:
            path.unlink(missing_ok=True)
            return None
