"""What the service fills into a stored object, as the real service reports it: every reported `default` of the
tables, applied where the body omitted the field (reference 5.3); durations in their normal form; the defaults
that depend on a pool's operating system; and no write-only credential."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batch_api.model import NO_DEFAULT, Field, ObjectType
from batch_api.normal import DurationError, format_duration, parse_duration
from batch_api.pools import WINDOWS_NODE_AGENT_PREFIX, WINDOWS_USER_DEFAULT

# Per table (by identity): the fields that may need work -- a reported default, an inherited value, nested
# objects, a duration to put in normal form, a credential to leave out -- with their nested table and whether
# they are lists. The service fills defaults into every task it stores, so the walk skips the rest and looks
# nothing up twice.
_Step = tuple[str, Field, "ObjectType | None", bool]
_PLANS: dict[int, tuple[_Step, ...]] = {}
_LEFT_OUT: Any = object()  # marks a credential present in the body, which the result leaves out


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars), at a fraction of copy.deepcopy's cost."""
    if isinstance(value, dict):
        return {name: copy_json(item) for name, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def _plan(otype: ObjectType) -> tuple[_Step, ...]:
    found = _PLANS.get(id(otype))
    if found is None:
        found = tuple((f.name, f, f.object_type, f.kind == "list") for f in otype.fields
                      if f.inherit is not None or f.object_type is not None or f.kind == "duration"
                      or f.write_only or (f.default is not NO_DEFAULT and f.reported))
        _PLANS[id(otype)] = found
    return found


def with_defaults(otype: ObjectType, body: Mapping[str, Any],
                  inherited: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`body` as the service reports it: every omitted field that has a reported default filled in, at every
    depth; every duration in its normal form (`PT01H00M00S` is `PT1H`, as the real service answers); the
    defaults that depend on a pool's operating system; no write-only credential (the real service never
    reports a password back).

    `inherited` holds the job values that omitted task fields take (by the field's `inherit` path). When
    something changes, the result is a new object with the fields in table order and the properties the
    table does not know after them; when nothing does, it is `body` itself (a dict), unchanged.
    """
    filled = _filled(otype, body, inherited)
    result: dict[str, Any]
    if not filled and isinstance(body, dict):
        result = body
    else:
        result = {}
        for f in otype.fields:  # table order, as the service writes its objects
            value = filled[f.name] if f.name in filled else body.get(f.name)
            if value is not None and value is not _LEFT_OUT:
                result[f.name] = value
        result.update({name: value for name, value in body.items() if otype.field(name) is None})
    if otype.field("userAccounts") is not None and otype.field("virtualMachineConfiguration") is not None:
        result = pool_os_defaults(result)
    return result


def _filled(otype: ObjectType, body: Mapping[str, Any], inherited: Mapping[str, Any] | None) -> dict[str, Any]:
    filled: dict[str, Any] = {}
    for name, f, sub, is_list in _plan(otype):
        value = body.get(name)
        if value is None:
            new = _omitted(f, inherited)
            if new is None:
                continue
        elif f.write_only:
            new = _LEFT_OUT
        elif f.kind == "duration":
            new = normal_duration(value)
            if new == value:
                continue
        elif sub is None:
            continue
        else:
            new = _nested(sub, is_list, value, inherited)
            if new is value:
                continue
        filled[name] = new
    return filled


def pool_os_defaults(pool: dict[str, Any]) -> dict[str, Any]:
    """A pool (or pool specification) with the defaults that depend on its operating system: on a Windows
    node agent each user account reports `windowsUserConfiguration` {"loginMode": "batch"} (recorded GETs of
    the real service; a Linux pool's accounts report none). `pool` itself when nothing is filled."""
    vm = pool.get("virtualMachineConfiguration")
    agent = vm.get("nodeAgentSKUId") if isinstance(vm, Mapping) else None
    accounts = pool.get("userAccounts")
    if not isinstance(agent, str) or not agent.lower().startswith(WINDOWS_NODE_AGENT_PREFIX) \
            or not isinstance(accounts, list) \
            or all(not isinstance(a, Mapping) or a.get("windowsUserConfiguration") is not None for a in accounts):
        return pool
    return {**pool, "userAccounts": [
        {**account, "windowsUserConfiguration": copy_json(WINDOWS_USER_DEFAULT)}
        if isinstance(account, Mapping) and account.get("windowsUserConfiguration") is None else account
        for account in accounts]}


def normal_duration(value: Any) -> Any:
    """A duration as the service reports it (`PT1H`, `P1D`, the unlimited value); other values unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return format_duration(parse_duration(value))
    except DurationError:
        return value


def _omitted(f: Field, inherited: Mapping[str, Any] | None) -> Any:
    if f.inherit is not None:
        return (inherited or {}).get(f.inherit)
    if f.default is NO_DEFAULT or not f.reported:
        return None
    value = copy_json(f.default)
    sub = f.object_type
    return value if sub is None else _nested(sub, f.kind == "list", value, inherited)


def _nested(otype: ObjectType, is_list: bool, value: Any, inherited: Mapping[str, Any] | None) -> Any:
    if not is_list:
        return with_defaults(otype, value, inherited) if isinstance(value, Mapping) else value
    if not isinstance(value, list):
        return value
    items = [with_defaults(otype, item, inherited) if isinstance(item, Mapping) else item for item in value]
    return value if all(new is old for new, old in zip(items, value)) else items


def reported_default(otype: ObjectType, name: str) -> Any:
    """The reported default of one field (with its own nested defaults), or None when it has none."""
    f = otype.field(name)
    if f is None:
        raise KeyError(f"{otype.name} has no field {name}")
    return _omitted(f, None)
