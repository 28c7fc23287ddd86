"""A provider host started ahead of time (providers/warm_host.py, deploy/warm_host.py) takes the engine's plugin
request through the shim (toolchain/pulumi-resource-pulumi-python -> providers/host_handoff.py), serves it like
the SDK's host, stops and exits with it, and is left alone by any request it must not take.

Real processes throughout: the installed shim, the handoff client, the pre-started host, and a stand-in engine
(a copy of /bin/sh under the engine's name) where the engine's death matters. tests/e2e/test_warm_host.py runs
the same through the real engine.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.environment import TOOLCHAIN_DIR
from deploy.warm_host import CLIENT_VARIABLE, HANDOFF_CLIENT, SOCKET_VARIABLE, WarmHost
from providers.warm_host import NOT_CLAIMED
from tests.support.processes import all_processes, process_alive
from tests.support.provider_host import check_a_task

SHIM = TOOLCHAIN_DIR / "bin" / "pulumi-resource-pulumi-python"


@pytest.fixture()
def host(tmp_path: Path) -> Iterator[WarmHost]:
    started = WarmHost(str(tmp_path), {})
    try:
        yield started
    finally:
        started.stop()


def _shim_env(host: WarmHost | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCH_WARM_HOST")}
    env.update({"PULUMI_PYTHON_CMD": sys.executable, CLIENT_VARIABLE: str(HANDOFF_CLIENT), "no_proxy": "127.0.0.1"})
    env[SOCKET_VARIABLE] = str(host.socket_path) if host is not None else "/nonexistent/host.sock"
    env.update(extra)
    return env


def _start_shim(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    # As the engine starts a plugin: its own process group, stdout read for the port.
    return subprocess.Popen([str(SHIM), "127.0.0.1:1"], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
                            start_new_session=True)


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


def test_the_shim_hands_the_request_to_the_host_which_serves_and_stops_with_the_engines_sigint(
        tmp_path: Path, host: WarmHost) -> None:
    shim = _start_shim(tmp_path, _shim_env(host))
    try:
        port = int(shim.stdout.readline())  # type: ignore[union-attr]  # written by the pre-started host
        assert not host.socket_path.exists()  # claimed: a host is offered once
        assert _sdk_hosts_in_group(shim.pid) == []  # the SDK's shim did not run
        assert list(check_a_task(port).failures) == []
        os.killpg(shim.pid, signal.SIGINT)  # what the engine does to close a plugin
        assert shim.wait(timeout=30) == 0
        assert host.process.wait(timeout=30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shim.pid, signal.SIGKILL)
        shim.stdout.close()  # type: ignore[union-attr]
    host.stop()
    assert host.served


def test_without_a_host_to_answer_the_shim_runs_the_sdks_host(tmp_path: Path) -> None:
    shim = _start_shim(tmp_path, _shim_env(None))
    try:
        port = int(shim.stdout.readline())  # type: ignore[union-attr]
        (sdk_host,) = _sdk_hosts_in_group(shim.pid)
        assert list(check_a_task(port).failures) == []
        os.killpg(shim.pid, signal.SIGINT)
        shim.wait(timeout=30)  # the SDK's shell script itself ends by the signal; its host exits with 0
        assert _wait_gone(sdk_host)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shim.pid, signal.SIGKILL)
        shim.stdout.close()  # type: ignore[union-attr]


def test_a_request_for_another_interpreter_is_not_handed_over(tmp_path: Path, host: WarmHost) -> None:
    fallback = tmp_path / "sdk-shim"
    fallback.write_text('#!/bin/sh\necho "the SDK shim ran with $*"\n')
    fallback.chmod(0o755)
    other_venv = tmp_path / "other-venv"
    env = _shim_env(host, PULUMI_RUNTIME_VIRTUALENV=str(other_venv))
    done = subprocess.run([sys.executable, "-I", "-S", str(HANDOFF_CLIENT), str(fallback), "127.0.0.1:1"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "the SDK shim ran with 127.0.0.1:1\n"
    assert host.process.wait(timeout=30) == NOT_CLAIMED
    host.stop()
    assert not host.served


def test_a_claimed_host_exits_when_its_engine_is_killed(tmp_path: Path, host: WarmHost) -> None:
    engine_exe = tmp_path / "pulumi"  # a stand-in engine: the shim is its child, as under the real engine
    shutil.copy("/bin/sh", engine_exe)
    engine = subprocess.Popen([str(engine_exe), "-c", f'"{SHIM}" 127.0.0.1:1 & wait'], stdout=subprocess.PIPE,
                              text=True, env=_shim_env(host), cwd=tmp_path, start_new_session=True)
    try:
        port = int(engine.stdout.readline())  # type: ignore[union-attr]
        assert list(check_a_task(port).failures) == []
        engine.kill()  # SIGKILL: the engine cannot stop its plugin
        engine.wait(timeout=30)
        assert host.process.wait(timeout=30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.pid, signal.SIGKILL)
        engine.stdout.close()  # type: ignore[union-attr]


def test_an_unclaimed_host_exits_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = ("import sys, time; from deploy.warm_host import WarmHost; "
              "h = WarmHost(sys.argv[1], {}); print(h.process.pid, flush=True); time.sleep(600)")
    starter = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        warm_pid = int(starter.stdout.readline())  # type: ignore[union-attr]
        assert process_alive(warm_pid)
        starter.kill()
        starter.wait(timeout=30)
        assert _wait_gone(warm_pid)
    finally:
        starter.kill()
        starter.stdout.close()  # type: ignore[union-attr]


def test_turned_off_no_host_is_started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from deploy.warm_host import offered

    with offered("preview", str(tmp_path), {}) as host:
        assert host is not None
    monkeypatch.setenv("BATCH_WARM_HOST", "off")
    with offered("preview", str(tmp_path), {}) as host:
        assert host is None
    monkeypatch.delenv("BATCH_WARM_HOST")
    with offered("stack", str(tmp_path), {}) as host:  # `stack output` and the like never load a provider
        assert host is None


def test_a_host_that_cannot_be_started_leaves_the_command_to_the_sdks_host(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from deploy.warm_host import offered

    long_tmp = tmp_path / ("x" * 120)  # longer than a Unix socket path may be
    long_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    with offered("up", str(tmp_path), {}) as host:
        assert host is None
    assert list(long_tmp.iterdir()) == []  # nothing left behind
