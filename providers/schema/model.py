"""What a preview check reports (Problem), and the few names of batch_api's vocabulary the resource modules
use through `providers.schema`."""
from __future__ import annotations

from dataclasses import dataclass

from batch_api.model import ID_PATTERN, is_unknown, join

__all__ = ["ID_PATTERN", "Problem", "is_unknown", "join"]


@dataclass(frozen=True)
class Problem:
    """One reason a spec is invalid: where (dotted path), which rule, and a value-free message."""

    path: str
    rule: str
    message: str
