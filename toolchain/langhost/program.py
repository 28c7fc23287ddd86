"""Running a program for the engine's `Run` call, and stopping it on `Cancel`.

The program runs as the official host runs it: `<python> pulumi-language-python-exec --monitor M --engine E
--project P --root_directory R --stack S --pwd D --dry_run true|false --parallel N --organization O PROGRAM
ARGS...`, in its working directory, with the stack's configuration in `PULUMI_CONFIG` (a JSON object) and
the names of its secret keys in `PULUMI_CONFIG_SECRET_KEYS` (a JSON list).
"""
from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langhost.runtime import PythonRuntime

# The exec script's exit status for "the error was already shown to the user" (it logs it through the engine).
ALREADY_REPORTED = 32


def exec_arguments(request: Any, engine_address: str) -> list[str]:
    """The arguments after the exec script, from a RunRequest."""
    info = request.info
    root = info.root_directory or request.pwd
    program = info.entry_point or request.program or "."
    arguments = [
        "--monitor", request.monitor_address, "--engine", engine_address, "--project", request.project,
        "--root_directory", root, "--stack", request.stack, "--pwd", request.pwd,
        "--dry_run", "true" if request.dryRun else "false", "--parallel", str(request.parallel),
        "--organization", request.organization,
    ]
    return [*arguments, program, *request.args]


def program_environment(request: Any, runtime: PythonRuntime, base: Mapping[str, str]) -> dict[str, str]:
    """The program's environment: the host's own, the virtualenv activated, the stack's configuration."""
    env = runtime.environment(dict(base))
    env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
    return env


def outcome(returncode: int) -> tuple[str, bool]:
    """(error, bail) of a RunResponse for the program's exit status."""
    if returncode == 0:
        return "", False
    if returncode == ALREADY_REPORTED:
        return "", True
    if returncode < 0:
        return f"program was stopped by signal {signal.Signals(-returncode).name}", False
    return f"program exited with non-zero exit code: {returncode}", False


class Programs:
    """The programs this host is running, so that Cancel and the host's own stop can interrupt them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._cancelled = False

    def run(self, command: list[str], cwd: str, env: dict[str, str]) -> int:
        """Run one program to its end; its output goes to this host's (the engine shows it)."""
        with self._lock:
            if self._cancelled:
                return ALREADY_REPORTED
            # A group of its own: the engine stops this host by signalling the host's process group, and a
            # program caught by that SIGINT would print a KeyboardInterrupt traceback into the stack's output.
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
            self._running.add(process)
        try:
            return process.wait()
        finally:
            with self._lock:
                self._running.discard(process)

    def cancel(self) -> None:
        """End every running program and refuse new ones. SIGTERM, not SIGINT: the engine has cancelled the
        command and shows its own message; the program has nothing to add (a SIGINT would make it print a
        KeyboardInterrupt traceback)."""
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for process in running:
            try:
                process.terminate()
            except ProcessLookupError:
                pass


def run_command(runtime: PythonRuntime, exec_script: Path, request: Any, engine_address: str) -> list[str]:
    """The whole command line of a program run (`exec_script`: the SDK's `pulumi-language-python-exec`)."""
    return [runtime.python, str(exec_script), *exec_arguments(request, engine_address)]


