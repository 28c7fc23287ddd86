"""Every formula of Azure Batch's autoscale article evaluates, through the official SDK's evaluate_pool_auto_scale;
the AutoScaleRun's results and errors have the real service's form.

The formulas are test data from "Create an automatic formula for scaling compute nodes in a Batch pool",
MicrosoftDocs/azure-docs, articles/batch/batch-automatic-scaling.md at commit
004ec532ffd5dbb44ccfc5fa4777731fe874e52c. Example 4's C# placeholders {0} and {1} are filled with a date in
RFC 1123 form and 4, as its string.Format does. The recorded forms: the official SDKs' recorded tests against
real Azure Batch (azure-sdk-for-python sdk/batch/azure-batch/tests/recordings/
test_batch.pyTestBatchtest_batch_scale_pools[sync].json at commit 55399a8baaf594ccc773b777419fd0e8fbd195b7:
results "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"; azure-sdk-for-js's
batch test "should fail to evaluate invalid autoscale formula": `$something_useless` is a 200 whose error code is
AutoScalingFormulaEvaluationError, results still listing the three settable variables).
"""
from __future__ import annotations

import re

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.batch_service.pool_support import add_pool

ARTICLE_FORMULAS = {
    "pending tasks": """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;""",
    "preempted nodes": """maxNumberofVMs = 25;
$TargetDedicatedNodes = min(maxNumberofVMs, $PreemptedNodeCount.GetSample(180 * TimeInterval_Second));
$TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);
$NodeDeallocationOption = taskcompletion;""",
    "statement form, its function and variables filled in": "$myNewVariable = max($PendingTasks.GetSample(1), 3);",
    "sample of the last five minutes": "$CPUPercent.GetSample(TimeInterval_Minute * 5)",
    "sample range": "$runningTasksSample = $RunningTasks.GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute);",
    "cpu": """$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes)""",
    "mondays": "$TargetDedicatedNodes = (time().weekday == 1 ? 5:1);",
    "python sdk": """$curTime = time();
             $workHours = $curTime.hour >= 8 && $curTime.hour < 18;
             $isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
             $isWorkingWeekdayHour = $workHours && $isWeekday;
             $TargetDedicated = $isWorkingWeekdayHour ? 20:10;""",
    "current nodes": "$TargetDedicatedNodes = $CurrentDedicatedNodes;",
    "zero": "$TargetDedicatedNodes = 0",
    "example 1: time-based": """$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
$NodeDeallocationOption = taskcompletion;""",
    "time zone": "$curTime = time() + (-6 * TimeInterval_Hour);",
    "example 2: task-based": """// Get pending tasks for the past 15 minutes.
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point,
// otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise
// half of current dedicated.
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
// The pool size is capped at 20, if target VM value is more than that, set it
// to 20. This value should be adjusted according to your use case.
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
// Set node deallocation mode - let running tasks finish before removing a node
$NodeDeallocationOption = taskcompletion;""",
    "example 3: parallel tasks": """// Determine whether 70 percent of the samples have been recorded in the past
// 15 minutes; if not, use last sample
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// Set the number of nodes to add to one-fourth the number of active tasks (the
// MaxTasksPerComputeNode property on this pool is set to 4, adjust this number
// for your use case)
$cores = $TargetDedicatedNodes * 4;
$extraVMs = (($tasks - $cores) + 3) / 4;
$targetVMs = ($TargetDedicatedNodes + $extraVMs);
// Attempt to grow the number of compute nodes to match the number of active
// tasks, with a maximum of 3
$TargetDedicatedNodes = max(0,min($targetVMs,3));
// Keep the nodes active until the tasks finish
$NodeDeallocationOption = taskcompletion;""",
    "example 4: initial pool size": """
    $TargetDedicatedNodes = 4;
    lifespan         = time() - time("Mon, 07 Dec 2026 09:00:00 GMT");
    span             = TimeInterval_Minute * 60;
    startup          = TimeInterval_Minute * 10;
    ratio            = 50;

    $TargetDedicatedNodes = (lifespan > startup ? (max($RunningTasks.GetSample(span, ratio), $ActiveTasks.GetSample(span, ratio)) == 0 ? 0 : $TargetDedicatedNodes) : 4);
    """,
}
SETTABLE = re.compile(r"^\$TargetDedicatedNodes=[^;]+;\$TargetLowPriorityNodes=[^;]+;\$NodeDeallocationOption=\w+")


@pytest.fixture
def pool(sdk: BatchClient, uid: str) -> str:
    """A pool with autoscale enabled (formulas are evaluated only on such a pool) and a job of five tasks."""
    add_pool(sdk, uid, enableAutoScale=True, autoScaleFormula="$TargetDedicatedNodes = 0",
             autoScaleEvaluationInterval="PT5M")
    sdk.create_job(models.BatchJobCreateOptions(id=uid, pool_info=models.BatchPoolInfo(pool_id=uid)))
    sdk.create_tasks(uid, [models.BatchTaskCreateOptions(id=f"t{n}", command_line="/bin/true") for n in range(5)])
    return uid


def _evaluate(sdk: BatchClient, pool_id: str, formula: str) -> models.AutoScaleRun:
    return sdk.evaluate_pool_auto_scale(pool_id, models.BatchPoolEvaluateAutoScaleOptions(auto_scale_formula=formula))


@pytest.mark.parametrize("name", list(ARTICLE_FORMULAS))
def test_each_formula_of_the_autoscale_article_evaluates(sdk: BatchClient, pool: str, name: str) -> None:
    run = _evaluate(sdk, pool, ARTICLE_FORMULAS[name])
    assert run.error is None, run.error and run.error.as_dict()
    assert run.results is not None and SETTABLE.match(run.results), run.results
    assert run.timestamp is not None


def test_the_pending_tasks_formula_reads_the_pools_tasks(sdk: BatchClient, pool: str) -> None:
    # One sample in the last 180 s (17 % < 70 %): the formula starts with one VM; with the history ignored,
    # the average of the latest sample is the five active tasks.
    assert _evaluate(sdk, pool, ARTICLE_FORMULAS["pending tasks"]).results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
        "maxNumberofVMs=25;pendingTaskSamplePercent=16.6667;pendingTaskSamples=1;startingNumberOfVMs=1")
    assert _evaluate(sdk, pool, "$TargetDedicatedNodes = avg($PendingTasks.GetSample(1)); "
                                "$TargetLowPriorityNodes = $ActiveTasks.GetSample(1) / 5").results == \
        "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=[1];$NodeDeallocationOption=requeue"


def test_an_undefined_variable_is_a_200_with_the_evaluation_error(sdk: BatchClient, pool: str) -> None:
    run = _evaluate(sdk, pool, "x = 1;\n$something_useless")
    assert run.results == "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;x=1"
    assert run.error is not None and run.error.code == "AutoScalingFormulaEvaluationError"
    assert run.error.message is not None and run.error.message.startswith("Line 2, column 1:")
    values = {pair.name: pair.value for pair in run.error.error_values or []}
    assert (values["Line"], values["Column"]) == ("2", "1") and "$something_useless" in values["Reason"]


def test_too_few_samples_for_a_required_percentage_is_an_evaluation_error(sdk: BatchClient, pool: str) -> None:
    run = _evaluate(sdk, pool, "$runningTasksSample = $RunningTasks.GetSample(60 * TimeInterval_Second, "
                               "120 * TimeInterval_Second, 75);")
    assert run.error is not None and run.error.code == "AutoScalingFormulaEvaluationError"
    assert "75 percent are required" in str(run.error.message)


def test_a_syntax_error_is_a_400_naming_line_and_column(sdk: BatchClient, pool: str) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _evaluate(sdk, pool, "$TargetDedicatedNodes = 1;\n$TargetLowPriorityNodes = max(1,")
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "AutoScalingFormulaSyntaxError"
    assert "line 2, column 33" in str(raised.value.error.message)


def test_enabling_a_formula_resizes_the_pool_to_its_targets(sdk: BatchClient, pool: str) -> None:
    sdk.enable_pool_auto_scale(pool, models.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula=ARTICLE_FORMULAS["example 2: task-based"]))
    run = sdk.get_pool(pool).auto_scale_run
    assert run is not None and run.results is not None
    assert run.results.startswith("$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;"
                                  "$NodeDeallocationOption=taskcompletion;")
    assert sdk.get_pool(pool).target_dedicated_nodes == 5
