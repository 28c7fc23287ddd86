"""`python -m deploy service start|stop|status [--port N]` (the local Batch service in the background),
`logs JOB/TASK [--stack NAME] [--follow]` (a task's output) and `unlock --stack NAME` (the lock and torn state
files of an engine that was killed). Everything else is the `pulumi` CLI (`source toolchain/activate`)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from deploy import logs, service_control
from deploy.environment import STATE_DIR
from deploy.stacks import clear_stale_locks, open_stack


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    svc = sub.add_parser("service", help="the local Batch service in the background")
    svc.add_argument("action", choices=["start", "stop", "status"])
    svc.add_argument("--port", type=int, default=8765)
    log_args = sub.add_parser("logs", help="print a task's stdout/stderr (--follow: until it completes)")
    log_args.add_argument("task", metavar="JOB/TASK")
    log_args.add_argument("--stack", default="dev")
    log_args.add_argument("--follow", action="store_true")
    unlock = sub.add_parser("unlock", help="remove the lock of a stack whose engine on this host is gone (the "
                            "file backend of PULUMI_BACKEND_URL, else .state)")
    unlock.add_argument("--stack", default="dev")
    args = parser.parse_args(argv)
    if args.command == "logs":
        return logs.run_logs(args.task, args.stack, args.follow, open_stack, service_control.service_env())
    if args.command == "unlock":
        clear_stale_locks(_file_backend() or STATE_DIR, args.stack)
        return 0
    if args.action == "start":
        service_control.start(args.port)
    elif args.action == "stop":
        service_control.stop()
    else:
        endpoint = service_control.running_endpoint()
        print(f"running at {endpoint}" if endpoint else "not running")
        return 0 if endpoint else 1
    return 0


def _file_backend() -> Path | None:
    """The folder of a `file://` PULUMI_BACKEND_URL (what `source toolchain/activate` or the user set)."""
    url = urlsplit(os.environ.get("PULUMI_BACKEND_URL", ""))
    return Path(unquote(url.path)) if url.scheme == "file" and url.path else None


if __name__ == "__main__":
    sys.exit(main())
