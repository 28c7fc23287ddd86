"""ISO-8601 durations as the providers read and write them; the normal form is batch_api's (reference 1.1)."""
from __future__ import annotations

from batch_api.normal import UNLIMITED_TEXT, DurationError, format_duration, is_unlimited, parse_duration

__all__ = ["UNLIMITED_TEXT", "DurationError", "format_duration", "is_unlimited", "parse_duration"]
