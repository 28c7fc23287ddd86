"""Processes as /proc shows them, for tests that watch task processes, provider hosts and engines end."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the tests read."""

    pid: int
    command: str
    state: str  # R, S, Z...
    ppid: int


def proc_stat(pid: int) -> ProcStat | None:
    """The process's stat, None once it is gone (or gone while it was read)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        command, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        return ProcStat(pid, command, rest[0], int(rest[1]))
    except (OSError, ValueError, IndexError):  # ProcessLookupError when it ends during the read
        return None


def all_processes() -> Iterator[ProcStat]:
    """Every process that still exists while the listing is read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = proc_stat(int(entry.name))
            if found is not None:
                yield found


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (a killed child of an exited shell, until init reaps it) counts as ended."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    found = proc_stat(pid)
    return found is not None and found.state != "Z"


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid`."""
    return [p.pid for p in all_processes() if p.ppid == pid]


def orphans(kind: Callable[[ProcStat, bytes], bool]) -> list[int]:
    """Live processes of `kind` (given their stat and command line) whose parent is gone (ppid 1)."""
    found = []
    for proc in all_processes():
        if proc.ppid != 1 or proc.state == "Z":
            continue
        try:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if kind(proc, cmdline):
            found.append(proc.pid)
    return found
