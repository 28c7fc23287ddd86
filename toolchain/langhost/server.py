"""The `LanguageRuntime` service and the host's life: serve on a loopback port, print it, stop cleanly on the
engine's SIGINT/SIGTERM, and never outlive the engine."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from langhost import packages, plugin, program, provider_host, runtime, stubs

language_pb2, language_pb2_grpc, plugin_pb2 = stubs.load()


def sdk_version() -> str:
    """The version of the Pulumi SDK this host runs beside (the engine's, by the toolchain's rule)."""
    from importlib.metadata import version

    return version("pulumi")


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):  # type: ignore[misc,name-defined]
    """What the engine calls for a Python program."""

    def __init__(self, engine_address: str, exec_script: Path, engine_pid: int) -> None:
        self.engine_address = engine_address
        self.engine_pid = engine_pid
        self.exec_script = exec_script
        self.programs = program.Programs()
        self._offered = threading.Event()

    def _runtime(self, info: Any, fallback_root: str = "") -> runtime.PythonRuntime:
        root = (info.root_directory if info is not None else "") or fallback_root or os.getcwd()
        return runtime.resolve(root, runtime.options_of(info))

    def _offer_provider_host(self, python: runtime.PythonRuntime, cwd: str) -> None:
        # Once per language host: preview and up each start their own, and the socket name keeps it to one
        # waiting host per engine.
        if not self._offered.is_set():
            self._offered.set()
            provider_host.offer(python, cwd, self.engine_pid)

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=sdk_version())

    def Handshake(self, request: Any, context: Any) -> Any:
        return language_pb2.LanguageHandshakeResponse()

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        try:
            python = self._runtime(request.info)
        except runtime.PythonNotFound as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        self._offer_provider_host(python, request.info.program_directory or os.getcwd())
        found = [plugin_pb2.PackageDependency(kind="resource", name=p.name, version=p.version, server=p.server)
                 for p in packages.plugin_packages(python)]
        return language_pb2.GetRequiredPackagesResponse(packages=found)

    def Run(self, request: Any, context: Any) -> Any:
        try:
            python = self._runtime(request.info, request.pwd)
        except runtime.PythonNotFound as error:
            return language_pb2.RunResponse(error=str(error))
        self._offer_provider_host(python, request.pwd)
        command = program.run_command(python, self.exec_script, request, self.engine_address)
        env = program.program_environment(request, python, os.environ)
        try:
            code = self.programs.run(command, request.pwd or os.getcwd(), env)
        except OSError as error:
            return language_pb2.RunResponse(error=f"could not start the program with {python.python}: {error}")
        message, bail = program.outcome(code)
        return language_pb2.RunResponse(error=message, bail=bail)

    def RunPlugin(self, request: Any, context: Any) -> Iterator[Any]:
        """A plugin folder of runtime python, e.g. a policy pack: its output streams back, then its exit code."""
        try:
            yield from plugin.run_plugin(request, context, language_pb2.RunPluginResponse)
        except plugin.PluginError as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))

    def InstallDependencies(self, request: Any, context: Any) -> Iterator[Any]:
        try:
            yield from install_dependencies(request)
        except (RuntimeError, OSError, runtime.PythonNotFound) as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))

    def RuntimeOptionsPrompts(self, request: Any, context: Any) -> Any:
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request: Any, context: Any) -> Any:
        python = self._runtime(request.info)
        return language_pb2.AboutResponse(executable=python.python, version=packages.interpreter_version(python))

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:
        python = self._runtime(request.info, request.pwd)
        _, found = packages.inventory(python)
        return language_pb2.GetProgramDependenciesResponse(dependencies=[
            language_pb2.DependencyInfo(name=d.name, version=d.version)
            for d in sorted(found, key=lambda d: d.name.lower())])

    def Cancel(self, request: Any, context: Any) -> Any:
        from google.protobuf import empty_pb2

        self.programs.cancel()
        return empty_pb2.Empty()


def install_dependencies(request: Any) -> Iterator[Any]:
    """`pulumi install`: create the project's virtualenv when missing and install requirements.txt into it."""
    info = request.info
    root = Path(info.root_directory or request.directory or os.getcwd())
    options = runtime.options_of(info)
    venv = options.get("virtualenv")
    steps: list[list[str]] = []
    if venv:
        folder = (root / str(venv)).resolve()
        if not (folder / "bin" / "python").exists():
            steps.append([sys.executable, "-m", "venv", str(folder)])
        python = str(folder / "bin" / "python")
    else:
        python = runtime.resolve(str(root), options).python
    if (root / "requirements.txt").exists():
        steps.append([python, "-m", "pip", "install", "-r", str(root / "requirements.txt")])
    for step in steps:
        yield language_pb2.InstallDependenciesResponse(stdout=("$ " + " ".join(step) + "\n").encode())
        done = subprocess.run(step, cwd=root, capture_output=True, check=False)
        yield language_pb2.InstallDependenciesResponse(stdout=done.stdout, stderr=done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(step)} failed with exit code {done.returncode}")


def watch_engine(engine_pid: int, on_exit: Any) -> None:
    """Call `on_exit` when the engine process, this host's parent, is gone (a killed engine never stops its
    plugins); now if it is gone already."""
    try:
        fd = os.pidfd_open(engine_pid)
    except ProcessLookupError:
        on_exit()
        return
    except (OSError, AttributeError):
        return  # no pidfd here: the engine's own stop signal is the only way out
    if os.getppid() != engine_pid:  # the engine ended before the pidfd was opened: its pid may be another's now
        os.close(fd)
        on_exit()
        return

    def wait() -> None:
        select.select([fd], [], [])
        on_exit()

    threading.Thread(target=wait, name="engine-watch", daemon=True).start()


def serve(engine_address: str, exec_script: Path, engine_pid: int) -> int:
    """Serve until the engine (`engine_pid`, read when the process started) stops this host; the exit status."""
    host = LanguageHost(engine_address, exec_script, engine_pid)

    def engine_gone() -> None:
        host.programs.cancel()
        os._exit(0)

    # Watched before the port is printed: an engine killed as soon as it reads the port is seen to go.
    watch_engine(engine_pid, engine_gone)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 1 << 30)])
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop.wait(timeout=3600):
        pass
    host.programs.cancel()
    server.stop(grace=1).wait()
    return 0
