"""Conditional request headers (section 1.4): If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.

A failed condition is 304 ConditionNotMet on a read and 412 ConditionNotMet on a write.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from batch_service.backend import errors
from batch_service.backend.ids import ticks_from_iso, ticks_from_rfc1123, whole_seconds


def _etag_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    tags = []
    for part in value.split(","):
        tag = part.strip()
        tag = tag.removeprefix("W/")
        tags.append(tag.strip('"'))
    return tuple(tags)


def _date(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return ticks_from_rfc1123(value)
    except ValueError:
        raise errors.invalid_header_value(name, "Expected an RFC 1123 date.") from None


@dataclass(frozen=True)
class Conditions:
    """The conditional headers of one request, parsed."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None
    if_modified_since: int | None = None
    if_unmodified_since: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Conditions:
        """Parse the four headers; a malformed date is 400 InvalidHeaderValue."""
        return cls(_etag_list(headers.get("If-Match")), _etag_list(headers.get("If-None-Match")),
                   _date(headers, "If-Modified-Since"), _date(headers, "If-Unmodified-Since"))

    def check(self, model: Mapping[str, str], *, read: bool) -> None:
        """Raise ConditionNotMet unless the resource with this eTag/lastModified satisfies every header."""
        tag = model["eTag"]
        modified = whole_seconds(ticks_from_iso(model["lastModified"]))
        if self.if_match is not None and "*" not in self.if_match and tag not in self.if_match:
            raise errors.condition_not_met(412)
        if self.if_unmodified_since is not None and modified > self.if_unmodified_since:
            raise errors.condition_not_met(412)
        unchanged_status = 304 if read else 412
        if self.if_none_match is not None and ("*" in self.if_none_match or tag in self.if_none_match):
            raise errors.condition_not_met(unchanged_status)
        if self.if_modified_since is not None and modified <= self.if_modified_since:
            raise errors.condition_not_met(unchanged_status)


NO_CONDITIONS = Conditions()
