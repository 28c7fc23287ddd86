"""ISO-8601 durations as the Batch REST API writes and reads them (reference section 1.1)."""
from __future__ import annotations

import functools
from datetime import timedelta

import isodate

# The service reports "no limit" as .NET TimeSpan.MaxValue (reference 1.1 and 5.3); isodate rounds its
# fraction, so anything at or beyond this many days is read as "unlimited".
UNLIMITED_TEXT = "P10675199DT2H48M5.4775807S"
_UNLIMITED_FLOOR = timedelta(days=10675199)


class DurationError(ValueError):
    """Raised when a text is not an ISO-8601 duration Batch can take (no years or months)."""


def parse_duration(text: str) -> timedelta | None:
    """Parse an ISO-8601 duration; None means unlimited (the service's TimeSpan.MaxValue)."""
    if not isinstance(text, str):
        raise DurationError("a duration must be an ISO-8601 string such as PT1H")
    return _parse_text(text)


@functools.lru_cache(maxsize=1024)
def _parse_text(text: str) -> timedelta | None:
    # A collection's diff parses the same few durations tens of thousands of times; isodate is slow at it.
    try:
        value = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError) as exc:
        raise DurationError("not an ISO-8601 duration (expected e.g. PT1H30M or P1D)") from exc
    if not isinstance(value, timedelta):
        # Batch durations are TimeSpans: calendar years and months have no fixed length.
        raise DurationError("years and months are not allowed in a Batch duration (use days)")
    return None if is_unlimited(value) else value


def is_unlimited(value: timedelta | None) -> bool:
    """True when a parsed duration means "no limit" (absent, or TimeSpan.MaxValue)."""
    return value is None or value >= _UNLIMITED_FLOOR


def format_duration(value: timedelta | None) -> str:
    """Render a duration the way the service would accept it; None becomes the unlimited value."""
    if is_unlimited(value):
        return UNLIMITED_TEXT
    assert value is not None
    text: str = isodate.duration_isoformat(value)
    return text
