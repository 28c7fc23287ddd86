"""The defaults the service fills into a stored object: every reported `default` of the tables, applied
where the body omitted the field (reference 5.3)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batch_api.model import NO_DEFAULT, Field, ObjectType


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars), at a fraction of copy.deepcopy's cost."""
    if isinstance(value, dict):
        return {name: copy_json(item) for name, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def with_defaults(otype: ObjectType, body: Mapping[str, Any],
                  inherited: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `body` with every omitted field that has a reported default filled in, at every depth.

    `inherited` holds the job values that omitted task fields take (by the field's `inherit` path).
    Fields come in table order; properties the table does not know are kept as they are, after them.
    """
    out: dict[str, Any] = {}
    for f in otype.fields:  # table order, as the service writes its objects
        value = body.get(f.name)
        value = _omitted(f, inherited or {}) if value is None else _filled(f, value, inherited)
        if value is not None:
            out[f.name] = value
    out.update({name: value for name, value in body.items() if otype.field(name) is None})
    return out


def _omitted(f: Field, inherited: Mapping[str, Any]) -> Any:
    if f.inherit is not None:
        return inherited.get(f.inherit)
    if f.default is NO_DEFAULT or not f.reported:
        return None
    return _filled(f, copy_json(f.default), inherited)


def _filled(f: Field, value: Any, inherited: Mapping[str, Any] | None) -> Any:
    otype = f.object_type
    if otype is None:
        return value
    if f.kind == "object" and isinstance(value, Mapping):
        return with_defaults(otype, value, inherited)
    if f.kind == "list" and isinstance(value, list):
        return [with_defaults(otype, item, inherited) if isinstance(item, Mapping) else item for item in value]
    return value


def reported_default(otype: ObjectType, name: str) -> Any:
    """The reported default of one field (with its own nested defaults), or None when it has none."""
    f = otype.field(name)
    if f is None:
        raise KeyError(f"{otype.name} has no field {name}")
    return _omitted(f, {})
