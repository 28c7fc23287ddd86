"""Start the local Batch service as a real process for tests (the `serve` contract of batch_service)."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunningService:
    """Where a started local Batch service listens and how to sign requests to it."""

    endpoint: str
    account_name: str
    account_key: str
    data_dir: Path
    process: subprocess.Popen[str]

    def env(self) -> dict[str, str]:
        """The environment variables the providers read as connection fallbacks."""
        return {
            "AZURE_BATCH_ENDPOINT": self.endpoint,
            "AZURE_BATCH_ACCOUNT_NAME": self.account_name,
            "AZURE_BATCH_ACCESS_KEY": self.account_key,
        }


def _drain(stream: object) -> None:
    # Keep reading the service's stdout so it never blocks on a full pipe.
    for _ in stream:  # type: ignore[attr-defined]
        pass


@contextlib.contextmanager
def start_service(data_dir: Path, *extra_args: str, timeout: float = 30.0) -> Iterator[RunningService]:
    """Run `python -m batch_service serve` on a free loopback port; stop it with SIGTERM on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "batch_service", "serve", "--host", "127.0.0.1", "--port", "0",
           "--data-dir", str(data_dir), *extra_args]
    if "--runner" not in extra_args:
        cmd += ["--runner", "process"]
    with open(data_dir / "service.log", "a") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=log, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    drain: threading.Thread | None = None
    try:
        line = _read_ready_line(proc, timeout)
        info = json.loads(line)
        drain = threading.Thread(target=_drain, args=(proc.stdout,), daemon=True)
        drain.start()
        yield RunningService(info["endpoint"], info["accountName"], info["accountKey"], data_dir, proc)
    finally:
        stop_service(proc)
        if drain is not None:
            drain.join(5.0)
        if proc.stdout:
            proc.stdout.close()


def _read_ready_line(proc: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout)
    if not result or not result[0].strip():
        proc.kill()
        raise RuntimeError(f"batch_service did not print its ready line within {timeout}s (exit {proc.poll()})")
    return result[0]


def stop_service(proc: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if the service does not stop in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def set_faults(service: RunningService, config: dict[str, Any]) -> None:
    """Switch the service's fault injection (`PUT /_local/faults`), e.g. {"seed": 1, "rate": 0.5, "kinds": [...]}."""
    response = httpx.put(f"{service.endpoint}/_local/faults", json=config)
    assert response.status_code == 200, response.text


def service_stats(service: RunningService) -> dict[str, Any]:
    """The service's request and fault counts (`GET /_local/stats`)."""
    counted: dict[str, Any] = httpx.get(f"{service.endpoint}/_local/stats").json()
    return counted
