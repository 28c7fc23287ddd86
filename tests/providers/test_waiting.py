"""wait_for_completion's timeout is read by the same duration parser as every Batch duration."""
from __future__ import annotations

import math

import pytest

from providers._base import ProviderFailure
from providers.schema.durations import UNLIMITED_TEXT
from providers.waiting import WaitRule


def test_the_timeout_defaults_to_thirty_minutes_and_success_to_exit_code_zero() -> None:
    assert WaitRule.from_props({}) == WaitRule(1800.0, "exitCodeZero")


def test_a_timeout_with_days_and_fractions_is_read_in_seconds() -> None:
    assert WaitRule.from_props({"timeout": "P1DT0.5S", "success": "completed"}) == WaitRule(86400.5, "completed")


def test_the_services_unlimited_spelling_never_times_out() -> None:
    assert WaitRule.from_props({"timeout": UNLIMITED_TEXT}).timeout_seconds == math.inf


@pytest.mark.parametrize("timeout", ["30 minutes", 30, "P1Y"])
def test_a_timeout_that_is_not_a_batch_duration_is_refused_naming_the_input(timeout: object) -> None:
    with pytest.raises(ProviderFailure, match=r"wait_for_completion\.timeout: .* is not an ISO 8601 duration"):
        WaitRule.from_props({"timeout": timeout})


def test_an_unknown_success_rule_is_refused() -> None:
    with pytest.raises(ProviderFailure, match="wait_for_completion.success"):
        WaitRule.from_props({"success": "sometimes"})
