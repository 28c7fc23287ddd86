"""Normalise a create body or a GET result along its schema table so the two compare (reference 5.3)."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from batch_api.model import NO_DEFAULT, Field, ObjectType, is_unknown
from batch_api.normal import DurationError, parse_duration, parse_timestamp


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def normalise_body(otype: ObjectType, body: object, inherited: Mapping[str, Any] | None = None,
                   live: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The comparable form of a body: read-only and unknown fields dropped, defaults filled, values canonical.

    `inherited` holds job values that omitted task fields take (by the field's `inherit` path); `live` is the
    normalised live object, whose service defaults are accepted where the body omitted a field.
    """
    if not isinstance(body, dict):
        return {}
    return _normalise_object(otype, body, dict(inherited or {}), live)


def _normalise_object(otype: ObjectType, value: Mapping[str, Any], inherited: dict[str, Any],
                      live: Mapping[str, Any] | None) -> dict[str, Any]:
    # Only fields of the table survive: url, eTag, state, executionInfo, stats, odata.metadata and any
    # property the table does not know are dropped here (reference 5.3 rule e).
    out: dict[str, Any] = {}
    for f in otype.fields:
        if f.read_only:
            continue
        live_value = live.get(f.name, ABSENT) if isinstance(live, Mapping) else ABSENT
        raw = value.get(f.name)
        if f.write_only and isinstance(live, Mapping) and live_value is ABSENT:
            continue  # a credential the service does not report back cannot be compared
        norm = ABSENT if raw is None else normalise_value(f, raw, inherited, live_value)
        if norm is ABSENT:
            norm = _omitted(f, inherited, live_value)
        if norm is not ABSENT:
            out[f.name] = norm
    return out


def _omitted(f: Field, inherited: dict[str, Any], live_value: Any) -> Any:
    """The value an omitted (or "unlimited") field stands for."""
    if f.inherit is not None:
        if f.inherit in inherited:
            return inherited[f.inherit]
        # The job's value is not known here: whatever the service inherited is accepted.
        return live_value
    if f.also_default and live_value is not ABSENT and live_value in _default_forms(f):
        return live_value
    if f.default is NO_DEFAULT:
        return ABSENT
    # Normalising only reads its input, so the table's default is used as it is (no copy per call).
    return normalise_value(f, f.default, inherited, live_value)


_DEFAULT_FORMS: dict[int, list[Any]] = {}


def _default_forms(f: Field) -> list[Any]:
    """The normalised forms of a field's default and its equivalent defaults, computed once per field."""
    forms = _DEFAULT_FORMS.get(id(f))
    if forms is None:
        forms = _DEFAULT_FORMS[id(f)] = [normalise_value(f, copy.deepcopy(d), {}, ABSENT)
                                         for d in (f.default, *f.also_default)]
    return forms


def normalise_value(f: Field, raw: Any, inherited: dict[str, Any], live_value: Any) -> Any:
    """The comparable form of one field's value (ABSENT when it means "not set")."""
    if is_unknown(raw):
        return raw
    otype = f.object_type
    if f.kind == "object" and otype is not None and isinstance(raw, dict):
        out = _normalise_object(otype, raw, inherited, live_value if isinstance(live_value, dict) else None)
        return out if out or f.default is not NO_DEFAULT else ABSENT
    if f.kind == "list" and isinstance(raw, list):
        return _normalise_list(f, raw, inherited, live_value if isinstance(live_value, list) else [])
    if f.kind == "map" and isinstance(raw, dict):
        return dict(raw) if raw else ABSENT
    return normalise_scalar(f.kind, raw)


def _normalise_list(f: Field, raw: list[Any], inherited: dict[str, Any], live: list[Any]) -> Any:
    otype = f.object_type
    items = []
    for index, item in enumerate(raw):
        if item is None:
            continue
        if otype is not None and isinstance(item, dict):
            items.append(_normalise_object(otype, item, inherited, _live_item(f, item, index, live)))
        else:
            items.append(normalise_scalar(str(f.item), item))
    key = f.keyed_by
    if key is not None:
        # Name-keyed lists (metadata, environment settings) are sets: order carries no meaning.
        items.sort(key=lambda item: str(item.get(key)) if isinstance(item, dict) else str(item))
    if not items and f.empty_is_absent:
        return ABSENT  # reference 5.3 rule d: an absent list equals an empty one
    return items


def _live_item(f: Field, item: dict[str, Any], index: int, live: list[Any]) -> Mapping[str, Any] | None:
    """The live counterpart of a list item: same name in a name-keyed list, else same position."""
    if f.keyed_by is not None:
        key = item.get(f.keyed_by)
        return next((x for x in live if isinstance(x, dict) and x.get(f.keyed_by) == key), None)
    # Live lists are normalised already; a keyed list is sorted, a positional one keeps its order.
    candidate = live[index] if index < len(live) else None
    return candidate if isinstance(candidate, dict) else None


def normalise_scalar(kind: str, raw: Any) -> Any:
    """Canonical scalar: ids and enums lowercased, durations as timedelta, integral floats as int."""
    if kind in ("id", "enum") and isinstance(raw, str):
        return raw.lower()  # reference 1.1 (enums) and 4.4 (ids): case-insensitive
    if kind == "int":
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)  # Pulumi sends every number as a float (pulumi-dynamic 1.1)
        if isinstance(raw, str) and raw.lstrip("-").isdigit():
            return int(raw)  # int64 values travel as strings (reference 1.1)
        return raw
    if kind == "duration" and isinstance(raw, str):
        try:
            parsed = parse_duration(raw)
        except DurationError:
            return raw
        return ABSENT if parsed is None else parsed  # "unlimited" is the same as unset (5.3 rule a)
    if kind == "datetime" and isinstance(raw, str):
        moment = parse_timestamp(raw)
        return raw if moment is None else moment
    return raw
