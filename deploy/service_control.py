"""Start and stop the local Batch service in the background for `make up` / `make down`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deploy.environment import DATA_DIR, PROJECT_DIR

READY_FILE = DATA_DIR / "service.json"
PID_FILE = DATA_DIR / "service.pid"


def running_endpoint() -> str | None:
    """The endpoint of the background service if it is up and answering, else None."""
    if not READY_FILE.exists():
        return None
    endpoint = str(json.loads(READY_FILE.read_text())["endpoint"])
    try:
        httpx.get(f"{endpoint}/_local/stats", timeout=2.0).raise_for_status()
    except httpx.HTTPError:
        return None
    return endpoint


def start(port: int, timeout: float = 30.0) -> str:
    """Start `python -m batch_service serve` detached unless it already runs; return its endpoint."""
    endpoint = running_endpoint()
    if endpoint:
        print(f"local Batch service already running at {endpoint}")
        return endpoint
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    READY_FILE.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "batch_service", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(DATA_DIR / "batch")]
    # The child keeps its own copies of these descriptors; ours can close right away.
    with open(DATA_DIR / "service.log", "a") as log, open(READY_FILE, "w") as ready:
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, stdout=ready, stderr=log, start_new_session=True)
    PID_FILE.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the local Batch service exited with {proc.returncode}; see {DATA_DIR/'service.log'}")
        if READY_FILE.read_text().strip():
            endpoint = str(json.loads(READY_FILE.read_text().splitlines()[0])["endpoint"])
            print(f"local Batch service started at {endpoint} (pid {proc.pid}, log {DATA_DIR/'service.log'})")
            return endpoint
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the local Batch service did not get ready within {timeout}s; see {DATA_DIR/'service.log'}")


def stop() -> None:
    """SIGTERM the background service, if any."""
    if not PID_FILE.exists():
        print("local Batch service is not running")
        return
    pid = int(PID_FILE.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass
    PID_FILE.unlink(missing_ok=True)
    READY_FILE.unlink(missing_ok=True)
    print("local Batch service stopped")


def service_env() -> dict[str, str]:
    """Connection fallbacks for the providers when the stack config names no endpoint."""
    if not READY_FILE.exists() or not READY_FILE.read_text().strip():
        return {}
    info = json.loads(READY_FILE.read_text().splitlines()[0])
    return {"AZURE_BATCH_ENDPOINT": info["endpoint"]}


def data_path() -> Path:
    """The background service's data directory."""
    return DATA_DIR / "batch"
