"""The vocabulary of the schema tables: one Field per REST property, one ObjectType per REST type."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Change rules: what `pulumi up` does when a property differs from the live object (reference section 4).
PATCH = "patch"  # PATCH /jobs/{id} with the whole top-level property
PATCH_WHEN_DISABLED = "patch-when-disabled"  # disable (requeue) → PATCH → enable (reference 4.1, 4.4)
ONE_WAY = "one-way"  # patchable, but some transitions are refused by the service
REPLACE = "replace"  # immutable after creation: delete and create again under the same id
UPDATE = "update"  # tasks: PUT /jobs/{job}/tasks/{id} with the whole constraints object (reference 4.2)
SERVER_DEFAULT = "server-default"  # omitted by the user → whatever default the service reports is accepted
CHANGE_RULES = (PATCH, PATCH_WHEN_DISABLED, ONE_WAY, REPLACE, UPDATE)

# Strictness when one change touches fields with different rules (a replace makes the rest moot).
RULE_STRENGTH = {PATCH: 1, ONE_WAY: 1, UPDATE: 1, PATCH_WHEN_DISABLED: 2, REPLACE: 3}

KINDS = ("str", "id", "int", "bool", "duration", "datetime", "enum", "object", "list", "map")


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Problem:
    """One reason a spec is invalid: where (dotted path), which rule, and a value-free message."""

    path: str
    rule: str
    message: str


@dataclass(frozen=True)
class OneOf:
    """Fields of which exactly one (or, with exactly=False, at most one) may be given."""

    names: tuple[str, ...]
    exactly: bool = True


@dataclass(frozen=True)
class Field:
    """One REST property: its type, limits, service default, secrecy and change rule."""

    name: str
    kind: str
    required: bool = False
    item: ObjectType | str | None = None  # object type of an object/list, or the scalar kind of list items
    enum: tuple[str, ...] = ()
    range: tuple[int | None, int | None] | None = None  # inclusive int range
    excluded: tuple[int, ...] = ()  # ints refused inside the range (maxParallelTasks 0)
    length: tuple[int, int | None] | None = None  # inclusive length of a string, or item count of a list
    duration: tuple[str | None, str | None] | None = None  # inclusive duration bounds, ISO-8601
    pattern: str | None = None  # regular expression the string must match (fullmatch)
    default: Any = NO_DEFAULT  # the value the service reports when the create body omitted it (wire form)
    also_default: tuple[Any, ...] = ()  # other values the service may report for an omitted field
    inherit: str | None = None  # omitted → the value of this job property (e.g. constraints.maxTaskRetryCount)
    secret: bool = False
    change: str | None = None  # None: the enclosing field decides (or, for a container, its strictest child)
    refuse: tuple[tuple[str, str], ...] = ()  # one-way: (from, to) transitions the service rejects
    keyed_by: str | None = None  # list compared as a set keyed by this member; names must be unique
    empty_is_absent: bool = True  # an empty list means the same as an absent one
    read_only: bool = False  # reported by the service, never accepted in a create body
    write_only: bool = False  # a credential the service may not report back: not compared when live omits it
    note: str = ""  # why (a service rule): used in diff reasons and the README table

    @property
    def object_type(self) -> ObjectType | None:
        """The object type of an object field or of a list of objects."""
        return self.item if isinstance(self.item, ObjectType) else None

    @property
    def case_insensitive(self) -> bool:
        """Ids and enums compare case-insensitively (reference 1.1 and 4.4)."""
        return self.kind in ("id", "enum") or (self.kind == "list" and self.item in ("id", "enum"))


@dataclass(frozen=True)
class ObjectType:
    """A REST object type: its fields, one-of groups, cross-field checks and removed property names."""

    name: str
    fields: tuple[Field, ...]
    one_of: tuple[OneOf, ...] = ()
    checks: tuple[str, ...] = ()  # names of cross-field rules, implemented in schema.rules
    removed: tuple[str, ...] = ()  # names older API versions had here; 2025-06-01 refuses them
    _index: dict[str, Field] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({f.name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        """The field of that exact REST name, or None."""
        return self._index.get(name)

    def names(self) -> list[str]:
        """The REST names of every field, in table order."""
        return [f.name for f in self.fields]


# One-line constructors, so that a new API field is one line in a table.
def string(name: str, **kw: Any) -> Field:
    """A string property."""
    return Field(name, "str", **kw)


def ident(name: str, **kw: Any) -> Field:
    """An id: letters, digits, '-' and '_', at most 64 characters, compared case-insensitively."""
    kw.setdefault("length", (1, 64))
    kw.setdefault("pattern", ID_PATTERN)
    return Field(name, "id", **kw)


def integer(name: str, **kw: Any) -> Field:
    """An int32 property (JSON numbers; Pulumi's integral floats are accepted)."""
    return Field(name, "int", **kw)


def boolean(name: str, **kw: Any) -> Field:
    """A JSON boolean (never a number)."""
    return Field(name, "bool", **kw)


def duration(name: str, **kw: Any) -> Field:
    """An ISO-8601 duration; the service's TimeSpan.MaxValue means unset."""
    return Field(name, "duration", **kw)


def timestamp(name: str, **kw: Any) -> Field:
    """An ISO-8601 date-time."""
    return Field(name, "datetime", **kw)


def enum(name: str, values: tuple[str, ...], **kw: Any) -> Field:
    """A string enum in 2025-06-01 spelling, matched case-insensitively."""
    return Field(name, "enum", enum=values, **kw)


def obj(name: str, of: ObjectType, **kw: Any) -> Field:
    """A nested object."""
    return Field(name, "object", item=of, **kw)


def array(name: str, of: ObjectType | str, **kw: Any) -> Field:
    """A JSON array of objects or of scalars (kind name)."""
    return Field(name, "list", item=of, **kw)


def mapping(name: str, **kw: Any) -> Field:
    """A JSON object of string to string (extension settings)."""
    return Field(name, "map", **kw)


ID_PATTERN = r"[A-Za-z0-9_-]+"


def is_unknown(value: object) -> bool:
    """True for a Pulumi preview-time unknown (pulumi.output.Unknown), whose value is not known yet."""
    # Duck-typed so the table does not import the Pulumi SDK (reference pulumi-dynamic 1.1).
    return type(value).__name__ == "Unknown" and type(value).__module__ == "pulumi.output"


def join(path: str, name: str) -> str:
    """Dotted property path: join("poolInfo", "poolId") == "poolInfo.poolId"."""
    return f"{path}.{name}" if path else name
