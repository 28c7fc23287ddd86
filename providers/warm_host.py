"""A dynamic-provider host started ahead of time: `python -u -m providers.warm_host FD SOCKET ENGINE_PID`.

Every engine command that loads our providers starts `python -m pulumi.dynamic` when the program registers its
first resource, and waits while it imports the Pulumi SDK, gRPC, dill and our providers: ~0.4 s of every
preview, up and destroy, on the critical path (benchmarks/bench_collections.py). The toolchain's language host
(toolchain/langhost/provider_host.py) starts this process as soon as it hears of a command, so the imports
overlap the program's own start-up. It listens on a private Unix socket named after the engine; the engine's
plugin (toolchain/pulumi-resource-pulumi-python) runs `host_handoff.py`, which
connects and hands over what the SDK's host would have been given: its arguments, environment, working
directory and standard streams. From then on this process IS the host the SDK would have started (the SDK's
own `pulumi.dynamic` main runs here unchanged), and the handoff client stands in for it toward the engine:
it relays the engine's SIGINT/SIGTERM over the socket and exits when this process does.

A host is used once. One that is never claimed (a program without our resources) exits with its engine.

Wire protocol, one connection: host -> client: one JSON line {"pid", "prefix", "executable"} (the client hands
over only to the interpreter the SDK's shim would have run); client -> host: one JSON line {"argv", "cwd",
"env", "parent"} with fds 0, 1, 2 attached (SCM_RIGHTS); then client -> host single bytes: b"i" for SIGINT,
b"t" for SIGTERM. Either side closing the connection ends the other.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import signal
import socket
import sys
import threading
from typing import Any

# What `python -m pulumi.dynamic` imports before it can answer, and what its first Check imports: our providers.
PRELOAD = (
    "asyncio", "dill", "grpc", "google.protobuf.empty_pb2", "pulumi", "pulumi.dynamic", "pulumi.runtime",
    "pulumi.runtime.proto.provider_pb2_grpc", "pulumi.runtime._serialization",
    "providers.job", "providers.task", "providers.collection", "providers.schedule",
)
# A request line is an environment and a few paths; anything longer is not from our client.
MAX_REQUEST_BYTES = 1 << 20
# The exit status of a host whose client did not hand over (another interpreter, or it went away).
NOT_CLAIMED = 3

_claimed = threading.Event()


def identity() -> dict[str, Any]:
    """Which interpreter this host is: the client compares it with the one the SDK's shim would run."""
    return {"pid": os.getpid(), "prefix": os.path.realpath(sys.prefix), "executable": sys.executable}


def receive_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The client's request line and the three standard streams sent with it."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    while not data.endswith(b"\n"):
        if not data and not fds:
            raise EOFError("the client left before handing over")
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request line too long")
        more = conn.recv(65536)
        if not more:
            raise EOFError("the client left in the middle of its request")
        data += more
    if len(fds) != 3:
        raise ValueError(f"expected 3 file descriptors with the request, got {len(fds)}")
    return json.loads(data), fds


def become_host(request: dict[str, Any], fds: list[int]) -> None:
    """Take on everything the engine gave the shim: standard streams, environment, directory, arguments."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
    os.chdir(str(request["cwd"]))
    sys.path[0] = os.getcwd()  # as `python -m` started in that directory would have it
    sys.argv = ["pulumi.dynamic", *[str(a) for a in request["argv"]]]
    # The SDK's host stops on KeyboardInterrupt; a process started with SIGINT ignored would never see it.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def relay_signals(conn: socket.socket) -> None:
    """Turn the client's relayed signals into this process's own; the client gone means the engine closed it."""
    from providers.sdk_fixes import exit_now

    while True:
        try:
            data = conn.recv(64)
        except OSError:
            data = b""
        if not data:
            exit_now()
        for byte in data:
            os.kill(os.getpid(), signal.SIGINT if byte == ord("i") else signal.SIGTERM)


def exit_with_engine(engine: int, path: str) -> None:
    """Until claimed, leave (and take the socket away) when `engine`, the engine this host was offered to, is
    gone. Its pid comes from the command line: this process was started by the language host, which may have
    ended already. Without pidfd support the next offer removes the socket of an engine that is gone."""
    from providers.sdk_fixes import when_process_exits

    def leave_unless_claimed() -> None:
        if not _claimed.is_set():
            with contextlib.suppress(OSError):
                os.unlink(path)
            os._exit(NOT_CLAIMED)

    when_process_exits(engine, leave_unless_claimed, "engine-watch")


def serve(listener: socket.socket, path: str, engine: int) -> int:
    """Preload, hand over to the first client of `listener` (bound at `path`), then run the SDK's host; the
    exit status. The socket is bound and listening before this process starts (by the language host), so a
    client that comes early waits in the backlog for the imports, never finds nothing."""
    exit_with_engine(engine, path)
    for module in PRELOAD:
        importlib.import_module(module)
    from providers.client import warm_up

    warm_up()
    conn, _ = listener.accept()
    listener.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # used once: the next language host of the same engine may offer another
    try:
        conn.sendall(json.dumps(identity()).encode() + b"\n")
        request, fds = receive_request(conn)
    except (OSError, EOFError, ValueError):
        return NOT_CLAIMED  # the client wanted another interpreter, or went away: it runs the SDK's shim
    _claimed.set()
    become_host(request, fds)
    from providers.sdk_fixes import engine_pid, install_host_fixes

    install_host_fixes(engine_pid(int(request["parent"])))
    threading.Thread(target=relay_signals, args=(conn,), name="signal-relay", daemon=True).start()
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1])), sys.argv[2], int(sys.argv[3])))
