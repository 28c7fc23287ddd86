"""The OData pieces of list operations (section 1.5): `$filter` expressions, `$select`, and paging.

Filter grammar (what Batch clients send):
    expr       := and_expr ('or' and_expr)*
    and_expr   := unary ('and' unary)*
    unary      := 'not' unary | '(' expr ')' | call | comparison
    call       := 'startswith' '(' property ',' string ')'
    comparison := property ('eq'|'ne'|'gt'|'ge'|'lt'|'le') literal
Properties are paths such as `state` or `executionInfo/poolId`. String comparison ignores case (enum values and
ids are case-insensitive, section 1.1); `datetime'…'` literals compare with timestamps as instants.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from batch_service.backend.ids import ticks_from_iso

Predicate = Callable[[Mapping[str, Any]], bool]
MAX_RESULTS = 1000  # section 1.5: maxresults 1..1000, default 1000

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<datetime>datetime'[^']*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_$][A-Za-z0-9_/.$-]*)
)""", re.VERBOSE)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}


class FilterError(ValueError):
    """A $filter this service cannot parse; the message says where."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].isspace():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"unexpected character at position {position}")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokens(text)
        self._index = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._index != len(self._tokens):
            raise FilterError(f"unexpected '{self._tokens[self._index].text}'")
        return predicate

    def _peek_word(self) -> str:
        if self._index < len(self._tokens) and self._tokens[self._index].kind == "word":
            return self._tokens[self._index].text.lower()
        return ""

    def _take(self, kind: str, text: str | None = None) -> _Token:
        if self._index >= len(self._tokens):
            raise FilterError("unexpected end of the expression")
        token = self._tokens[self._index]
        if token.kind != kind or (text is not None and token.text.lower() != text):
            raise FilterError(f"expected {text or kind} but found '{token.text}'")
        self._index += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek_word() == "or":
            self._index += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda item: any(part(item) for part in parts))

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._peek_word() == "and":
            self._index += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda item: all(part(item) for part in parts))

    def _unary(self) -> Predicate:
        word = self._peek_word()
        if word == "not":
            self._index += 1
            inner = self._unary()
            return lambda item: not inner(item)
        if self._index < len(self._tokens) and self._tokens[self._index].text == "(":
            self._index += 1
            inner = self._or()
            self._take("punct", ")")
            return inner
        if word == "startswith":
            return self._startswith()
        return self._comparison()

    def _startswith(self) -> Predicate:
        self._index += 1
        self._take("punct", "(")
        path = self._take("word").text
        self._take("punct", ",")
        prefix = _string(self._take("string").text).lower()
        self._take("punct", ")")
        return lambda item: str(_lookup(item, path) or "").lower().startswith(prefix)

    def _comparison(self) -> Predicate:
        path = self._take("word").text
        operator = self._take("word").text.lower()
        if operator not in _COMPARISONS:
            raise FilterError(f"unknown operator '{operator}'")
        if self._index >= len(self._tokens):
            raise FilterError("missing value after the operator")
        token = self._tokens[self._index]
        self._index += 1
        literal = _literal(token)
        return lambda item: _compare(_lookup(item, path), operator, literal)


def _string(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _literal(token: _Token) -> Any:
    if token.kind == "string":
        return _string(token.text)
    if token.kind == "datetime":
        try:
            return ("ticks", ticks_from_iso(_normalise_time(token.text[9:-1])))
        except ValueError:
            raise FilterError(f"bad datetime literal {token.text}") from None
    if token.kind == "number":
        return float(token.text) if "." in token.text else int(token.text)
    if token.kind == "word" and token.text.lower() in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[token.text.lower()]
    raise FilterError(f"expected a value but found '{token.text}'")


def _normalise_time(text: str) -> str:
    return text if text.endswith("Z") else text + "Z"


def _lookup(item: Mapping[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if isinstance(literal, tuple):
        try:
            value = ticks_from_iso(value) if isinstance(value, str) else None
        except ValueError:
            value = None
        literal = literal[1]
    elif isinstance(literal, str) and isinstance(value, str):
        value, literal = value.lower(), literal.lower()
    if operator == "eq":
        return bool(value == literal)
    if operator == "ne":
        return bool(value != literal)
    if value is None or literal is None or isinstance(value, bool) != isinstance(literal, bool):
        return False
    try:
        return bool({"gt": value > literal, "ge": value >= literal,
                     "lt": value < literal, "le": value <= literal}[operator])
    except TypeError:
        return False


def compile_filter(text: str | None) -> Predicate | None:
    """A predicate for `$filter` text, None when there is none; raises FilterError when it cannot parse."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def select(model: Mapping[str, Any], names: tuple[str, ...] | None) -> dict[str, Any]:
    """Only the top-level properties named in `$select` (all when there is no $select)."""
    if not names:
        return dict(model)
    wanted = {name.lower() for name in names}
    return {key: value for key, value in model.items() if key.lower() in wanted}


_LOWER: dict[str, str] = {}  # property name -> its lower case; the names are few, the lookups many


def select_page(models: Iterable[Mapping[str, Any]], names: tuple[str, ...] | None, base: str) -> list[dict[str, Any]]:
    """The page's items as the API returns them: `url` made absolute and, with a $select, only the named
    top-level properties (matched ignoring case), built directly rather than copied and then cut down."""
    page: list[dict[str, Any]] = []
    if not names:
        for model in models:
            shown = dict(model)
            if "url" in shown:
                shown["url"] = base + shown["url"]
            page.append(shown)
        return page
    wanted = {name.lower() for name in names}
    lower = _LOWER
    for model in models:
        shown = {}
        for key, value in model.items():
            folded = lower.get(key)
            if folded is None:
                folded = lower.setdefault(key, key.lower())
            if folded in wanted:
                shown[key] = base + value if key == "url" else value
        page.append(shown)
    return page


def parse_select(text: str | None) -> tuple[str, ...] | None:
    """The property names of a comma-separated `$select`."""
    if text is None or not text.strip():
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())


def page(items: Iterable[tuple[int, Mapping[str, Any]]], predicate: Predicate | None, max_results: int,
         after: int | None) -> tuple[list[Mapping[str, Any]], int | None]:
    """One page: up to max_results matching items with sequence number above `after`, and the token for the
    next page (the last sequence number returned) when another match exists."""
    results: list[Mapping[str, Any]] = []
    last = None
    matches: Iterator[tuple[int, Mapping[str, Any]]] = (
        (seq, item) for seq, item in items
        if (after is None or seq > after) and (predicate is None or predicate(item)))
    for seq, item in matches:
        if len(results) == max_results:
            return results, last
        results.append(item)
        last = seq
    return results, None
