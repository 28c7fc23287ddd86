"""Autoscale formulas: parse (autoscale_grammar, on lark), evaluate (autoscale_eval, autoscale_functions) over a
pool's metric history, and the AutoScaleRun `results` text. No I/O.

The language is the one of Azure Batch's autoscale article: statements and variables; arithmetic, comparison,
logical and ternary operators; the functions avg, len, count, lg, ln, log, max, min, median, norm, percentile,
rand, range, std, stop, sum, time, val, sqrt, abs, ceil, floor, round; the methods GetSample,
GetSamplePercent, GetSamplePeriod, Count and HistoryBeginTime of the read-only variables; TimeInterval_*
constants; doubleVec, string, timestamp and timeinterval values; `//` and `/* */` comments.

Settable: $TargetDedicatedNodes (alias $TargetDedicated), $TargetLowPriorityNodes (alias $TargetLowPriority),
$NodeDeallocationOption. They start as the pool's current targets and `requeue`. Read-only: the metrics of
autoscale_metrics.METRICS. Results list the three settable variables first, then every other variable the
formula assigned in ordinal order, as the real service does (its recorded answer to `$TargetDedicatedNodes=3`:
`$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue`), doubles with six
significant digits.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from batch_service.backend.autoscale_eval import (
    DEALLOCATION_OPTIONS,
    TARGETS,
    Evaluation,
    FormulaRuntimeError,
    Series,
    Value,
)
from batch_service.backend.autoscale_functions import call_function, call_method
from batch_service.backend.autoscale_grammar import (
    MAX_FORMULA_LENGTH,
    FormulaSyntaxError,
    Node,
    parse_statements,
)

SETTABLE = TARGETS
__all__ = [
    "DEALLOCATION_OPTIONS",
    "MAX_FORMULA_LENGTH",
    "SETTABLE",
    "Formula",
    "FormulaRuntimeError",
    "FormulaSyntaxError",
    "Series",
    "Value",
    "node_targets",
    "parse",
    "results_text",
]


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its statements."""

    statements: tuple[Node, ...]

    def evaluate(self, metrics: Mapping[str, Series], now: dt.datetime,
                 targets: tuple[int, int] = (0, 0)) -> dict[str, Value]:
        """Every variable after the formula ran (the three settable ones always), or FormulaRuntimeError."""
        scope: dict[str, Value] = {TARGETS[0]: float(targets[0]), TARGETS[1]: float(targets[1]),
                                   TARGETS[2]: "requeue"}
        evaluation = Evaluation(metrics, now, scope, call_function, call_method)
        try:
            return evaluation.run(list(self.statements))
        except FormulaRuntimeError as exc:
            exc.results = dict(scope)  # what the real service reports next to the error
            raise


def parse(text: str) -> Formula:
    """Parse a formula; FormulaSyntaxError (with line and column) when it does not parse."""
    return Formula(tuple(parse_statements(text)))


def results_text(results: Mapping[str, Value]) -> str:
    """AutoScaleRun.results: the settable variables, then the formula's own in ordinal order."""
    names = [name for name in TARGETS if name in results]
    names += sorted(name for name in results if name not in TARGETS)
    return ";".join(f"{name}={format_value(results[name])}" for name in names)


def format_value(value: Value) -> str:
    """A value as the results text shows it: doubles with six significant digits, timestamps in UTC with
    milliseconds, doubleVecs in brackets, timeintervals as [d.]hh:mm:ss."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "[" + ",".join(f"{item:.6g}" for item in value) + "]"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.timedelta):
        return _interval_text(value)
    if isinstance(value, Series):
        return format_value(value.samples[-1][1]) if value.samples else ""
    return str(value)


def _interval_text(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    total = abs(value)
    hours, rest = divmod(total.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    days = f"{total.days}." if total.days else ""
    fraction = f".{total.microseconds:06d}0" if total.microseconds else ""
    return f"{sign}{days}{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


def node_targets(results: Mapping[str, Value]) -> tuple[int | None, int | None, str | None]:
    """(dedicated, low-priority, deallocation option) the formula set, rounded down and at least 0; a target
    that is not a number, or an option that is not one of the four, is a FormulaRuntimeError."""
    def count(name: str) -> int | None:
        value = results.get(name)
        if value is None:
            return None
        if isinstance(value, Series) and value.samples:
            value = value.samples[-1][1]  # a metric assigned as it is: its latest sample
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        if not isinstance(value, float) or math.isnan(value):
            raise FormulaRuntimeError(f"{name} must be a double.")
        return max(0, int(value))

    option = results.get("$NodeDeallocationOption")
    if option is not None and option not in DEALLOCATION_OPTIONS:
        raise FormulaRuntimeError(f"$NodeDeallocationOption must be one of {', '.join(DEALLOCATION_OPTIONS)}.")
    return count(TARGETS[0]), count(TARGETS[1]), str(option) if option is not None else None
