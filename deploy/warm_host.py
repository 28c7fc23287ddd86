"""Start a dynamic-provider host next to each engine command, for the engine's plugin shim to take over.

See providers/warm_host.py for why and how. `BATCH_WARM_HOST=off` in the environment turns it off (every
command then starts the SDK's host as before).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import providers

# The engine commands that may load a dynamic provider; `stack output`, `config`, `history` never do.
HOST_COMMANDS = frozenset({"up", "update", "preview", "refresh", "destroy", "import"})
# What deploy adds to the engine's environment for the shim (toolchain/pulumi-resource-pulumi-python).
SOCKET_VARIABLE = "BATCH_WARM_HOST_SOCKET"
CLIENT_VARIABLE = "BATCH_WARM_HOST_CLIENT"
HANDOFF_CLIENT = Path(providers.__file__).resolve().parent / "host_handoff.py"
# How long a claimed host may take to finish after its command returned (the engine has stopped it by then).
EXIT_SECONDS = 10.0


def enabled() -> bool:
    """False when the user turned pre-started hosts off."""
    return os.environ.get("BATCH_WARM_HOST", "on").lower() not in ("off", "0", "false", "no")


class WarmHost:
    """One pre-started host process, offered to one engine command."""

    def __init__(self, work_dir: str, env: dict[str, str]) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="batch-host-"))  # 0700: only this user can connect
        self.socket_path = self._dir / "host.sock"
        try:
            self.process = self._start(work_dir, env)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    def _start(self, work_dir: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        # Bound and listening before the host starts: a shim that comes early waits for it, never falls back.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(self.socket_path))
            listener.listen(1)
            fd = listener.fileno()
            return subprocess.Popen(
                [sys.executable, "-u", "-m", "providers.warm_host", str(fd), str(self.socket_path), str(os.getpid())],
                cwd=work_dir, env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(fd,),
                start_new_session=True)  # its own group: a terminal's Ctrl-C goes to deploy, not to it

    def engine_env(self) -> dict[str, str]:
        """What the engine's environment needs for its plugin shim to find this host."""
        return {SOCKET_VARIABLE: str(self.socket_path), CLIENT_VARIABLE: str(HANDOFF_CLIENT)}

    @property
    def served(self) -> bool:
        """After stop(): whether this process was the command's provider host (it then exits with 0)."""
        return self.process.returncode == 0

    def stop(self) -> None:
        """After the command: an unclaimed host (still listening) is ended; a claimed one was stopped by the
        engine, and is waited for (briefly, then killed) so that no process outlives the command."""
        if self.socket_path.exists():
            self.process.terminate()
        try:
            self.process.wait(timeout=EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def offered(command: str, work_dir: str, env: dict[str, str]) -> Iterator[WarmHost | None]:
    """A pre-started host for one engine command (None when the command never loads a provider, or hosts are
    turned off); stopped when the command is over."""
    if command not in HOST_COMMANDS or not enabled():
        yield None
        return
    try:
        host = WarmHost(work_dir, env)
    except OSError:  # no socket or process to be had here (a TMPDIR too long for AF_UNIX, say): the SDK's way
        yield None
        return
    try:
        yield host
    finally:
        host.stop()
