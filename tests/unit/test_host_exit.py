"""The dynamic-provider host leaves at once when the engine stops it, and only it (sdk_fixes.install_fast_host_exit),
and leaves by itself when the engine is killed (sdk_fixes.install_engine_watch).

A real host (`python -m pulumi.dynamic`, as the engine starts it) is driven over gRPC. A sitecustomize on its
path registers an exit hook at start-up that leaves a marker file: the interpreter's normal shutdown runs it,
the fast exit (registered later, so run first) skips it.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers import sdk_fixes
from tests.support.processes import children, process_alive
from tests.support.provider_host import check_a_task

PROJECT_DIR = Path(__file__).resolve().parents[2]

SITECUSTOMIZE = '''
import atexit, os, sys, threading, time
atexit.register(lambda: open(os.environ["EXIT_MARKER"], "w").write("normal shutdown"))

def _report_waiting() -> None:
    # The SDK's host prints its port a few statements before `Event().wait()` inside its KeyboardInterrupt
    # handler; a SIGINT in between ends it with a traceback. Say when the main thread is inside that wait.
    main = threading.main_thread().ident
    for _ in range(6000):
        frame, names = sys._current_frames().get(main), []
        while frame is not None:
            names.append(frame.f_code.co_name)
            frame = frame.f_back
        # Event().wait() called by main itself (Condition.wait <- Event.wait <- main); not the waits inside
        # the server's start-up, which are further down the stack.
        if names[:3] == ["wait", "wait", "main"]:
            open(os.environ["EXIT_MARKER"] + ".waiting", "w").write("waiting")
            return
        time.sleep(0.01)

threading.Thread(target=_report_waiting, daemon=True).start()
'''


def _start_host(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(PROJECT_DIR)]), "EXIT_MARKER": str(marker)}
    host = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.dynamic"], stdout=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path, start_new_session=True)
    return host, marker


def _stop(host: subprocess.Popen[str]) -> int:
    os.killpg(host.pid, signal.SIGINT)  # what the engine does when it closes a plugin
    code = host.wait(timeout=30)
    host.stdout.close()  # type: ignore[union-attr]
    return code


def test_a_host_that_loaded_our_provider_exits_with_0_without_the_interpreters_shutdown(tmp_path: Path) -> None:
    host, marker = _start_host(tmp_path)
    try:
        response = check_a_task(int(host.stdout.readline()))  # type: ignore[union-attr]
        assert list(response.failures) == []
    finally:
        code = _stop(host)
    assert code == 0
    assert not marker.exists()


def test_a_host_that_never_loaded_our_provider_shuts_down_normally(tmp_path: Path) -> None:
    host, marker = _start_host(tmp_path)
    host.stdout.readline()  # type: ignore[union-attr]  # the port: the host is serving
    # The engine never stops a host before it waits for requests; neither does the test (see SITECUSTOMIZE).
    waiting = Path(f"{marker}.waiting")
    deadline = time.monotonic() + 60
    while not waiting.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert waiting.read_text() == "waiting"
    assert _stop(host) == 0
    assert marker.read_text() == "normal shutdown"


def test_no_other_process_gets_the_fast_exit_or_the_engine_watch() -> None:
    assert not sdk_fixes.in_provider_host()
    sdk_fixes.install_sdk_fixes()
    assert not sdk_fixes._host_exit_installed
    assert not sdk_fixes._engine_watch_installed


def test_a_host_whose_engine_is_killed_exits_by_itself(tmp_path: Path) -> None:
    # A stand-in engine: a shell under the engine's executable name, starting the host as its child the way
    # the engine's wrapper script does.
    engine_exe = tmp_path / "pulumi"
    shutil.copy("/bin/sh", engine_exe)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    engine = subprocess.Popen([str(engine_exe), "-c", f'"{sys.executable}" -u -m pulumi.dynamic & wait'],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path, start_new_session=True)
    try:
        port = int(engine.stdout.readline())  # type: ignore[union-attr]
        (host,) = children(engine.pid)
        check_a_task(port)  # loads our provider in the host: the watch starts
        engine.kill()  # SIGKILL: the engine cannot stop its host
        engine.wait(timeout=30)
        deadline = time.monotonic() + 30
        while process_alive(host) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(host)  # exited (or a zombie until the subreaper collects it)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.pid, signal.SIGKILL)
        engine.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # gRPC honours http_proxy for 127.0.0.1 unless told not to.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
