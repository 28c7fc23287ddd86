"""The task table, as batch_api states it (reference 3.4-3.10)."""
from __future__ import annotations

from batch_api.tasks import TASK

__all__ = ["TASK"]
