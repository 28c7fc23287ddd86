"""The private Unix sockets on which processes started ahead of time wait for their engine's command.

One folder per user (`${TMPDIR:-/tmp}/batch-as-code-<uid>`, mode 0700, checked before use); a socket's name
says what waits on it and for which engine: `engine-<pid>.sock` is a dynamic-provider host, the name the
toolchain's provider plugin looks for. The name is the lock: one per engine at a time.
"""
from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

KINDS = ("engine",)


def socket_dir() -> Path:
    """This user's folder of sockets; the provider plugin computes the same path (`${TMPDIR:-/tmp}`)."""
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"batch-as-code-{os.getuid()}"


def socket_path(kind: str, engine_pid: int) -> Path:
    """Where the process of `kind` offered to `engine_pid` listens."""
    return socket_dir() / f"{kind}-{engine_pid}.sock"


def private_dir() -> Path | None:
    """The folder, created if need be; None when it is someone else's or open to others."""
    folder = socket_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


def alive(pid: int) -> bool:
    """True while process `pid` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(folder: Path) -> None:
    """Sockets of engines that are gone (what waits on them exits with its engine)."""
    for entry in folder.glob("*-*.sock"):
        kind, _, pid = entry.stem.partition("-")
        with contextlib.suppress(ValueError, OSError):
            if kind in KINDS and not alive(int(pid)):
                entry.unlink()


def listen(kind: str, engine_pid: int) -> tuple[socket.socket, Path] | None:
    """A socket bound and listening at the path of `kind` for `engine_pid`, or None when one is already offered
    there, the folder is not private, or the path cannot be had (too long for AF_UNIX, say)."""
    try:
        folder = private_dir()
        if folder is None:
            return None
        remove_stale(folder)
        path = socket_path(kind, engine_pid)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            listener.listen(1)
        except OSError:
            listener.close()
            return None
        return listener, path
    except OSError:
        return None
