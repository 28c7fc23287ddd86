"""The fault suite, trimmed for CI: 2 seeds of benchmarks/fault_suite.py, same checks."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fault_suite import run_seed

pytestmark = pytest.mark.e2e

# Seeds whose faults include a lost write response as well as refusals and drops (see the suite's table).
CI_SEEDS = (5, 11)
RATE = 0.2
TASKS = 150


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_one_up_under_injected_faults_converges_and_a_second_up_is_a_no_op(seed: int, tmp_path: Path) -> None:
    result = run_seed(seed, tmp_path, RATE, TASKS)
    print(f"\nseed {seed}: faults {result.faults}, {result.requests} requests, {result.ups} up(s): {result.outcome}")
    assert sum(result.faults.values()) > 0  # the seed really injected faults
    assert result.ok, result.outcome
    # The first `up` under faults must succeed by itself: the suite's second try would hide a first `up` that
    # always fails.
    assert result.ups == 1, result.outcome
    assert result.outcome == "converged; 2nd up + preview no-op"
