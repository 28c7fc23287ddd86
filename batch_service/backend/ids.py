"""Identifiers and times the service hands out: ETags, timestamps, request ids, auto-pool ids.

Every change is stamped with one `Clock.tick()`, a count of .NET ticks (100 ns since 0001-01-01). The ETag is
that number in hex (`0x8DD…`, the shape of section 1.3) and `lastModified` is the same instant with seven
fractional digits (section 1.1), so an ETag and its timestamp always agree.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
import time
import uuid

TICKS_PER_SECOND = 10_000_000
_UNIX_EPOCH_TICKS = 621_355_968_000_000_000  # .NET ticks at 1970-01-01T00:00:00Z
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?Z")


class Clock:
    """Hands out strictly increasing tick counts, so two changes never share an ETag."""

    def __init__(self) -> None:
        self._last = 0

    def tick(self) -> int:
        """The current time in ticks, at least one more than the previous tick."""
        now = time.time_ns() // 100 + _UNIX_EPOCH_TICKS
        self._last = max(now, self._last + 1)
        return self._last

    def observe(self, ticks: int) -> None:
        """Never hand out a tick at or before `ticks` (used after loading stored state)."""
        self._last = max(self._last, ticks)


def now_ticks() -> int:
    """The current time in ticks, without the uniqueness guarantee of Clock."""
    return time.time_ns() // 100 + _UNIX_EPOCH_TICKS


def ticks_from_unix(seconds: float) -> int:
    """Ticks of a Unix timestamp (file modification times)."""
    return int(seconds * TICKS_PER_SECOND) + _UNIX_EPOCH_TICKS


def etag(ticks: int) -> str:
    """The unquoted ETag for a change made at `ticks`, e.g. 0x8DDB8F1C2A3B4C5."""
    return f"0x{ticks:X}"


def iso(ticks: int) -> str:
    """ISO-8601 UTC with seven fractional digits, e.g. 2025-07-01T12:00:00.1234567Z (section 1.1)."""
    seconds, fraction = divmod(ticks - _UNIX_EPOCH_TICKS, TICKS_PER_SECOND)
    return f"{_iso_second(seconds)}.{fraction:07d}Z"


# A task's transitions stamp several times within the same second: formatting the date and time once per
# second keeps timestamps off the scheduler's profile.
@functools.lru_cache(maxsize=64)
def _iso_second(seconds: int) -> str:
    return f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%dT%H:%M:%S}"


def ticks_from_iso(text: str) -> int:
    """Parse a timestamp written by `iso` (or any UTC ISO-8601 with up to seven digits) back to ticks."""
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO-8601 UTC timestamp: {text!r}")
    fraction = int((match.group(7) or "0").ljust(7, "0"))
    return _ticks_of_second(match.group(1, 2, 3, 4, 5, 6)) + fraction


@functools.lru_cache(maxsize=64)
def _ticks_of_second(parts: tuple[str, ...]) -> int:
    year, month, day, hour, minute, second = (int(part) for part in parts)
    stamp = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    return int(stamp.timestamp()) * TICKS_PER_SECOND + _UNIX_EPOCH_TICKS


def rfc1123(ticks: int) -> str:
    """RFC 1123 date for headers, e.g. Tue, 01 Jul 2025 12:00:00 GMT (whole seconds)."""
    seconds = (ticks - _UNIX_EPOCH_TICKS) // TICKS_PER_SECOND
    return email.utils.formatdate(seconds, usegmt=True)


def ticks_from_rfc1123(text: str) -> int:
    """Parse an RFC 1123 header date to ticks; raises ValueError when it is not one."""
    try:
        stamp = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not an RFC 1123 date: {text!r}") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return int(stamp.timestamp()) * TICKS_PER_SECOND + _UNIX_EPOCH_TICKS


def whole_seconds(ticks: int) -> int:
    """`ticks` truncated to the second, the resolution of HTTP date headers."""
    return ticks - (ticks - _UNIX_EPOCH_TICKS) % TICKS_PER_SECOND


def request_id() -> str:
    """A server request id (a GUID, like the service's `request-id` header)."""
    return str(uuid.uuid4())


def auto_pool_id(prefix: str | None) -> str:
    """An auto-pool id: the job's prefix, an underscore and a unique suffix (section 3.2)."""
    suffix = str(uuid.uuid4()).upper()
    return f"{prefix}_{suffix}" if prefix else suffix
