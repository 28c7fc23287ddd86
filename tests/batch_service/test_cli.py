"""The `serve` start contract: flags, the one ready line, environment overrides, SIGTERM."""
from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.batch_service.conftest import run_service, signed_client
from tests.support.service import PROJECT_DIR

DEV_KEY = "ZGV2YmF0Y2hhY2NvdW50LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ=="


def test_serve_help_lists_the_flags() -> None:
    result = subprocess.run([sys.executable, "-m", "batch_service", "serve", "--help"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=30, check=True)
    for flag in ("--host", "--port", "--data-dir", "--account-name", "--account-key", "--delete-delay", "--faults",
                 "--runner", "--max-slots", "--default-pool-id", "--allow-bearer"):
        assert flag in result.stdout


def test_ready_line_is_one_json_object_then_sigterm_stops_cleanly(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "batch_service", "serve", "--port", "0", "--data-dir", str(tmp_path)]
    with subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        ready = json.loads(process.stdout.readline())
        assert ready == {"endpoint": ready["endpoint"], "accountName": "devbatchaccount", "accountKey": DEV_KEY}
        assert ready["endpoint"].startswith("http://127.0.0.1:")
        assert httpx.get(ready["endpoint"] + "/_local/stats").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert process.stdout.read() == ""
        assert "state flushed" in process.stderr.read()


def test_account_comes_from_the_environment_and_flags_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.b64encode(b"another-local-key-0123456789").decode()
    monkeypatch.setenv("BATCH_SERVICE_ACCOUNT_NAME", "envaccount")
    monkeypatch.setenv("BATCH_SERVICE_ACCOUNT_KEY", key)
    with run_service(tmp_path / "env") as service:
        assert (service.account_name, service.account_key) == ("envaccount", key)
        with signed_client(service) as api:
            assert api.get("/pools/local").status_code == 200
    with run_service(tmp_path / "flag", "--account-name", "flagaccount", "--default-pool-id", "mine",
                     "--max-slots", "3") as service:
        assert service.account_name == "flagaccount"
        with signed_client(service) as api:
            assert api.get("/pools/mine").json()["taskSlotsPerNode"] == 3
