"""The toolchain's Python language host: its gRPC service as the engine calls it, and its parts on their own."""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2

from deploy.environment import TOOLCHAIN_DIR
from langhost import packages, program, runtime, stubs

language_pb2, language_pb2_grpc, plugin_pb2 = stubs.load()
HOST = TOOLCHAIN_DIR / "bin" / "pulumi-language-python"
PROJECT_DIR = Path(__file__).resolve().parents[2]
VENV = PROJECT_DIR / ".venv"


@pytest.fixture()
def host() -> Iterator[tuple[subprocess.Popen[str], Any]]:
    """The installed host, started as the engine starts it (its own group, the engine's address last)."""
    process = subprocess.Popen([str(HOST), "-root", str(PROJECT_DIR), "127.0.0.1:1"], cwd=PROJECT_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield process, language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        channel.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def project_info(virtualenv: str = ".venv") -> object:
    from google.protobuf import struct_pb2

    options = struct_pb2.Struct()
    options.update({"toolchain": "pip", "virtualenv": virtualenv})
    return language_pb2.ProgramInfo(root_directory=str(PROJECT_DIR), program_directory=str(PROJECT_DIR),
                                    entry_point=".", options=options)


def test_the_host_reports_the_sdk_version_and_the_programs_interpreter(host: tuple[subprocess.Popen[str], Any]) -> None:
    _process, stub = host
    from importlib.metadata import version

    assert stub.GetPluginInfo(empty_pb2.Empty()).version == version("pulumi")
    about = stub.About(language_pb2.AboutRequest(info=project_info()))
    assert about.executable == str(VENV / "bin" / "python")
    assert about.version == sys.version.split()[0]
    deps = stub.GetProgramDependencies(language_pb2.GetProgramDependenciesRequest(info=project_info()))
    assert {"pulumi", "httpx", "deepdiff"} <= {d.name.lower() for d in deps.dependencies}


def test_a_missing_virtualenv_is_refused_naming_the_option(host: tuple[subprocess.Popen[str], Any]) -> None:
    _process, stub = host
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=project_info("no-such-venv")))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "virtualenv option of Pulumi.yaml is 'no-such-venv'" in refused.value.details()


def test_the_engines_sigterm_stops_the_host_cleanly(host: tuple[subprocess.Popen[str], Any]) -> None:
    process, stub = host
    stub.GetRequiredPlugins(language_pb2.GetRequiredPluginsRequest())
    os.killpg(process.pid, signal.SIGINT)  # how the engine closes a plugin
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


# A stand-in engine: starts the host as the engine does (its own session, the engine's address last), with its
# stdout on the pipe `argv[2]` (or one of its own), prints the host's pid and the host's first line, then waits.
STAND_IN_ENGINE = """
import subprocess, sys, time
out = int(sys.argv[2]) if len(sys.argv) > 2 else subprocess.PIPE
host = subprocess.Popen([sys.argv[1], "127.0.0.1:1"], stdout=out, text=True, start_new_session=True)
print(host.pid, host.stdout.readline() if host.stdout else "", flush=True)
time.sleep(600)
"""


def start_host_under_stand_in_engine(*fds: int) -> tuple[subprocess.Popen[str], int, int]:
    """The stand-in engine, its host's pid and a pidfd of the host, opened while the engine is alive (it reaps
    nothing, so the pid is its host's even if the host ended already)."""
    engine = subprocess.Popen([sys.executable, "-c", STAND_IN_ENGINE, str(HOST), *map(str, fds)],
                              stdout=subprocess.PIPE, text=True, pass_fds=fds)
    assert engine.stdout is not None
    host_pid = int(engine.stdout.readline().split()[0])
    return engine, host_pid, os.pidfd_open(host_pid)


def ends_within(pidfd: int, seconds: float) -> bool:
    """Whether the process of `pidfd` ends within `seconds` (a generous deadline: it ends when it is seen to)."""
    return bool(select.select([pidfd], [], [], seconds)[0])


def end_both(engine: subprocess.Popen[str], host_pidfd: int) -> None:
    engine.kill()
    engine.communicate(timeout=30)
    if not ends_within(host_pidfd, 0):
        signal.pidfd_send_signal(host_pidfd, signal.SIGKILL)  # a failed test leaves no host behind
    os.close(host_pidfd)


def listens(pid: int) -> bool:
    """Whether process `pid` has a listening TCP socket (the host's gRPC port, bound before it is printed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                return True
    return False


def test_the_host_never_outlives_its_engine() -> None:
    engine, _host, host_pidfd = start_host_under_stand_in_engine()
    try:
        engine.kill()  # as soon as it read the port, as an engine killed early on does
        engine.wait(timeout=30)
        assert ends_within(host_pidfd, 120), "the host outlived its engine"
    finally:
        end_both(engine, host_pidfd)


def test_a_host_whose_engine_dies_while_it_starts_ends_too() -> None:
    # The host's stdout is a full pipe: it stops at printing its port until the pipe is read, after it bound
    # the port. The engine is killed there, before anything reads the pipe.
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(write_end, b"x")
    os.set_blocking(write_end, True)
    engine, host, host_pidfd = start_host_under_stand_in_engine(write_end)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 120  # generous: a loaded machine imports grpc slowly
        while not listens(host) and time.monotonic() < deadline:
            assert not ends_within(host_pidfd, 0.05), "the host ended before it served"
        assert listens(host)
        engine.kill()
        engine.wait(timeout=30)
        assert ends_within(host_pidfd, 120), "the host outlived its engine"
    finally:
        end_both(engine, host_pidfd)
        os.close(read_end)


def test_the_watch_acts_at_once_when_the_engine_is_already_gone() -> None:
    from langhost.server import watch_engine

    seen: list[str] = []
    ended = subprocess.Popen(["true"])
    ended.wait(timeout=30)  # reaped: the pid names no process
    watch_engine(ended.pid, lambda: seen.append("no such process"))
    with subprocess.Popen(["sleep", "600"]) as other:  # a live process that is not this one's parent: the
        try:                                             # engine's pid taken by another process
            watch_engine(other.pid, lambda: seen.append("not the parent"))
        finally:
            other.kill()
    assert seen == ["no such process", "not the parent"]


def test_the_program_runs_with_the_exec_scripts_arguments_and_the_stack_config() -> None:
    request = language_pb2.RunRequest(
        project="p", stack="s", pwd="/srv/project/prog", program=".", args=["--x"], config={"p:a": "1"},
        configSecretKeys=["p:a"], dryRun=True, parallel=12, monitor_address="127.0.0.1:5", organization="org",
        info=language_pb2.ProgramInfo(root_directory="/srv/project", program_directory="/srv/project/prog", entry_point="."))
    python = runtime.PythonRuntime("/venv/bin/python", Path("/venv"))
    command = program.run_command(python, Path("/bin/pulumi-language-python-exec"), request, "127.0.0.1:9")
    assert command == ["/venv/bin/python", "/bin/pulumi-language-python-exec", "--monitor", "127.0.0.1:5",
                       "--engine", "127.0.0.1:9", "--project", "p", "--root_directory", "/srv/project", "--stack", "s",
                       "--pwd", "/srv/project/prog", "--dry_run", "true", "--parallel", "12", "--organization", "org",
                       ".", "--x"]
    env = program.program_environment(request, python, {"PATH": "/usr/bin", "PYTHONHOME": "/elsewhere"})
    assert json.loads(env["PULUMI_CONFIG"]) == {"p:a": "1"}
    assert json.loads(env["PULUMI_CONFIG_SECRET_KEYS"]) == ["p:a"]
    assert env["PATH"] == "/venv/bin:/usr/bin" and env["VIRTUAL_ENV"] == "/venv" and "PYTHONHOME" not in env


@pytest.mark.parametrize(("code", "expected"), [
    (0, ("", False)),
    (32, ("", True)),  # the program showed its error already: the engine adds none
    (1, ("program exited with non-zero exit code: 1", False)),
    (-15, ("program was stopped by signal SIGTERM", False)),
])
def test_exit_statuses_become_run_responses(code: int, expected: tuple[str, bool]) -> None:
    assert program.outcome(code) == expected


def test_runtime_options_choose_the_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "env" / "bin").mkdir(parents=True)
    (tmp_path / "env" / "bin" / "python").touch()
    assert runtime.resolve(str(tmp_path), {"virtualenv": "env"}).python == str(tmp_path / "env" / "bin" / "python")
    with pytest.raises(runtime.PythonNotFound, match="create it with `pulumi install`"):
        runtime.resolve(str(tmp_path), {"toolchain": "uv"})  # uv's default is .venv, which is missing here
    with pytest.raises(runtime.PythonNotFound, match="toolchain: 'conda' is not one of pip, uv, poetry"):
        runtime.resolve(str(tmp_path), {"toolchain": "conda"})
    monkeypatch.setenv("PULUMI_PYTHON_CMD", "/opt/python/bin/python3")
    assert runtime.resolve(str(tmp_path), {}) == runtime.PythonRuntime("/opt/python/bin/python3")


def test_plugin_packages_come_from_pulumi_plugin_json_files(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "pulumi_azure").mkdir(parents=True)
    (site / "pulumi_azure" / "pulumi-plugin.json").write_text(json.dumps(
        {"resource": True, "name": "azure", "version": "6.1.0", "server": "https://example.invalid"}))
    (site / "pulumi_helper").mkdir()
    (site / "pulumi_helper" / "pulumi-plugin.json").write_text(json.dumps({"resource": False}))
    found = packages.plugin_packages(runtime.PythonRuntime("python", tmp_path / "venv"))
    assert found == [packages.PluginPackage("azure", "6.1.0", "https://example.invalid")]


def test_loading_the_stubs_leaves_the_real_sdk_importable_in_the_same_process() -> None:
    script = ("import sys; sys.path.insert(0, 'toolchain'); from langhost import stubs; stubs.load(); "
              "import pulumi; from pulumi.runtime.proto import language_pb2; "
              "print(pulumi.CustomResource.__name__, language_pb2 is stubs.load()[0])")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["CustomResource", "True"]


def test_pulumi_install_creates_the_projects_virtualenv_and_installs_its_requirements(tmp_path: Path) -> None:
    from tests.support.cli import Cli

    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: install-test\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n")
    (project / "__main__.py").write_text("import pulumi\n")
    wheel_dir = tmp_path / "wheels"  # a local wheel: nothing is fetched from an index
    wheel_dir.mkdir()
    with zipfile.ZipFile(wheel_dir / "localdep-1.0-py3-none-any.whl", "w") as wheel:
        files = {"localdep/__init__.py": "VALUE = 42\n",
                 "localdep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: localdep\nVersion: 1.0\n",
                 "localdep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                                 "Tag: py3-none-any\n"}
        files["localdep-1.0.dist-info/RECORD"] = "".join(f"{name},,\n" for name in [*files, "localdep-1.0.dist-info/RECORD"])
        for name, text in files.items():
            wheel.writestr(name, text)
    (project / "requirements.txt").write_text("localdep==1.0\n")
    cli = Cli(project, tmp_path / "state", {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheel_dir)})
    done = cli.run("install", timeout=300, check=False)
    assert done.returncode == 0, done.stdout
    python = project / "venv" / "bin" / "python"
    assert python.exists()
    check = subprocess.run([str(python), "-c", "import localdep; print(localdep.VALUE)"], capture_output=True,
                           text=True, timeout=60, check=False)
    assert check.stdout.strip() == "42", check.stderr
