"""`python -m deploy logs JOB/TASK [--stack NAME] [--follow]`: a task's stdout.txt / stderr.txt.

The files are read through the Batch files API (batch-api.md 2.3, Get task file) with the project's client, so
the same command works on the local service and on a real account. --follow asks only for the bytes not yet
seen (ocp-range) and stops once the task has completed.
"""
from __future__ import annotations

import codecs
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pulumi import automation as auto

from providers.client import BatchClient
from providers.client.errors import BatchError, NotFound
from providers.client.settings import ConnectionSettings, resolve_settings

STREAMS = ("stdout", "stderr")
CHUNK_BYTES = 1 << 20
Write = Callable[[str, str], None]


def settings_for_stack(stack: auto.Stack, environ: Mapping[str, str] = os.environ) -> ConnectionSettings:
    """Connection settings from the stack's config (secrets decrypted by the engine), env as fallback."""
    config = {key: str(item.value) for key, item in stack.get_all_config().items()}
    return resolve_settings(config, environ)


@dataclass
class _Cursor:
    """How far one file has been printed, with a decoder that keeps split UTF-8 sequences whole."""

    offset: int = 0
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))


def _read_new(client: BatchClient, job_id: str, task_id: str, name: str, cursor: _Cursor) -> str:
    """The text appended to `name`.txt since the cursor ("" when nothing new or the file is not there yet)."""
    text = []
    while True:
        try:
            data = client.get_task_file(job_id, task_id, f"{name}.txt",
                                        byte_range=(cursor.offset, cursor.offset + CHUNK_BYTES - 1))
        except NotFound:
            return ""
        except BatchError as error:
            # 416 InvalidRange: the range starts at the current end of the file, so nothing new.
            if error.status == 416:
                break
            raise
        cursor.offset += len(data)
        text.append(cursor.decoder.decode(data))
        if len(data) < CHUNK_BYTES:
            break
    return "".join(text)


def task_logs(client: BatchClient, job_id: str, task_id: str, write: Write, *, follow: bool = False,
              poll_seconds: float = 1.0, timeout: float | None = None) -> str:
    """Write the task's stdout/stderr through `write(stream, text)`; with follow, until it completes.

    Returns the task's state when it stopped reading. Raises NotFound when the task does not exist.
    """
    cursors = {name: _Cursor() for name in STREAMS}
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        task = client.get_task(job_id, task_id)
        if task is None:
            raise NotFound(404, "TaskNotFound", f"task '{task_id}' of job '{job_id}' does not exist")
        state = str(task.get("state"))
        # State is read before the files: a task seen completed has written all its output by then.
        for name in STREAMS:
            text = _read_new(client, job_id, task_id, name, cursors[name])
            if text:
                write(name, text)
        if not follow or state == "completed":
            return state
        if deadline is not None and time.monotonic() >= deadline:
            return state
        time.sleep(poll_seconds)


def run_logs(target: str, stack_name: str, follow: bool, open_stack: Callable[..., auto.Stack],
             extra_env: Mapping[str, str]) -> int:
    """The CLI command: resolve the stack's connection, print the task's output, exit 1 on errors."""
    job_id, sep, task_id = target.partition("/")
    if not sep or not job_id or not task_id:
        sys.stderr.write(f"logs: expected JOB/TASK, got {target!r}\n")
        return 2
    settings = settings_for_stack(open_stack(stack_name, extra_env=dict(extra_env)), {**os.environ, **extra_env})
    streams = {"stdout": sys.stdout, "stderr": sys.stderr}

    def write(name: str, text: str) -> None:
        streams[name].write(text)
        streams[name].flush()

    with BatchClient(settings) as client:
        try:
            state = task_logs(client, job_id, task_id, write, follow=follow)
        except BatchError as error:
            sys.stderr.write(f"logs: {error}\n")
            return 1
    if follow:
        sys.stderr.write(f"logs: task {job_id}/{task_id} is {state}\n")
    return 0
