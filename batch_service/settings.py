"""The service's settings, from the command line and the environment (the `serve` start contract)."""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_service.faults import FaultConfig, FaultConfigError

# The well-known development account (like Azurite's): base64 of "devbatchaccount-key-not-a-secret-0123456789".
DEV_ACCOUNT_NAME = "devbatchaccount"
DEV_ACCOUNT_KEY = "ZGV2YmF0Y2hhY2NvdW50LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ=="


@dataclass
class Settings:
    """Everything `serve` was started with; `endpoint` is filled in once the port is bound."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    account_name: str = DEV_ACCOUNT_NAME
    account_key: str = field(default=DEV_ACCOUNT_KEY, repr=False)
    delete_delay: float = 1.0
    resize_delay: float = 1.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    runner: str = "process"
    max_slots: int = 8
    default_pool_id: str = "local"
    allow_bearer: bool = False
    os_users: str = "auto"
    endpoint: str = ""


def build_parser() -> argparse.ArgumentParser:
    """`python -m batch_service serve ...`."""
    parser = argparse.ArgumentParser(prog="python -m batch_service",
                                     description="A local Azure Batch data-plane service (api-version 2025-06-01).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service until SIGTERM",
                                description="Serve the Batch REST API; print one JSON line when ready.")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    serve.add_argument("--data-dir", type=Path, required=True, help="where state and task files live")
    serve.add_argument("--account-name", default=None,
                       help=f"account name (env BATCH_SERVICE_ACCOUNT_NAME, default {DEV_ACCOUNT_NAME})")
    serve.add_argument("--account-key", default=None,
                       help="base64 account key (env BATCH_SERVICE_ACCOUNT_KEY, default the development key)")
    serve.add_argument("--delete-delay", type=float, default=1.0,
                       help="seconds a deleted job or pool stays `deleting` (default 1.0)")
    serve.add_argument("--resize-delay", type=float, default=1.0,
                       help="seconds a resize, node removal or reboot takes (default 1.0)")
    serve.add_argument("--faults", default=None, help='fault injection JSON, e.g. {"seed":1,"rate":0.2}')
    serve.add_argument("--runner", choices=("process", "instant", "none"), default="process",
                       help="how the scheduler runs tasks: real processes, instantly, or none (tasks stay "
                            "active and every job transition completes at once); default process")
    serve.add_argument("--max-slots", type=int, default=8, help="task slots across all pools (default 8)")
    serve.add_argument("--default-pool-id", default="local", help="a pool that always exists (default local)")
    serve.add_argument("--allow-bearer", action="store_true",
                       help="also accept 'Authorization: Bearer <anything>' (off by default)")
    serve.add_argument("--os-users", choices=("auto", "off"), default=None,
                       help="auto: node users become OS accounts and tasks run as them when the service runs "
                            "as root on Linux with useradd; off: users are records only (env "
                            "BATCH_SERVICE_OS_USERS, default auto)")
    return parser


def settings_from_args(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Parse the command line; flags win over environment variables, which win over the defaults."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        faults = FaultConfig.parse(json.loads(args.faults)) if args.faults else FaultConfig()
    except (ValueError, FaultConfigError) as exc:
        parser.error(f"--faults: {exc}")
    values: dict[str, Any] = {
        "data_dir": args.data_dir, "host": args.host, "port": args.port,
        "account_name": args.account_name or env.get("BATCH_SERVICE_ACCOUNT_NAME") or DEV_ACCOUNT_NAME,
        "account_key": args.account_key or env.get("BATCH_SERVICE_ACCOUNT_KEY") or DEV_ACCOUNT_KEY,
        "delete_delay": args.delete_delay, "resize_delay": args.resize_delay, "faults": faults, "runner": args.runner,
        "max_slots": args.max_slots, "default_pool_id": args.default_pool_id, "allow_bearer": args.allow_bearer,
        "os_users": _os_users(parser, args.os_users or env.get("BATCH_SERVICE_OS_USERS") or "auto"),
    }
    return Settings(**values)


def _os_users(parser: argparse.ArgumentParser, value: str) -> str:
    if value not in ("auto", "off"):
        parser.error(f"BATCH_SERVICE_OS_USERS: must be auto or off, not {value!r}")
    return value
