"""The vocabulary of the API tables: one Field per REST property, one ObjectType per REST object type.

A Field states every fact of one property once: its JSON kind, limits, enum spelling, whether it is required,
the server default (as the service reports it), secrecy, read-only and write-only, and how it may change after
creation. Both the providers (check, normalise, diff) and the local service (validate, fill defaults) read it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Change rules: what an update does when a property differs from the live object (reference section 4).
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

# Who enforces a cross-field rule.
SERVICE = "service"  # the service refuses the request with 400 (or 409) and the rule's error code
PROVIDER = "provider"  # a preview check of the providers only; the service accepts the body

ID_PATTERN = r"[A-Za-z0-9_-]+"
INVALID_VALUE = "InvalidPropertyValue"
MISSING = "MissingRequiredProperty"


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Violation:
    """One broken cross-field rule: the property it names (relative to the checked object) and why.

    `code` is the service's error code; `label` overrides the providers' rule name ("cross-field:<rule>").
    """

    path: str
    message: str
    code: str = INVALID_VALUE
    label: str = ""
    status: int = 400


@dataclass(frozen=True)
class RuleContext:
    """What a cross-field rule may look at besides the object it is attached to."""

    kind: str  # the request body: "job", "task", "job_schedule", "pool", "job_patch", ...
    job: Mapping[str, Any] | None = None  # the job a task goes into (stored job, or the desired spec)


Check = Callable[[Mapping[str, Any], RuleContext], Iterator[Violation]]


@dataclass(frozen=True)
class Rule:
    """A cross-field rule, written once: who enforces it, and the check yielding its violations."""

    name: str
    enforced_by: str  # SERVICE or PROVIDER
    check: Check
    doc: str = ""
    preview: bool = True  # the providers check it at preview (a service rule they cannot know may opt out)


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
    enum: tuple[str, ...] = ()  # 2025-06-01 spellings, matched case-insensitively
    range: tuple[int | None, int | None] | None = None  # inclusive int range
    excluded: tuple[tuple[int, int], ...] = ()  # inclusive int ranges refused inside the range
    length: tuple[int, int | None] | None = None  # inclusive length of a string, or item count of a list
    duration: tuple[str | None, str | None] | None = None  # inclusive duration bounds, ISO-8601
    pattern: str | None = None  # regular expression a string (or each string item) must match (fullmatch)
    reason: str = ""  # the service's wording when a range, duration or pattern check fails
    code: str = INVALID_VALUE  # the service's error code when a limit of this field fails
    default: Any = NO_DEFAULT  # the value the service reports when the create body omitted it (wire form)
    reported: bool = True  # False: a documented default the service applies but does not write back
    also_default: tuple[Any, ...] = ()  # other values the service may report for an omitted field
    inherit: str | None = None  # omitted → the value of this job property (e.g. constraints.maxTaskRetryCount)
    secret: bool = False
    change: str | None = None  # None: the enclosing field decides (or, for a container, its strictest child)
    refuse: tuple[tuple[str, str], ...] = ()  # one-way: (from, to) transitions the service rejects
    keyed_by: str | None = None  # list compared as a set keyed by this member; names must be unique
    unique: str | None = None  # list kept in order whose items' member of this name must not repeat
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

    @property
    def unique_key(self) -> str | None:
        """The member whose value must not repeat across a list's items."""
        return self.keyed_by or self.unique


@dataclass(frozen=True)
class ObjectType:
    """A REST object type: its fields, one-of groups, cross-field rules and removed property names."""

    name: str
    fields: tuple[Field, ...]
    one_of: tuple[OneOf, ...] = ()
    rules: tuple[Rule, ...] = ()
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

    @property
    def checks(self) -> tuple[str, ...]:
        """The names of the cross-field rules attached to this type."""
        return tuple(rule.name for rule in self.rules)


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
    """An ISO-8601 date-time with a UTC offset."""
    return Field(name, "datetime", **kw)


def enum(name: str, values: tuple[str, ...], **kw: Any) -> Field:
    """A string enum in 2025-06-01 spelling, matched case-insensitively."""
    return Field(name, "enum", enum=values, **kw)


def obj(name: str, of: ObjectType, **kw: Any) -> Field:
    """A nested object."""
    return Field(name, "object", item=of, **kw)


def array(name: str, of: ObjectType | str, **kw: Any) -> Field:
    """A JSON array of objects or of scalars (kind name); string items are never empty."""
    return Field(name, "list", item=of, **kw)


def mapping(name: str, **kw: Any) -> Field:
    """A JSON object of string to string (extension settings)."""
    return Field(name, "map", **kw)


def is_unknown(value: object) -> bool:
    """True for a Pulumi preview-time unknown (pulumi.output.Unknown), whose value is not known yet."""
    # Duck-typed so the tables do not import the Pulumi SDK (reference pulumi-dynamic 1.1).
    return type(value).__name__ == "Unknown" and type(value).__module__ == "pulumi.output"


def join(path: str, name: str) -> str:
    """Dotted property path: join("poolInfo", "poolId") == "poolInfo.poolId"."""
    return f"{path}.{name}" if path else name


def walk_types(root: ObjectType) -> Iterator[ObjectType]:
    """Every object type reachable from root, each once, root first."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        otype = stack.pop()
        if id(otype) in seen:
            continue
        seen.add(id(otype))
        yield otype
        stack.extend(reversed([f.object_type for f in otype.fields if f.object_type is not None]))
