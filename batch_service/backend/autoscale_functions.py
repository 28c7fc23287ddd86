"""The autoscale formula's functions (avg, min, max, … time, stop) and the methods of its metric variables
(GetSample, GetSamplePercent, GetSamplePeriod, Count, HistoryBeginTime). No I/O.

Functions that take a doubleVecList take any mix of doubles and doubleVecs and see them as one doubleVec.
lg, ln, log, sqrt, abs, ceil, floor and round work on a double, or component-wise on a doubleVec.
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable

from batch_service.backend.autoscale_eval import (
    SAMPLE_PERIOD,
    Evaluation,
    FormulaRuntimeError,
    Series,
    Value,
    _Stop,
    as_double,
    flatten,
    norm,
    parse_time,
    random_double,
    sample_std,
    type_name,
)
from batch_service.backend.autoscale_grammar import Node

Vec = tuple[float, ...]


def _nonempty(name: str, reduce: Callable[[Vec], float]) -> Callable[[Vec, Node], float]:
    def apply(values: Vec, node: Node) -> float:
        if not values:
            raise FormulaRuntimeError(f"{name}() of an empty doubleVec.", node)
        return float(reduce(values))
    return apply


_AGGREGATES: dict[str, Callable[[Vec, Node], float]] = {
    "avg": _nonempty("avg", statistics.fmean),
    "max": _nonempty("max", max),
    "min": _nonempty("min", min),
    "median": _nonempty("median", statistics.median),
    "range": _nonempty("range", lambda values: max(values) - min(values)),
    "std": _nonempty("std", sample_std),
    "len": lambda values, node: float(len(values)),
    "count": lambda values, node: float(len(values)),
    "sum": lambda values, node: float(sum(values)),
    "norm": lambda values, node: norm(values),
}
_ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "lg": math.log2, "ln": math.log, "log": math.log10, "sqrt": math.sqrt, "abs": abs,
    "ceil": lambda value: float(math.ceil(value)), "floor": lambda value: float(math.floor(value)),
    "round": lambda value: float(math.floor(value + 0.5)),
}


def call_function(evaluation: Evaluation, node: Node) -> Value:
    """A function call: a documented function applied to its evaluated arguments."""
    name = node.text
    if name == "stop":
        raise _Stop
    arguments = [evaluation.value(child) for child in node.children]
    if name in _AGGREGATES:
        return _AGGREGATES[name](flatten(arguments, node), node)
    if name in _ELEMENTWISE:
        return _elementwise(name, arguments, node)
    if name == "percentile":
        return _percentile(arguments, node)
    if name == "val":
        return _val(arguments, node)
    if name == "rand" and not arguments:
        return random_double()
    if name == "time" and len(arguments) <= 1:
        if not arguments or arguments[0] == "":
            return evaluation.now
        if not isinstance(arguments[0], str):
            raise FormulaRuntimeError("time() takes a date-time string.", node)
        return parse_time(arguments[0], node)
    raise FormulaRuntimeError(f"There is no function {name}() taking {len(arguments)} argument(s).", node)


def _elementwise(name: str, arguments: list[Value], node: Node) -> Value:
    if len(arguments) != 1:
        raise FormulaRuntimeError(f"{name}() takes one argument.", node)
    function = _ELEMENTWISE[name]
    try:
        if isinstance(arguments[0], tuple):
            return tuple(function(value) for value in arguments[0])
        return function(as_double(arguments[0], node))
    except ValueError:
        raise FormulaRuntimeError(f"{name}() is not defined for that value.", node) from None


def _percentile(arguments: list[Value], node: Node) -> float:
    if len(arguments) != 2:
        raise FormulaRuntimeError("percentile() takes a doubleVec and a percentage.", node)
    values = sorted(flatten(arguments[:1], node))
    share = as_double(arguments[1], node)
    if not values or not 0 <= share <= 100:
        raise FormulaRuntimeError("percentile() needs values and a percentage from 0 to 100.", node)
    position = (len(values) - 1) * share / 100
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _val(arguments: list[Value], node: Node) -> float:
    if len(arguments) != 2:
        raise FormulaRuntimeError("val() takes a doubleVec and an index.", node)
    values = flatten(arguments[:1], node)
    index = int(as_double(arguments[1], node))
    if not 0 <= index < len(values):
        raise FormulaRuntimeError(f"val(): index {index} is outside the doubleVec of {len(values)}.", node)
    return values[index]


# --- methods of the metric variables ------------------------------------------------------------------------

def call_method(evaluation: Evaluation, node: Node) -> Value:
    """`$Metric.Method(arguments)` on a read-only service variable."""
    target = evaluation.value(node.children[0])
    if not isinstance(target, Series):
        raise FormulaRuntimeError(f"{type_name(target)} has no method {node.text}().", node)
    arguments = [evaluation.value(child) for child in node.children[1:]]
    if node.text == "GetSample":
        return _get_sample(target, arguments, node)
    if node.text == "GetSamplePercent":
        if not 1 <= len(arguments) <= 2:
            raise FormulaRuntimeError("GetSamplePercent() takes a start and an optional end.", node)
        start, end = _bounds(target, arguments, node)
        return target.window(start, end)[1]
    if node.text == "GetSamplePeriod" and not arguments:
        return SAMPLE_PERIOD
    if node.text == "Count" and not arguments:
        return float(len(target.samples))
    if node.text == "HistoryBeginTime" and not arguments:
        if not target.samples:
            raise FormulaRuntimeError(f"{target.name} has no sample yet.", node)
        return target.samples[0][0]
    raise FormulaRuntimeError(f"There is no method {node.text}() taking {len(arguments)} argument(s).", node)


def _moment(target: Series, value: Value, node: Node) -> dt.datetime:
    if isinstance(value, dt.timedelta):
        return target.now - value
    if isinstance(value, dt.datetime):
        return value
    raise FormulaRuntimeError(f"Expected a timeinterval or a timestamp but found a {type_name(value)}.", node)


def _bounds(target: Series, arguments: list[Value], node: Node) -> tuple[dt.datetime, dt.datetime]:
    """The window of GetSample/GetSamplePercent: (start) back to now, or (start, end) both looked back."""
    if len(arguments) == 1:
        return _moment(target, arguments[0], node), target.now
    nearer, further = _moment(target, arguments[0], node), _moment(target, arguments[1], node)
    return min(nearer, further), max(nearer, further)


def _get_sample(target: Series, arguments: list[Value], node: Node) -> Vec:
    if len(arguments) == 1 and isinstance(arguments[0], float):
        count = int(arguments[0])
        if count < 1 or not target.samples:
            raise FormulaRuntimeError(f"{target.name}.GetSample({count}): no sample is available.", node)
        return tuple(value for _, value in target.samples[-count:])
    if not 1 <= len(arguments) <= 3:
        raise FormulaRuntimeError("GetSample() takes a count, or a start, an optional end and a percentage.", node)
    required = None
    if len(arguments) > 1 and isinstance(arguments[-1], float):
        required = arguments[-1]
        arguments = arguments[:-1]
    start, end = _bounds(target, arguments, node)
    values, percent = target.window(start, end)
    if required is not None and percent < required:
        raise FormulaRuntimeError(f"{target.name}.GetSample(): {percent:.6g} percent of the samples are "
                                  f"available, {required:.6g} percent are required.", node)
    return values
