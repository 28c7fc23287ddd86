"""The job and job schedule tables, as batch_api states them (reference 3.1, 3.11, 4.1, 4.3)."""
from __future__ import annotations

from batch_api.jobs import JOB, JOB_SCHEDULE, JOB_SPECIFICATION

__all__ = ["JOB", "JOB_SCHEDULE", "JOB_SPECIFICATION"]
