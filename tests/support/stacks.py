"""Run throwaway Pulumi stacks (inline programs, real engine) against a running local Batch service."""
from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pulumi import automation as auto

from deploy.stacks import open_stack, write_scratch_project
from tests.support.service import RunningService


@dataclass
class StackRun:
    """One stack of a scratch project whose provider connection comes from the environment."""

    stack: auto.Stack
    output: list[str] = field(default_factory=list)

    def log(self, line: str) -> None:
        """Collect the engine's output lines (on_output callback)."""
        self.output.append(line)

    @property
    def text(self) -> str:
        """Everything the engine printed so far."""
        return "\n".join(self.output)

    def up(self, program: Callable[[], None] | None = None) -> auto.UpResult:
        """`pulumi up`, optionally with a different program."""
        return self.stack.up(on_output=self.log, color="never", program=program)

    def preview(self, program: Callable[[], None] | None = None, **kwargs: object) -> auto.PreviewResult:
        """`pulumi preview`."""
        return self.stack.preview(on_output=self.log, color="never", program=program, **kwargs)  # type: ignore[arg-type]


def new_stack(tmp: Path, service: RunningService, program: Callable[[], None],
              extra_env: dict[str, str] | None = None, name: str | None = None) -> StackRun:
    """A scratch project + stack (test-<random> unless named) talking to `service`."""
    work = write_scratch_project(tmp / "project", Path(sys.prefix))
    name = name or f"test-{uuid.uuid4().hex[:8]}"
    stack = open_stack(name, program=program, work_dir=work, state_dir=tmp / "state",
                       extra_env={**service.env(), **(extra_env or {})})
    return StackRun(stack)
