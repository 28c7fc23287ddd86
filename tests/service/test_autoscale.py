"""The autoscale formula subset the local service evaluates (batch_service/autoscale.py), rule by rule."""
from __future__ import annotations

import pytest

from batch_service import autoscale

SAMPLES = {"$PendingTasks": 7, "$ActiveTasks": 5, "$RunningTasks": 2}


def evaluate(text: str) -> dict[str, autoscale.Value]:
    return autoscale.parse(text).evaluate(SAMPLES)


def test_constants_arithmetic_and_precedence() -> None:
    results = evaluate("$TargetDedicatedNodes = 2 + 3 * 4 - (6 - 2) / 2;")
    assert results == {"$TargetDedicatedNodes": 12.0}
    assert autoscale.results_text(results) == "$TargetDedicatedNodes=12"


def test_sample_variables_own_variables_min_max_and_comments() -> None:
    text = """// one node per two pending tasks, at most three
    half = $PendingTasks.GetSample(1) / 2;
    $TargetDedicatedNodes = max(0, min(3, half));
    $TargetLowPriorityNodes = -$RunningTasks + $ActiveTasks;
    $NodeDeallocationOption = taskcompletion"""
    results = evaluate(text)
    assert results == {"half": 3.5, "$TargetDedicatedNodes": 3.0, "$TargetLowPriorityNodes": 3.0,
                       "$NodeDeallocationOption": "taskcompletion"}
    assert autoscale.node_targets(results) == (3, 3, "taskcompletion")


def test_targets_round_down_and_never_go_below_zero() -> None:
    assert autoscale.node_targets(evaluate("$TargetDedicatedNodes = 2.9; $TargetLowPriorityNodes = -4")) == \
        (2, 0, None)


@pytest.mark.parametrize(("text", "named"), [
    ("$TargetDedicatedNodes = avg($PendingTasks.GetSample(1))", "avg()"),
    ("$TargetDedicatedNodes = $SucceededTasks", "$SucceededTasks"),
    ("$TargetDedicatedNodes = $ActiveTasks.GetSample(TimeInterval_Minute)", "GetSample(TimeInterval_Minute)"),
    ("$PendingTasks = 3", "$PendingTasks"),
])
def test_what_is_not_computed_locally_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(autoscale.FormulaNotSupported, match=named.replace("$", r"\$").replace("(", r"\(")
                       .replace(")", r"\)")):
        autoscale.parse(text)


@pytest.mark.parametrize("text", ["", "$TargetDedicatedNodes", "$TargetDedicatedNodes = (1", "x = 1 1",
                                  "$TargetDedicatedNodes = 3 # 4", "= 3"])
def test_malformed_formulas_are_syntax_errors(text: str) -> None:
    with pytest.raises(autoscale.FormulaSyntaxError):
        autoscale.parse(text)


def test_runtime_errors_are_reported_not_raised_at_parse() -> None:
    formula = autoscale.parse("$TargetDedicatedNodes = 1 / ($RunningTasks - 2)")
    with pytest.raises(autoscale.FormulaRuntimeError, match="division by zero"):
        formula.evaluate(SAMPLES)
    with pytest.raises(autoscale.FormulaRuntimeError, match="before it is assigned"):
        autoscale.parse("$TargetDedicatedNodes = later; later = 1").evaluate(SAMPLES)
    with pytest.raises(autoscale.FormulaRuntimeError):
        autoscale.node_targets(evaluate("$NodeDeallocationOption = 3"))
