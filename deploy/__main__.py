"""`python -m deploy up|preview|refresh|drift|destroy|outputs --stack NAME`, `service start|stop|status`,
and `logs JOB/TASK [--stack NAME] [--follow]`."""
from __future__ import annotations

import argparse
import json
import sys

from pulumi import automation as auto

from deploy import logs, service_control
from deploy.stacks import open_stack


def _print(line: str) -> None:
    sys.stdout.write(line if line.endswith("\n") else line + "\n")
    sys.stdout.flush()


def _outputs(stack: auto.Stack) -> dict[str, object]:
    return {k: ("[secret]" if v.secret else v.value) for k, v in stack.outputs().items()}


def run_stack_command(command: str, stack_name: str) -> int:
    """Run one engine operation on the stack and print the engine's own output."""
    stack = open_stack(stack_name, extra_env=service_control.service_env())
    try:
        if command == "up":
            stack.up(on_output=_print, color="never")
            _print("outputs:\n" + json.dumps(_outputs(stack), indent=2, sort_keys=True, default=str))
        elif command == "preview":
            stack.preview(on_output=_print, color="never")
        elif command == "drift":
            stack.preview(on_output=_print, color="never", refresh=True, expect_no_changes=True)
        elif command == "refresh":
            stack.refresh(on_output=_print, color="never")
        elif command == "destroy":
            stack.destroy(on_output=_print, color="never")
        elif command == "outputs":
            _print(json.dumps(_outputs(stack), indent=2, sort_keys=True, default=str))
    except auto.errors.CommandError as error:
        _print(f"pulumi {command} failed for stack {stack_name!r}:\n{error}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "preview", "refresh", "drift", "destroy", "outputs"):
        sub.add_parser(name).add_argument("--stack", default="dev")
    svc = sub.add_parser("service", help="the local Batch service in the background")
    svc.add_argument("action", choices=["start", "stop", "status"])
    svc.add_argument("--port", type=int, default=8765)
    log_args = sub.add_parser("logs", help="print a task's stdout/stderr (--follow: until it completes)")
    log_args.add_argument("task", metavar="JOB/TASK")
    log_args.add_argument("--stack", default="dev")
    log_args.add_argument("--follow", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "logs":
        return logs.run_logs(args.task, args.stack, args.follow, open_stack, service_control.service_env())
    if args.command == "service":
        if args.action == "start":
            service_control.start(args.port)
        elif args.action == "stop":
            service_control.stop()
        else:
            endpoint = service_control.running_endpoint()
            _print(f"running at {endpoint}" if endpoint else "not running")
            return 0 if endpoint else 1
        return 0
    return run_stack_command(args.command, args.stack)


if __name__ == "__main__":
    sys.exit(main())
