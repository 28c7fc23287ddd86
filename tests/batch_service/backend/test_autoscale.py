"""The autoscale formula subset the local service evaluates (batch_service/autoscale.py), rule by rule."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from batch_service.backend import autoscale, pool_ops
from batch_service.backend.account import Backend
from batch_service.backend.store import Store

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


def test_the_formula_is_evaluated_again_on_its_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The API's shortest interval is 5 minutes; the backend is driven directly with a 1-second one.
    monkeypatch.setattr(pool_ops, "MIN_AUTOSCALE_INTERVAL", 0.5)
    vm = {"imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
          "nodeAgentSKUId": "batch.node.ubuntu 22.04"}

    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        backend = Backend(Store(tmp_path / "batch.sqlite3"), tmp_path, resize_delay=0.1)
        backend.load()
        backend.create_pool({"id": "p", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 0,
                             "virtualMachineConfiguration": vm})
        backend.create_job({"id": "j", "poolInfo": {"poolId": "p"}})
        backend.enable_autoscale("p", {"autoScaleFormula": "$TargetDedicatedNodes = $PendingTasks",
                                       "autoScaleEvaluationInterval": "PT1S"})
        first = backend.get_pool("p")
        backend.add_task_collection("j", {"value": [{"id": f"t{n}", "commandLine": "/bin/true"} for n in range(3)]})
        deadline = asyncio.get_running_loop().time() + 10
        while backend.get_pool("p")["currentDedicatedNodes"] != 3 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)  # the interval timer and the resize run on this loop
        later = backend.get_pool("p")
        backend.cancel_timers()
        return first, later

    first, later = asyncio.run(scenario())
    assert (first["currentDedicatedNodes"], later["currentDedicatedNodes"]) == (0, 3)
    assert later["autoScaleRun"] == {"timestamp": later["autoScaleRun"]["timestamp"],  # type: ignore[index]
                                     "results": "$TargetDedicatedNodes=3"}
    assert later["allocationState"] == "steady"
