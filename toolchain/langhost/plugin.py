"""Running a plugin written in Python for the engine's `RunPlugin` call: a policy pack (`pulumi preview
--policy-pack DIR`) or any plugin folder with a `PulumiPlugin.yaml` / `PulumiPolicy.yaml` of runtime python.

As the official host does: `<python> <plugin folder> ARGS...` runs the folder's `__main__.py` in the engine's
working directory with the environment the engine sends, and the plugin's standard output (its port line first)
and standard error stream back to the engine, then its exit code. Without a `virtualenv` option a plugin runs in
the folder's `venv` (a plugin never runs in whatever Python happens to be on PATH). When the engine closes the
plugin it ends the call; the plugin's process group is then stopped.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langhost import runtime

# Output is sent as it comes, in pieces of at most this many bytes.
CHUNK = 64 * 1024
# How long a plugin has to end after SIGTERM before it is killed.
GRACE_SECONDS = 5.0


class PluginError(Exception):
    """The plugin cannot be started; the message says why and what to do."""


def plugin_runtime(info: Any) -> runtime.PythonRuntime:
    """The interpreter of the plugin folder described by a ProgramInfo (its `runtime.options`)."""
    root = info.root_directory or info.program_directory
    options = runtime.options_of(info)
    if str(options.get("toolchain") or "pip") == "pip" and not options.get("virtualenv"):
        options["virtualenv"] = "venv"
    venv = options.get("virtualenv")
    if venv and not Path(root, str(venv), "bin", "python").exists():
        raise PluginError(f"the plugin in {root} runs in the virtualenv {venv!r} (runtime option virtualenv of its "
                          f"PulumiPolicy.yaml or PulumiPlugin.yaml; `venv` when not set), which does not exist: "
                          f"create it there and install the plugin's requirements into it")
    try:
        return runtime.resolve(root, options)
    except runtime.PythonNotFound as error:
        raise PluginError(str(error)) from error


def plugin_command(python: runtime.PythonRuntime, info: Any, args: list[str]) -> list[str]:
    """The command line: the interpreter, the plugin folder (its __main__.py runs), the engine's arguments."""
    folder = info.program_directory or info.root_directory
    if not Path(folder, "__main__.py").is_file():
        raise PluginError(f"the plugin folder {folder} has no __main__.py to run")
    return [python.python, folder, *args]


def plugin_environment(python: runtime.PythonRuntime, engine_env: list[str]) -> dict[str, str]:
    """The engine's environment (`KEY=VALUE` entries) with the virtualenv activated and output unbuffered, so
    the port line reaches the engine at once."""
    env = dict(os.environ)
    env.update(entry.partition("=")[::2] for entry in engine_env if "=" in entry)
    env = python.environment(env)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _pump(stream: Any, name: str, out: queue.Queue[tuple[str, bytes]]) -> None:
    with stream:
        while chunk := os.read(stream.fileno(), CHUNK):
            out.put((name, chunk))
    out.put((name, b""))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the plugin and everything it started: SIGTERM to its group, SIGKILL after the grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=GRACE_SECONDS)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def run_plugin(request: Any, context: Any, response: Any) -> Iterator[Any]:
    """The RunPlugin stream: the plugin's output as it comes, then its exit code. `response` builds one
    RunPluginResponse from keyword arguments (stdout=, stderr= or exitcode=)."""
    python = plugin_runtime(request.info)
    command = plugin_command(python, request.info, list(request.args))
    env = plugin_environment(python, list(request.env))
    try:
        process = subprocess.Popen(command, cwd=request.pwd or None, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise PluginError(f"could not start the plugin with {python.python}: {error}") from error
    context.add_callback(lambda: _stop(process))
    chunks: queue.Queue[tuple[str, bytes]] = queue.Queue()
    for name, stream in (("stdout", process.stdout), ("stderr", process.stderr)):
        threading.Thread(target=_pump, args=(stream, name, chunks), name=f"plugin-{name}", daemon=True).start()
    open_streams = 2
    try:
        while open_streams:
            name, chunk = chunks.get()
            if not chunk:
                open_streams -= 1
                continue
            yield response(**{name: chunk})
        code = process.wait()
    finally:
        _stop(process)
    yield response(exitcode=code)
