"""Evaluation of a parsed autoscale formula (autoscale_grammar.Node) over a pool's metric history. No I/O.

Types: double (float), doubleVec (tuple of floats), string, timestamp (aware datetime), timeinterval
(timedelta), and the service's read-only variables as metric histories (Series) with their methods
GetSample, GetSamplePercent, GetSamplePeriod, Count and HistoryBeginTime. The operators follow the article's
table of operations; a comparison or logical operator gives 1 or 0, and a ternary evaluates only the branch it
takes. A read-only variable used where a double is expected stands for its latest sample.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import isodate

from batch_service.backend.autoscale_grammar import Node

SAMPLE_PERIOD = dt.timedelta(seconds=30)  # "samples are recorded every 30 seconds"
TIME_INTERVALS = {
    "TimeInterval_Zero": dt.timedelta(0), "TimeInterval_100ns": dt.timedelta(microseconds=0.1),
    "TimeInterval_Microsecond": dt.timedelta(microseconds=1), "TimeInterval_Millisecond": dt.timedelta(milliseconds=1),
    "TimeInterval_Second": dt.timedelta(seconds=1), "TimeInterval_Minute": dt.timedelta(minutes=1),
    "TimeInterval_Hour": dt.timedelta(hours=1), "TimeInterval_Day": dt.timedelta(days=1),
    "TimeInterval_Week": dt.timedelta(weeks=1), "TimeInterval_Year": dt.timedelta(days=365),
}
TARGETS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", "$NodeDeallocationOption")
ALIASES = {"$TargetDedicated": "$TargetDedicatedNodes", "$TargetLowPriority": "$TargetLowPriorityNodes"}
DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")


class FormulaRuntimeError(ValueError):
    """The formula parses but does not evaluate; `line` and `column` say where."""

    def __init__(self, message: str, node: Node | None = None) -> None:
        self.line = node.line if node is not None else 1
        self.column = node.column if node is not None else 1
        super().__init__(f"Line {self.line}, column {self.column}: {message}")
        self.reason = message
        self.results: dict[str, Value] | None = None  # the variables as far as evaluation came


class _Stop(Exception):
    """stop() was called: evaluation ends, the values so far stand."""


@dataclass(frozen=True)
class Series:
    """A read-only service variable: its samples (time, value), oldest first, and the time of evaluation."""

    name: str
    samples: tuple[tuple[dt.datetime, float], ...]
    now: dt.datetime

    def latest(self, node: Node) -> float:
        if not self.samples:
            raise FormulaRuntimeError(f"{self.name} has no sample yet.", node)
        return self.samples[-1][1]

    def window(self, start: dt.datetime, end: dt.datetime) -> tuple[tuple[float, ...], float]:
        """The values sampled in [start, end], and what percentage of the samples such a window holds."""
        values = tuple(value for when, value in self.samples if start <= when <= end)
        expected = max(1.0, (end - start) / SAMPLE_PERIOD)
        return values, min(100.0, 100.0 * len(values) / expected)


Value = float | tuple[float, ...] | str | dt.datetime | dt.timedelta | Series


@dataclass
class Evaluation:
    """The state of one evaluation: the variables assigned so far (in assignment order) and the metrics."""

    metrics: Mapping[str, Series]
    now: dt.datetime
    scope: dict[str, Value]
    functions: Callable[[Evaluation, Node], Value]  # autoscale_functions.call_function
    methods: Callable[[Evaluation, Node], Value]  # autoscale_functions.call_method

    def run(self, statements: list[Node]) -> dict[str, Value]:
        try:
            for statement in statements:
                if statement.kind == "assign":
                    name = ALIASES.get(statement.text, statement.text)
                    if name in self.metrics or name in TIME_INTERVALS:
                        raise FormulaRuntimeError(f"{name} is read-only.", statement)
                    self.scope[name] = self.value(statement.children[0])
                else:
                    self.value(statement)
        except _Stop:
            pass
        return self.scope

    # --- expressions ----------------------------------------------------------------------------------------

    def value(self, node: Node) -> Value:
        handler = _HANDLERS.get(node.kind)
        if handler is None:
            raise FormulaRuntimeError(f"Unsupported expression {node.kind}.", node)
        return handler(self, node)

    def double(self, node: Node) -> float:
        return as_double(self.value(node), node)

    def _var(self, node: Node) -> Value:
        name = ALIASES.get(node.text, node.text)
        for source in (self.scope, self.metrics, TIME_INTERVALS):
            if name in source:
                return source[name]
        if name.lower() in DEALLOCATION_OPTIONS:
            return name.lower()
        raise FormulaRuntimeError(f"The variable {node.text} is not defined.", node)

    def _ternary(self, node: Node) -> Value:
        condition, when_true, when_false = node.children
        return self.value(when_true if self.double(condition) != 0 else when_false)

    def _logical(self, node: Node) -> Value:
        left = self.double(node.children[0]) != 0
        if node.kind == "and" and not left:
            return 0.0
        if node.kind == "or" and left:
            return 1.0
        return 1.0 if self.double(node.children[1]) != 0 else 0.0

    def _compare(self, node: Node) -> Value:
        left, right = (comparable(self.value(child), child) for child in node.children)
        if type(left) is not type(right):
            raise FormulaRuntimeError(f"Cannot compare {type_name(left)} with {type_name(right)}.", node)
        result = {"<": left < right, "<=": left <= right, "==": left == right,  # type: ignore[operator]
                  ">=": left >= right, ">": left > right, "!=": left != right}[node.text]  # type: ignore[operator]
        return 1.0 if result else 0.0

    def _arith(self, node: Node) -> Value:
        left, right = (arith_operand(self.value(child), child) for child in node.children)
        return arith(node.text, left, right, node)

    def _negate(self, node: Node) -> Value:
        inner = arith_operand(self.value(node.children[0]), node)
        if isinstance(inner, tuple):
            return tuple(-item for item in inner)
        if isinstance(inner, float | dt.timedelta):
            return -inner
        raise FormulaRuntimeError(f"Cannot negate a {type_name(inner)}.", node)

    def _not(self, node: Node) -> Value:
        return 1.0 if self.double(node.children[0]) == 0 else 0.0

    def _member(self, node: Node) -> Value:
        target = self.value(node.children[0])
        if not isinstance(target, dt.datetime):
            raise FormulaRuntimeError(f"{type_name(target)} has no member {node.text}.", node)
        parts = {"year": target.year, "month": target.month, "day": target.day, "hour": target.hour,
                 "minute": target.minute, "second": target.second, "weekday": target.isoweekday() % 7}
        if node.text not in parts:
            raise FormulaRuntimeError(f"A timestamp has no member {node.text}.", node)
        return float(parts[node.text])

    def _call(self, node: Node) -> Value:
        return self.functions(self, node)

    def _method(self, node: Node) -> Value:
        return self.methods(self, node)


def type_name(value: object) -> str:
    """The formula language's name of a value's type."""
    if isinstance(value, Series):
        return f"the metric {value.name}"
    return {float: "double", tuple: "doubleVec", str: "string", dt.datetime: "timestamp",
            dt.timedelta: "timeinterval"}.get(type(value), type(value).__name__)


def as_double(value: Value, node: Node) -> float:
    """A double from a double, a one-element doubleVec, or a metric (its latest sample)."""
    if isinstance(value, float):
        return value
    if isinstance(value, Series):
        return value.latest(node)
    if isinstance(value, tuple) and len(value) == 1:
        return value[0]
    raise FormulaRuntimeError(f"Expected a double but found a {type_name(value)}.", node)


def comparable(value: Value, node: Node) -> float | str | dt.datetime | dt.timedelta:
    """A value a comparison operator takes (a metric stands for its latest sample)."""
    if isinstance(value, Series | tuple):
        return as_double(value, node)
    return value


def arith_operand(value: Value, node: Node) -> Value:
    """A value an arithmetic operator takes (a metric stands for its latest sample)."""
    return value.latest(node) if isinstance(value, Series) else value


def arith(operator: str, left: Value, right: Value, node: Node) -> Value:
    """`left operator right` by the article's table of operations."""
    if isinstance(left, tuple) or isinstance(right, tuple):
        return _vector_arith(operator, left, right, node)
    allowed = _OPERATIONS.get((type(left), operator, type(right)))
    if allowed is None:
        raise FormulaRuntimeError(f"The operator {operator} does not apply to {type_name(left)} and "
                                  f"{type_name(right)}.", node)
    if operator == "/" and right in (0, 0.0):
        raise FormulaRuntimeError("Division by zero.", node)
    return allowed(left, right)


def _vector_arith(operator: str, left: Value, right: Value, node: Node) -> Value:
    if not all(isinstance(side, float | tuple) for side in (left, right)):
        raise FormulaRuntimeError(f"The operator {operator} does not apply to {type_name(left)} and "
                                  f"{type_name(right)}.", node)
    lefts = left if isinstance(left, tuple) else None
    rights = right if isinstance(right, tuple) else None
    if lefts is not None and rights is not None and len(lefts) != len(rights):
        raise FormulaRuntimeError("The two doubleVec operands differ in length.", node)
    size = len(lefts if lefts is not None else rights or ())
    pairs = [(lefts[i] if lefts is not None else float(left),  # type: ignore[arg-type]
              rights[i] if rights is not None else float(right)) for i in range(size)]  # type: ignore[arg-type]
    return tuple(float(arith(operator, a, b, node)) for a, b in pairs)  # type: ignore[arg-type]


_OPERATIONS: dict[tuple[type, str, type], Callable[[Any, Any], Value]] = {
    **{(float, op, float): fn for op, fn in (("+", lambda a, b: a + b), ("-", lambda a, b: a - b),
                                             ("*", lambda a, b: a * b), ("/", lambda a, b: a / b))},
    (float, "*", dt.timedelta): lambda a, b: b * a,
    (dt.timedelta, "*", float): lambda a, b: a * b,
    (dt.timedelta, "/", float): lambda a, b: a / b,
    (dt.timedelta, "+", dt.timedelta): lambda a, b: a + b,
    (dt.timedelta, "-", dt.timedelta): lambda a, b: a - b,
    (dt.timedelta, "+", dt.datetime): lambda a, b: b + a,
    (dt.datetime, "+", dt.timedelta): lambda a, b: a + b,
    (dt.datetime, "-", dt.timedelta): lambda a, b: a - b,
    (dt.datetime, "-", dt.datetime): lambda a, b: a - b,
}

_HANDLERS: dict[str, Callable[[Evaluation, Node], Value]] = {
    "number": lambda self, node: float(node.text),
    "string": lambda self, node: node.text,
    "var": Evaluation._var,
    "ternary": Evaluation._ternary,
    "and": Evaluation._logical,
    "or": Evaluation._logical,
    "compare": Evaluation._compare,
    "arith": Evaluation._arith,
    "neg": Evaluation._negate,
    "not": Evaluation._not,
    "member": Evaluation._member,
    "call": Evaluation._call,
    "method": Evaluation._method,
}


def parse_time(text: str, node: Node) -> dt.datetime:
    """A W3C-DTF (ISO 8601) or RFC 1123 date-time, as time() accepts."""
    try:
        moment = isodate.parse_datetime(text)
    except (ValueError, isodate.ISO8601Error):
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise FormulaRuntimeError(f"time() cannot read the date-time \"{text}\".", node) from None
    result: dt.datetime = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return result


def random_double() -> float:
    """rand(): a value between 0.0 and 1.0 (not for security)."""
    return random.random()


def flatten(values: list[Value], node: Node) -> tuple[float, ...]:
    """A doubleVecList (doubles and doubleVecs, in order) as one doubleVec."""
    flat: list[float] = []
    for value in values:
        if isinstance(value, tuple):
            flat.extend(value)
        else:
            flat.append(as_double(value, node))
    return tuple(flat)


def sample_std(values: tuple[float, ...]) -> float:
    """The sample standard deviation (0 for one value)."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def norm(values: tuple[float, ...]) -> float:
    """The two-norm of a vector."""
    return math.sqrt(sum(value * value for value in values))
