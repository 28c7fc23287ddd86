"""A provider host started ahead of time by the language host (toolchain/langhost/provider_host.py,
providers/warm_host.py) takes the engine's plugin request through the toolchain's plugin
(toolchain/pulumi-resource-pulumi-python -> providers/host_handoff.py), serves it like the SDK's host, stops and
exits with its engine, and is left alone by any request it must not take.

Real processes throughout: the installed plugin script, the handoff client, the pre-started host, and a
stand-in engine (a copy of /bin/sh under the engine's name) whose child the plugin is, as under the real engine.
tests/e2e/test_cli.py runs the same through the real engine and language host.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.environment import TOOLCHAIN_DIR
from langhost import provider_host, sockets
from langhost.runtime import PythonRuntime
from providers.warm_host import NOT_CLAIMED
from tests.support.processes import all_processes, process_alive
from tests.support.provider_host import check_a_task

PLUGIN = TOOLCHAIN_DIR / "bin" / "pulumi-resource-pulumi-python"
HANDOFF_CLIENT = Path(__file__).resolve().parents[2] / "providers" / "host_handoff.py"
THIS_PYTHON = PythonRuntime(sys.executable)


class StandInEngine:
    """A process named `pulumi` that starts the provider plugin as its child once told to (a line on stdin),
    printing the plugin's pid (also its process group) and then whatever the plugin prints (its port first)."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        exe = tmp_path / "pulumi"  # the name the provider host looks for among its ancestors
        exe.symlink_to(sys.executable)
        # A Python engine, not a shell: a non-interactive shell starts background commands with SIGINT ignored.
        script = ("import subprocess, sys; sys.stdin.readline(); "
                  f"p = subprocess.Popen([{str(PLUGIN)!r}, '127.0.0.1:1'], start_new_session=True); "
                  "print(p.pid, flush=True); p.wait()")
        self.process = subprocess.Popen([str(exe), "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env, cwd=tmp_path, start_new_session=True)
        self.pid = self.process.pid
        self.plugin: int | None = None

    def start_plugin(self) -> tuple[int, int]:
        """(plugin pid, port the plugin serves on)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        self.plugin = int(self.process.stdout.readline())
        return self.plugin, int(self.process.stdout.readline())

    def close(self) -> None:
        for group in (self.plugin, self.pid):
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.killpg(group, signal.SIGKILL)  # type: ignore[arg-type]
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCH_WARM_HOST")}
    env.update({"PULUMI_PYTHON_CMD": sys.executable, "no_proxy": "127.0.0.1"})
    env.update(extra)
    return env


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[StandInEngine]:
    started = StandInEngine(tmp_path, _env())
    try:
        yield started
    finally:
        started.close()


def _offer(engine: StandInEngine, cwd: Path) -> subprocess.Popen[bytes]:
    host = provider_host.offer(THIS_PYTHON, str(cwd), engine.pid)
    assert host is not None
    return host


def _sdk_hosts_in_group(group: int) -> list[int]:
    found = []
    for proc in all_processes():
        try:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if os.getpgid(proc.pid) == group and b"-m\0pulumi.dynamic" in cmdline:
            found.append(proc.pid)
    return found


def _wait_gone(pid: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid)


def test_the_plugin_hands_the_request_to_the_host_which_serves_and_stops_with_the_engines_sigint(
        tmp_path: Path, engine: StandInEngine) -> None:
    host = _offer(engine, tmp_path)
    plugin, port = engine.start_plugin()
    assert not provider_host.socket_path(engine.pid).exists()  # claimed: a host is offered once
    assert _sdk_hosts_in_group(plugin) == []  # the SDK's plugin did not run
    assert list(check_a_task(port).failures) == []
    os.killpg(plugin, signal.SIGINT)  # what the engine does to close a plugin
    assert host.wait(timeout=30) == 0
    assert _wait_gone(plugin)


def test_without_a_host_to_answer_the_plugin_runs_the_sdks_host(engine: StandInEngine) -> None:
    plugin, port = engine.start_plugin()
    (sdk_host,) = _sdk_hosts_in_group(plugin)
    assert list(check_a_task(port).failures) == []
    os.killpg(plugin, signal.SIGINT)
    assert _wait_gone(sdk_host)


def test_a_request_for_another_interpreter_is_not_handed_over(tmp_path: Path, engine: StandInEngine) -> None:
    host = _offer(engine, tmp_path)
    fallback = tmp_path / "sdk-plugin"
    fallback.write_text('#!/bin/sh\necho "the SDK plugin ran with $*"\n')
    fallback.chmod(0o755)
    env = _env(PULUMI_RUNTIME_VIRTUALENV=str(tmp_path / "other-venv"))
    done = subprocess.run([sys.executable, "-I", "-S", str(HANDOFF_CLIENT), str(provider_host.socket_path(engine.pid)),
                           str(fallback), "127.0.0.1:1"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout == "the SDK plugin ran with 127.0.0.1:1\n"
    assert host.wait(timeout=30) == NOT_CLAIMED


def test_a_claimed_host_exits_when_its_engine_is_killed(tmp_path: Path, engine: StandInEngine) -> None:
    host = _offer(engine, tmp_path)
    _plugin, port = engine.start_plugin()
    assert list(check_a_task(port).failures) == []
    engine.process.kill()  # SIGKILL: the engine cannot stop its plugin
    assert host.wait(timeout=30) == 0


def test_an_unclaimed_host_exits_with_its_engine_and_takes_its_socket_away(
        tmp_path: Path, engine: StandInEngine) -> None:
    host = _offer(engine, tmp_path)
    path = provider_host.socket_path(engine.pid)
    assert path.is_socket()
    engine.close()
    assert host.wait(timeout=30) == NOT_CLAIMED
    assert not path.exists()


def test_one_host_is_offered_per_engine_at_a_time(tmp_path: Path, engine: StandInEngine) -> None:
    host = _offer(engine, tmp_path)
    try:
        assert provider_host.offer(THIS_PYTHON, str(tmp_path), engine.pid) is None
    finally:
        host.terminate()
        host.wait(timeout=30)


def test_the_socket_of_an_engine_that_is_gone_is_removed_by_the_next_offer(
        tmp_path: Path, engine: StandInEngine) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    folder = sockets.socket_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    stale = provider_host.socket_path(dead.pid)
    stale.touch()
    host = _offer(engine, tmp_path)
    try:
        assert not stale.exists()
    finally:
        host.terminate()
        host.wait(timeout=30)


def test_turned_off_no_host_is_offered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       engine: StandInEngine) -> None:
    monkeypatch.setenv("BATCH_WARM_HOST", "off")
    assert provider_host.offer(THIS_PYTHON, str(tmp_path), engine.pid) is None
    assert not provider_host.socket_path(engine.pid).exists()


def test_a_host_that_cannot_be_offered_leaves_the_command_to_the_sdks_host(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, engine: StandInEngine) -> None:
    long_tmp = tmp_path / ("x" * 120)  # longer than a Unix socket path may be
    long_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    assert provider_host.offer(THIS_PYTHON, str(tmp_path), engine.pid) is None
    assert [p.name for p in long_tmp.rglob("*")] == [sockets.socket_dir().name]  # only the empty folder
