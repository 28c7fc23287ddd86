"""The autoscale formula language (batch_service/backend/autoscale*.py), rule by rule, on a made-up metric
history; the article's own formulas run through the SDK in tests/batch_service/test_sdk_autoscale.py."""
from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from batch_service.backend import autoscale, pool_ops
from batch_service.backend.account import Backend
from batch_service.backend.autoscale_metrics import METRICS
from batch_service.backend.store import Store

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)  # a Monday
# Ten minutes of 30-second samples: pending tasks 1..20, running always 2, CPU 50 then 90.
HISTORY = {
    "$PendingTasks": [float(n) for n in range(1, 21)],
    "$RunningTasks": [2.0] * 20,
    "$CPUPercent": [50.0] * 10 + [90.0] * 10,
}


def metrics(samples: int = 20) -> dict[str, autoscale.Series]:
    times = [NOW - dt.timedelta(seconds=30 * (samples - 1 - n)) for n in range(samples)]
    return {name: autoscale.Series(name, tuple(zip(times, HISTORY.get(name, [0.0] * 20)[-samples:],
                                                    strict=True)), NOW)
            for name in METRICS}


def evaluate(text: str, samples: int = 20, targets: tuple[int, int] = (3, 0)) -> dict[str, autoscale.Value]:
    return autoscale.parse(text).evaluate(metrics(samples), NOW, targets)


def results(text: str, samples: int = 20) -> str:
    return autoscale.results_text(evaluate(text, samples))


def test_results_list_the_settable_variables_first_then_the_others_in_ordinal_order() -> None:
    assert results("zeta = 1; $alpha = 2.5; beta = 1/3; $TargetLowPriorityNodes = 4") == \
        "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=4;$NodeDeallocationOption=requeue;" \
        "$alpha=2.5;beta=0.333333;zeta=1"


def test_arithmetic_comparison_logic_ternary_and_unary_operators() -> None:
    found = evaluate("a = 2 + 3 * 4 - (6 - 2) / 2; b = a >= 12 && !(a == 13) || 0; c = a < 5 ? 1 : -a; "
                     "d = 3 != 3; e = \"abc\" < \"abd\"")
    assert (found["a"], found["b"], found["c"], found["d"], found["e"]) == (12.0, 1.0, -12.0, 0.0, 1.0)


def test_only_the_branch_a_ternary_takes_is_evaluated() -> None:
    assert evaluate("x = 1 ? 5 : undefinedVariable")["x"] == 5.0


def test_sample_methods_over_the_history() -> None:
    found = evaluate("""
        last = $PendingTasks.GetSample(1);           // the newest sample, as a doubleVec
        three = $PendingTasks.GetSample(3);
        window = $PendingTasks.GetSample(TimeInterval_Minute * 2);
        back = $PendingTasks.GetSample(1 * TimeInterval_Minute, 2 * TimeInterval_Minute);
        percent = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 20);
        period = $PendingTasks.GetSamplePeriod();
        count = $PendingTasks.Count();
        begin = $PendingTasks.HistoryBeginTime();
    """)
    assert found["last"] == (20.0,) and found["three"] == (18.0, 19.0, 20.0)
    assert found["window"] == (16.0, 17.0, 18.0, 19.0, 20.0)
    assert found["back"] == (16.0, 17.0, 18.0)
    assert found["percent"] == 50.0 and found["count"] == 20.0
    assert found["period"] == dt.timedelta(seconds=30) and found["begin"] == NOW - dt.timedelta(seconds=570)


def test_a_required_sample_percentage_that_is_not_met_fails_the_evaluation() -> None:
    assert evaluate("v = $CPUPercent.GetSample(TimeInterval_Minute * 10, 95)")["v"] == tuple(HISTORY["$CPUPercent"])
    with pytest.raises(autoscale.FormulaRuntimeError, match="50 percent of the samples are available, 95"):
        evaluate("v = $CPUPercent.GetSample(TimeInterval_Minute * 20, 95)")


@pytest.mark.parametrize(("call", "expected"), [
    ("avg($PendingTasks.GetSample(4))", 18.5), ("len(1, 2, $PendingTasks.GetSample(3))", 5.0),
    ("count(1, 2)", 2.0), ("max(1, $PendingTasks.GetSample(2), 7)", 20.0), ("min(4, 9)", 4.0),
    ("median(5, 1, 3)", 3.0), ("norm(3, 4)", 5.0), ("percentile($PendingTasks.GetSample(5), 50)", 18.0),
    ("range(1, 9, 4)", 8.0), ("std(2, 4, 4, 4, 5, 5, 7, 9)", 2.138090), ("sum(1, 2, 3)", 6.0),
    ("val($PendingTasks.GetSample(3), 0)", 18.0), ("lg(8)", 3.0), ("ln(1)", 0.0), ("log(1000)", 3.0),
    ("sqrt(16)", 4.0), ("abs(-2)", 2.0), ("ceil(1.2)", 2.0), ("floor(1.8)", 1.0), ("round(2.5)", 3.0),
])
def test_the_documented_functions(call: str, expected: float) -> None:
    assert evaluate(f"x = {call}")["x"] == pytest.approx(expected, rel=1e-6)


def test_vectors_random_time_and_stop() -> None:
    found = evaluate("v = $PendingTasks.GetSample(2) * 2 + 1; l = lg($PendingTasks.GetSample(1) - 12); r = rand(); "
                     "t = time(\"2026-12-01T10:00:00Z\"); s = time() - t; h = t.hour; w = t.weekday; "
                     "later = t + 2 * TimeInterval_Hour; $TargetDedicatedNodes = 7; stop(); never = 1")
    assert found["v"] == (39.0, 41.0) and found["l"] == (3.0,)
    assert 0.0 <= float(found["r"]) <= 1.0  # type: ignore[arg-type]
    assert (found["h"], found["w"]) == (10.0, 2.0)  # a Tuesday
    assert found["s"] == NOW - dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    assert "never" not in found and found["$TargetDedicatedNodes"] == 7.0
    text = autoscale.results_text(found)
    assert "later=2026-12-01T12:00:00.000Z" in text and "s=5.23:30:00" in text and "v=[39,41]" in text
    assert time_of("Tue, 01 Dec 2026 10:00:00 GMT") == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def time_of(text: str) -> object:
    return evaluate(f"t = time(\"{text}\")")["t"]


def test_aliases_and_deallocation_options() -> None:
    found = evaluate("$TargetDedicated = 4; $TargetLowPriority = 1; $NodeDeallocationOption = retaineddata")
    assert autoscale.node_targets(found) == (4, 1, "retaineddata")
    assert autoscale.node_targets(evaluate("$TargetDedicatedNodes = 2.9; $TargetLowPriorityNodes = -4")) == \
        (2, 0, "requeue")


@pytest.mark.parametrize(("text", "line", "column", "reason"), [
    ("$TargetDedicatedNodes = $something_useless", 1, 25, "not defined"),
    ("x = 1;\n  y = 4 / (x - 1)", 2, 7, "Division by zero"),
    ("x = \"a\" + 1", 1, 5, "does not apply to string and double"),
    ("$PendingTasks = 3", 1, 1, "read-only"),
    ("x = avg($PendingTasks.GetSample(TimeInterval_Hour * 2, TimeInterval_Hour))", 1, 5, "empty doubleVec"),
    ("x = nosuch(1)", 1, 5, "no function nosuch()"),
])
def test_evaluation_errors_name_line_column_and_reason(text: str, line: int, column: int, reason: str) -> None:
    with pytest.raises(autoscale.FormulaRuntimeError) as raised:
        evaluate(text)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert reason in raised.value.reason
    assert raised.value.results is not None and "$TargetDedicatedNodes" in raised.value.results


@pytest.mark.parametrize(("text", "line", "column"), [
    ("", 1, 1), ("$TargetDedicatedNodes = (1", 1, 27), ("x = 1 1", 1, 7), ("x = 3 # 4", 1, 7), ("= 3", 1, 1),
    ("/* open comment\n x = 1", 1, 1),
])
def test_malformed_formulas_are_syntax_errors_with_their_position(text: str, line: int, column: int) -> None:
    with pytest.raises(autoscale.FormulaSyntaxError) as raised:
        autoscale.parse(text)
    assert (raised.value.line, raised.value.column) == (line, column)


def test_the_limits_of_a_formula() -> None:
    with pytest.raises(autoscale.FormulaSyntaxError, match="8192"):
        autoscale.parse("x = 1;" * 1400)
    with pytest.raises(autoscale.FormulaSyntaxError, match="100 statements"):
        autoscale.parse("x = 1;" * 101)
    assert len(autoscale.parse("x = 1;" * 100).statements) == 100


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
                                     "results": "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;"
                                                "$NodeDeallocationOption=requeue"}
    assert later["allocationState"] == "steady"
