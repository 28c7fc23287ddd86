"""The language host's RunPlugin, as the engine calls it to start a policy pack: the plugin folder's __main__.py
runs with the folder's virtualenv, its output streams back (port line first), then its exit code; ending the
call stops the plugin."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from deploy.environment import TOOLCHAIN_DIR
from langhost import stubs
from tests.support.processes import process_alive

language_pb2, language_pb2_grpc, _plugin_pb2 = stubs.load()
HOST = TOOLCHAIN_DIR / "bin" / "pulumi-language-python"
VENV = Path(__file__).resolve().parents[2] / ".venv"

PLUGIN = """
import os, sys, time
sys.stdout.write("4321\\n")
sys.stdout.write("args=" + " ".join(sys.argv[1:]) + " cwd=" + os.getcwd() + " env=" + os.environ.get("MARK", "") + "\\n")
sys.stderr.write("a line on stderr\\n")
sys.stdout.write("pid=%d\\n" % os.getpid())
if "--wait" in sys.argv:
    time.sleep(600)
sys.exit(3)
"""


@pytest.fixture()
def stub(tmp_path: Path) -> Iterator[Any]:
    """The installed host, started as the engine starts it."""
    process = subprocess.Popen([str(HOST), "127.0.0.1:1"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        channel.close()
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def plugin_folder(tmp_path: Path, program: str | None = PLUGIN, virtualenv: str | None = str(VENV)) -> Any:
    """A plugin folder with `program` as its __main__.py; the ProgramInfo the engine sends for it."""
    folder = tmp_path / "pack"
    folder.mkdir()
    if program is not None:
        (folder / "__main__.py").write_text(program)
    options = struct_pb2.Struct()
    options.update({"toolchain": "pip", **({"virtualenv": virtualenv} if virtualenv else {})})
    return language_pb2.ProgramInfo(root_directory=str(folder), program_directory=str(folder), entry_point=".",
                                    options=options)


def request(tmp_path: Path, info: Any, *args: str) -> Any:
    return language_pb2.RunPluginRequest(pwd=str(tmp_path), args=list(args), env=["MARK=from-the-engine"],
                                         info=info, kind="analyzer")


def test_the_plugin_runs_with_the_engines_arguments_and_environment_and_streams_output_then_exit_code(
        tmp_path: Path, stub: Any) -> None:
    responses = list(stub.RunPlugin(request(tmp_path, plugin_folder(tmp_path), "127.0.0.1:9", "--x"), timeout=120))
    stdout = b"".join(r.stdout for r in responses if r.WhichOneof("output") == "stdout").decode()
    stderr = b"".join(r.stderr for r in responses if r.WhichOneof("output") == "stderr").decode()
    assert stdout.startswith("4321\n")
    assert f"args=127.0.0.1:9 --x cwd={tmp_path} env=from-the-engine" in stdout
    assert stderr == "a line on stderr\n"
    assert responses[-1].WhichOneof("output") == "exitcode" and responses[-1].exitcode == 3


def test_without_a_virtualenv_option_the_folders_venv_is_required(tmp_path: Path, stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.RunPlugin(request(tmp_path, plugin_folder(tmp_path, virtualenv=None)), timeout=120))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"the plugin in {tmp_path / 'pack'} runs in the virtualenv 'venv'" in refused.value.details()


def test_a_folder_without_main_py_is_refused_naming_it(tmp_path: Path, stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.RunPlugin(request(tmp_path, plugin_folder(tmp_path, program=None)), timeout=120))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"{tmp_path / 'pack'} has no __main__.py" in refused.value.details()


def test_ending_the_call_stops_the_plugin(tmp_path: Path, stub: Any) -> None:
    call = stub.RunPlugin(request(tmp_path, plugin_folder(tmp_path), "--wait"), timeout=120)
    seen = ""
    for response in call:
        seen += response.stdout.decode()
        if "pid=" in seen:
            break
    pid = int(seen.split("pid=")[1].split()[0])
    assert process_alive(pid)
    call.cancel()  # what the engine does when it closes the analyzer
    deadline = time.monotonic() + 60
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(pid)
