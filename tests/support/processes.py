"""Whether a process still runs, for tests that watch task processes end."""
from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (a killed child of an exited shell, until init reaps it) counts as ended."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # it ended between the checks, or while /proc was read
        return False
