"""Normal forms of the API's scalars, written once: ISO-8601 durations and the "unlimited" value, enum case,
and timestamps (reference sections 1.1 and 5.3)."""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import isodate

# The service reports "no limit" as .NET TimeSpan.MaxValue (reference 1.1 and 5.3); isodate rounds its
# fraction, so anything at or beyond this many days is read as "unlimited".
UNLIMITED_TEXT = "P10675199DT2H48M5.4775807S"
_UNLIMITED_FLOOR = dt.timedelta(days=10675199)
# The largest duration the service takes: TimeSpan.MaxValue as isodate reads it (the 7th digit rounds up).
DURATION_MAX = dt.timedelta(days=10675199, hours=2, minutes=48, seconds=5, microseconds=477581)
# Edm.Duration as OData writes it: days and time parts only (no years, months or weeks), never negative.
_DURATION_SHAPE = re.compile(r"P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
# Years and months have no fixed length; a calendar duration is measured from this day.
_CALENDAR_START = dt.datetime(2000, 1, 1)


class DurationError(ValueError):
    """Raised when a text is not an ISO-8601 duration Batch can take (no years or months)."""


def parse_timespan(text: str, *, calendar: bool = False) -> dt.timedelta:
    """An ISO-8601 duration as a timedelta; ValueError when it is not one. Years and months are refused
    (they are not a day/time duration) unless `calendar`, which measures them from 2000-01-01."""
    parsed: Any = isodate.parse_duration(text)
    if isinstance(parsed, dt.timedelta):
        return parsed
    if not calendar:
        raise DurationError(f"{text!r} is not a day/time duration")
    delta: dt.timedelta = parsed.totimedelta(start=_CALENDAR_START)
    return delta


def parse_duration(text: str) -> dt.timedelta | None:
    """Parse an ISO-8601 duration as a user wrote it; None means unlimited (the service's TimeSpan.MaxValue)."""
    if not isinstance(text, str):
        raise DurationError("a duration must be an ISO-8601 string such as PT1H")
    return _parse_text(text)


@functools.lru_cache(maxsize=1024)
def _parse_text(text: str) -> dt.timedelta | None:
    # A collection's diff parses the same few durations tens of thousands of times; isodate is slow at it.
    try:
        value = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError) as exc:
        raise DurationError("not an ISO-8601 duration (expected e.g. PT1H30M or P1D)") from exc
    if not isinstance(value, dt.timedelta):
        # Batch durations are TimeSpans: calendar years and months have no fixed length.
        raise DurationError("years and months are not allowed in a Batch duration (use days)")
    return None if is_unlimited(value) else value


def wire_duration(value: object) -> dt.timedelta | None:
    """A duration exactly as the service accepts it on the wire (Edm.Duration, at most TimeSpan.MaxValue),
    or None when it is not one."""
    if not isinstance(value, str) or not _DURATION_SHAPE.fullmatch(value):
        return None
    try:
        parsed = parse_timespan(value)
    except (ValueError, OverflowError):
        return None
    return None if parsed > DURATION_MAX else parsed


def is_unlimited(value: dt.timedelta | None) -> bool:
    """True when a parsed duration means "no limit" (absent, or TimeSpan.MaxValue)."""
    return value is None or value >= _UNLIMITED_FLOOR


def format_duration(value: dt.timedelta | None) -> str:
    """Render a duration the way the service would accept it; None becomes the unlimited value."""
    if is_unlimited(value):
        return UNLIMITED_TEXT
    assert value is not None
    text: str = isodate.duration_isoformat(value)
    return text


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
    return _limited_seconds(parse_timespan(text, calendar=True))


def _limited_seconds(value: dt.timedelta) -> float | None:
    return None if is_unlimited(value) else float(value.total_seconds())


def parse_timestamp(value: object) -> dt.datetime | None:
    """An ISO-8601 date-time with a UTC offset (Edm.DateTimeOffset), or None when it is not one."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = isodate.parse_datetime(value)
    except (isodate.ISO8601Error, ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else None


def canonical_enum(values: tuple[str, ...], value: object) -> str | None:
    """The 2025-06-01 spelling of an enum value matched case-insensitively, or None."""
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return next((allowed for allowed in values if allowed.lower() == lowered), None)
