"""The Stack every command of this project runs: the SDK's, minus two costs it adds around each program.

`settled`: see its docstring (a quadratic wait in the SDK's program runner).

Bookkeeping: after the `pulumi up` command the Automation API (3.259.0, `Stack.up`) runs three more engine
commands to fill in its result: `stack output --json`, `stack output --json --show-secrets` and `stack history
--page-size 1 --show-secrets`. Each is a fresh engine process (~0.35 s of start-up here) and the last two also derive the
passphrase key (~0.2 s): about 1.5 s after every `up`, as long as a 10,000-task collection takes to create.

- Outputs come from the root stack's outputs event of the same `up` when none of them is secret: the same
  values the command would print. With a secret output the SDK's two commands run as before.
- The summary is read from the stack history (the SDK's own `info()`, the newest entry) when first used, or
  before this Stack runs any other engine command, whichever comes first, so a later update of this Stack
  cannot shadow it. (The SDK reads it right after `up`; an update by another process in between would shadow
  it there too, only in a shorter window.)
"""
from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode
from pulumi.automation.events import EngineEvent

from deploy import warm_host

# The marker the engine puts in event payloads in place of a secret value.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def has_secret(value: Any) -> bool:
    """True when an event payload holds a secret anywhere inside."""
    if isinstance(value, dict):
        return SECRET_SIGNATURE in value or any(has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secret(v) for v in value)
    return False


def settled(program: Callable[[], Awaitable[None] | None]) -> Callable[[], Awaitable[None]]:
    """The program as the SDK's runner should see it: registrations already queued when it returns.

    The SDK (3.259.0, runtime/stack.py `wait_for_rpcs`) checks its list of outstanding RPCs before they have
    had one turn of the event loop to enter it, finds it empty and instead waits on every pending Output with
    `asyncio.wait(FIRST_COMPLETED)`, re-arming thousands of futures each time one resolves: quadratic, about
    9 ms per resource of a 200-resource preview. One yield after the program lets the registrations enter the
    list, so the SDK awaits them one by one. Same program, same order; only the waiting changes.
    """
    async def run() -> None:
        result = program()
        if inspect.isawaitable(result):
            await result
        await asyncio.sleep(0)
    return run


def _settle_program(kwargs: dict[str, Any]) -> dict[str, Any]:
    program = kwargs.get("program")
    return {**kwargs, "program": settled(program)} if program is not None else kwargs


class _UpTap:
    """Passes events on to the caller's callback and keeps the root stack's final outputs."""

    def __init__(self, forward: Callable[[EngineEvent], Any] | None) -> None:
        self.forward = forward
        self.outputs: dict[str, Any] | None = None

    def __call__(self, event: EngineEvent) -> None:
        step = event.res_outputs_event
        if step is not None and step.metadata.type == "pulumi:pulumi:Stack" and step.metadata.new is not None:
            self.outputs = dict(step.metadata.new.outputs or {})
        if self.forward is not None:
            self.forward(event)


class LazyUpdateSummary(auto.UpdateSummary):
    """The UpdateSummary of one update, read from the stack history on first attribute access."""

    def __init__(self, stack: DeployStack, show_secrets: bool) -> None:
        # UpdateSummary.__init__ is not called on purpose: its attributes arrive in resolve().
        self._stack, self._show_secrets = stack, show_secrets

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self.resolve()
        return self.__dict__[name]

    def resolve(self) -> None:
        """Read the newest history entry, as the SDK's `up` does."""
        if "result" in self.__dict__:
            return
        self._stack._pending.discard(self)  # reading the history must not resolve this summary again
        entry = auto.Stack.info(self._stack, self._show_secrets)
        if entry is None:
            raise RuntimeError(f"stack {self._stack.name!r} has no update history after `up`")
        self.__dict__.update(vars(entry))


class DeployStack(auto.Stack):
    """auto.Stack with the programs run through `settled` and `up` bookkeeping read only when used."""

    def __init__(self, name: str, workspace: auto.Workspace, mode: StackInitMode) -> None:
        self._tap: _UpTap | None = None
        self._pending: weakref.WeakSet[LazyUpdateSummary] = weakref.WeakSet()
        self.last_warm_host: warm_host.WarmHost | None = None  # the latest command's (deploy/warm_host.py)
        super().__init__(name, workspace, mode)

    def up(self, **kwargs: Any) -> auto.UpResult:  # type: ignore[override]  # keyword arguments only
        """`pulumi up`; see the module docstring for how its outputs and summary are filled in."""
        self._tap = _UpTap(kwargs.pop("on_event", None))
        try:
            return super().up(**_settle_program(kwargs), on_event=self._tap)
        finally:
            self._tap = None

    def preview(self, **kwargs: Any) -> auto.PreviewResult:  # type: ignore[override]  # keyword arguments only
        """`pulumi preview`, a program given here run through `settled` too."""
        return super().preview(**_settle_program(kwargs))

    def outputs(self) -> auto.OutputMap:
        """The stack outputs: from the running `up`'s events when none is secret, else from the engine."""
        tap = self._tap
        if tap is None or tap.outputs is None or has_secret(tap.outputs):
            return super().outputs()
        return {key: auto.OutputValue(value=value, secret=False) for key, value in tap.outputs.items()}

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        """The latest update's summary; during `up`, a summary read from the history when first used."""
        if self._tap is None:
            return super().info(show_secrets)
        summary = LazyUpdateSummary(self, show_secrets)
        self._pending.add(summary)
        return summary

    def _run_pulumi_cmd_sync(self, args: list[str], *rest: Any, **kwargs: Any) -> auto.CommandResult:
        # Before any other engine command, read the summaries still pending: a later update must not shadow
        # them. (`resolve` itself runs `stack history`; the pending set is emptied first, so it does not loop.)
        pending, self._pending = list(self._pending), weakref.WeakSet()
        for summary in pending:
            summary.resolve()
        # A provider host started next to the engine, for its plugin shim to take over (deploy/warm_host.py).
        workspace, env = self.workspace, self.workspace.env_vars
        with warm_host.offered(args[0] if args else "", str(workspace.work_dir), dict(env)) as host:
            self.last_warm_host = host
            if host is not None:
                workspace.env_vars = {**env, **host.engine_env()}
            try:
                return super()._run_pulumi_cmd_sync(args, *rest, **kwargs)
            finally:
                workspace.env_vars = env
