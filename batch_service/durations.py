"""ISO 8601 durations (section 1.1): the one parser of the service, on isodate.

Every layer reads durations through `parse_duration`; `duration_seconds` is the scheduler's and the pools'
view of it, where an absent or "unlimited" duration means no limit.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import isodate

# Section 5.3: the service writes "unlimited" as the largest .NET TimeSpan (P10675199DT2H48M5.4775807S).
UNLIMITED_DAYS = 10_000
# Years and months have no fixed length; a calendar duration is measured from this day.
_CALENDAR_START = dt.datetime(2000, 1, 1)


def parse_duration(text: str, *, calendar: bool = False) -> dt.timedelta:
    """An ISO 8601 duration as a timedelta; ValueError when it is not one. Years and months are refused
    (they are not a day/time duration) unless `calendar`, which measures them from 2000-01-01."""
    parsed: Any = isodate.parse_duration(text)
    if isinstance(parsed, dt.timedelta):
        return parsed
    if not calendar:
        raise ValueError(f"{text!r} is not a day/time duration")
    delta: dt.timedelta = parsed.totimedelta(start=_CALENDAR_START)
    return delta


def duration_seconds(value: object) -> float | None:
    """A duration in seconds; None when absent or unlimited. Numbers are taken as seconds already."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.timedelta):
        return _limited_seconds(value)
    return _parsed_seconds(str(value))


@functools.lru_cache(maxsize=256)
def _parsed_seconds(text: str) -> float | None:
    # Cached: every completed task arms a retention timer from the same few duration strings.
    return _limited_seconds(parse_duration(text, calendar=True))


def _limited_seconds(value: dt.timedelta) -> float | None:
    if value.days >= UNLIMITED_DAYS:
        return None
    return float(value.total_seconds())
