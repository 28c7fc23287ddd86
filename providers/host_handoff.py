"""Hand the engine's dynamic-provider request to a host started ahead of time (providers/warm_host.py).

Run by the toolchain's provider plugin (toolchain/pulumi-resource-pulumi-python) as
`python -I -S host_handoff.py SOCKET SDK_SHIM ARGS...` when the language host offered a host on SOCKET. Standard library only (no site-packages: it starts in ~15 ms). It hands
over only to the interpreter the SDK's shim would run; anything short of a complete handover execs the SDK's
shim in its place, so the engine gets the same host either way. After the handover this process stands in for
the host toward the engine: it relays SIGINT/SIGTERM (the engine's way to stop a plugin's process group) and
exits when the host does.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
from typing import Any, NoReturn

# How long to wait for the host to answer: it may still be importing (~0.5 s); after this, run the SDK's.
ANSWER_SECONDS = 30.0


class Refused(Exception):
    """The host cannot take this request (another interpreter, or no host at all)."""


def wanted_interpreter() -> tuple[str, str]:
    """The identity field and value the SDK's shim would run with: the virtualenv's prefix when the project
    names one, else PULUMI_PYTHON_CMD's path (the shim's two ways; uv and poetry environments are not matched)."""
    venv = os.environ.get("PULUMI_RUNTIME_VIRTUALENV")
    if venv:
        return "prefix", os.path.realpath(os.path.join(os.getcwd(), venv.rstrip("/")))
    command = os.environ.get("PULUMI_PYTHON_CMD", "")
    if os.environ.get("PULUMI_RUNTIME_TOOLCHAIN") in ("uv", "poetry") or not os.path.isabs(command):
        raise Refused("the interpreter the SDK's shim would run is not known here")
    return "executable", command


def read_line(conn: socket.socket) -> bytes:
    """One newline-terminated message (the host's identity is short)."""
    data = b""
    while not data.endswith(b"\n"):
        more = conn.recv(4096)
        if not more:
            raise Refused("the host closed the connection")
        data += more
    return data


def hand_over(path: str, args: list[str]) -> socket.socket:
    """Connect, check the interpreter, send the request with fds 0-2; the connection to wait on."""
    field, value = wanted_interpreter()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(ANSWER_SECONDS)
    try:
        conn.connect(path)
        offered: dict[str, Any] = json.loads(read_line(conn))
        if offered.get(field) != value:
            raise Refused(f"the host runs {offered.get(field)!r}, the shim would run {value!r}")
        request = {"argv": args, "cwd": os.getcwd(), "env": dict(os.environ), "parent": os.getppid()}
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
    except BaseException:
        conn.close()
        raise
    conn.settimeout(None)
    return conn


def stand_in(conn: socket.socket) -> NoReturn:
    """Relay the engine's stop signals to the host until it closes the connection, then exit."""
    def relay(signum: int, _frame: object) -> None:
        try:
            conn.sendall(b"i" if signum == signal.SIGINT else b"t")
        except OSError:
            pass  # the host is gone already; the loop below sees it

    signal.signal(signal.SIGINT, relay)
    signal.signal(signal.SIGTERM, relay)
    while True:
        try:
            if not conn.recv(64):
                os._exit(0)
        except OSError:
            os._exit(0)


def main(argv: list[str]) -> NoReturn:
    """Hand over to the host on argv[1], or run the SDK's shim (argv[2]) with the same arguments."""
    path, sdk_shim, args = argv[1], argv[2], argv[3:]
    try:
        conn = hand_over(path, args)
    except (OSError, ValueError, KeyError, Refused):
        os.execv(sdk_shim, [sdk_shim, *args])
    stand_in(conn)


if __name__ == "__main__":
    main(sys.argv)
