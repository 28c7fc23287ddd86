"""The toolchain's Python language host: its gRPC service as the engine calls it, and its parts on their own."""
from __future__ import annotations

import json
import os
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
from tests.support.processes import process_alive

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


def test_the_host_never_outlives_its_engine(tmp_path: Path) -> None:
    engine = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys; p = subprocess.Popen([sys.argv[1], '127.0.0.1:1'], stdout=subprocess.PIPE, "
        "text=True, start_new_session=True); sys.stdout.write(str(p.pid) + ' ' + p.stdout.readline()); "
        "sys.stdout.flush(); import time; time.sleep(600)"), str(HOST)], stdout=subprocess.PIPE, text=True)
    try:
        assert engine.stdout is not None
        pid, _port = map(int, engine.stdout.readline().split())
        assert process_alive(pid)
        engine.kill()
        engine.wait(timeout=30)
        deadline = time.monotonic() + 30
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(pid)
    finally:
        engine.kill()
        if engine.stdout is not None:
            engine.stdout.close()


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
