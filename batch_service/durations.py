"""ISO 8601 durations (section 1.1) as the service's layers read them; the one parser is batch_api's.

`parse_duration` takes a day/time duration (years and months only with `calendar`); `duration_seconds` is the
scheduler's and the pools' view of it, where an absent or "unlimited" duration means no limit.
"""
from __future__ import annotations

from batch_api.normal import duration_seconds
from batch_api.normal import parse_timespan as parse_duration

__all__ = ["duration_seconds", "parse_duration"]
