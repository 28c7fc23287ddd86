"""The defaults the service fills into a stored object: every reported `default` of the tables, applied
where the body omitted the field (reference 5.3)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batch_api.durations import DurationError, format_duration, parse_duration
from batch_api.model import NO_DEFAULT, Field, ObjectType
from batch_api.pools import WINDOWS_NODE_AGENT_PREFIX, WINDOWS_USER_DEFAULT


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def with_defaults(otype: ObjectType, body: Mapping[str, Any],
                  inherited: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `body` as the service reports it: every omitted field that has a reported default filled in,
    at every depth, every duration in its normal form (`PT01H00M00S` is `PT1H`), the defaults that depend on a
    pool's operating system, and no write-only credential (passwords, keys).

    `inherited` holds the job values that omitted task fields take (by the field's `inherit` path).
    Fields come in table order; properties the table does not know are kept as they are, after them.
    """
    out: dict[str, Any] = {}
    for f in otype.fields:  # table order, as the service writes its objects
        if f.write_only:
            continue  # a credential is never reported back (recorded pool GETs leave passwords out)
        value = body.get(f.name)
        value = _omitted(f, inherited or {}) if value is None else _filled(f, value, inherited)
        if value is not None:
            out[f.name] = value
    out.update({name: value for name, value in body.items() if otype.field(name) is None})
    if otype.field("userAccounts") is not None and otype.field("virtualMachineConfiguration") is not None:
        out = pool_os_defaults(out)
    return out


def pool_os_defaults(pool: Mapping[str, Any]) -> dict[str, Any]:
    """A pool (or pool specification) with the defaults that depend on its operating system: on a Windows
    node agent each user account reports `windowsUserConfiguration` {"loginMode": "batch"} (recorded GETs of
    the real service; a Linux pool's accounts report none)."""
    out = dict(pool)
    vm = out.get("virtualMachineConfiguration")
    agent = vm.get("nodeAgentSKUId") if isinstance(vm, Mapping) else None
    accounts = out.get("userAccounts")
    if not isinstance(agent, str) or not agent.lower().startswith(WINDOWS_NODE_AGENT_PREFIX) \
            or not isinstance(accounts, list):
        return out
    out["userAccounts"] = [
        {**account, "windowsUserConfiguration": _copy(WINDOWS_USER_DEFAULT)}
        if isinstance(account, Mapping) and account.get("windowsUserConfiguration") is None else account
        for account in accounts]
    return out


def normal_duration(value: Any) -> Any:
    """A duration as the service reports it (`PT1H`, `P1D`, the unlimited value); other values unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return format_duration(parse_duration(value))
    except DurationError:
        return value


def _omitted(f: Field, inherited: Mapping[str, Any]) -> Any:
    if f.inherit is not None:
        return inherited.get(f.inherit)
    if f.default is NO_DEFAULT or not f.reported:
        return None
    return _filled(f, _copy(f.default), inherited)


def _filled(f: Field, value: Any, inherited: Mapping[str, Any] | None) -> Any:
    if f.kind == "duration":
        return normal_duration(value)  # reported in its normal form, as the real service does
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
