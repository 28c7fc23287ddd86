"""The ownership marker a stack puts on the jobs and schedules it creates, and the error paragraphs users see."""
from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from providers._base import (
    OWNER_METADATA,
    ProviderFailure,
    error_paragraph,
    foreign_owner_text,
    owner_of,
    with_owner,
    without_owner,
)
from providers.client.errors import ConfigurationError, TransportError, error_from_response
from providers.diff import diff_job
from providers.schedule import SchedulePlan
from providers.sdk_fixes import failed_call

MARK = {"name": OWNER_METADATA, "value": "organization/proj/dev"}


def test_the_marker_is_added_once_and_keeps_the_programs_own_metadata() -> None:
    body: dict[str, Any] = {"id": "j", "metadata": [{"name": "team", "value": "a"}, {**MARK, "value": "stale"}]}
    sent = with_owner(body, "organization/proj/dev")
    assert sent["metadata"] == [{"name": "team", "value": "a"}, MARK]
    assert body["metadata"][1]["value"] == "stale"  # the program's spec is not changed in place
    assert with_owner({"id": "j"}, None) == {"id": "j"}
    assert owner_of(sent) == "organization/proj/dev"
    assert owner_of({"id": "j"}) is None and owner_of(None) is None


def test_a_live_job_with_the_marker_shows_no_change_in_diff_preview_or_refresh() -> None:
    spec: dict[str, Any] = {"id": "j", "poolInfo": {"poolId": "local"}, "priority": 3}
    live = {**spec, "state": "active", "metadata": [MARK], "eTag": "0x1"}
    assert diff_job(spec, live).has_changes  # the marker alone would read as drift...
    assert not diff_job(spec, without_owner(live)).has_changes  # ...so every comparison drops it first
    assert without_owner({"id": "j"}) == {"id": "j"}
    assert without_owner(live)["metadata"] == []


def test_a_schedule_plan_ignores_the_marker() -> None:
    spec: dict[str, Any] = {"id": "s", "schedule": {"recurrenceInterval": "P1D"},
                            "jobSpecification": {"poolInfo": {"poolId": "local"}},
                            "metadata": [{"name": "team", "value": "a"}]}
    live = with_owner(spec, "organization/proj/dev")
    assert not SchedulePlan(spec, live).has_changes
    assert SchedulePlan({**spec, "metadata": []}, live).changed == {"metadata": ["metadata"]}


def test_an_object_of_another_stack_or_of_nobody_is_named_as_such() -> None:
    other = foreign_owner_text("creating job 'j': a job with this id", "organization/proj/prod", "`az …`")
    assert "belongs to stack 'organization/proj/prod'" in other
    nobody = foreign_owner_text("creating job 'j': a job with this id", None, "`az …`")
    assert "not created by this stack" in nobody and "adopt=True" in nobody


def _refusal(status: int, code: str) -> Any:
    request = httpx.Request("POST", "https://acct.batch.azure.com/jobs/j/tasks?api-version=2025-06-01&sig=x")
    response = httpx.Response(status, json={"code": code, "message": {"value": "The job does not exist.\nTime"}},
                              headers={"request-id": "rid-1"}, request=request)
    return error_from_response(response, action="creating task 't' in job 'j'")


@pytest.mark.parametrize(("error", "says"), [
    (_refusal(404, "JobNotFound"), "404 JobNotFound: The job does not exist. (request id rid-1). What to do: "),
    (_refusal(403, "AuthenticationFailed"), "batch:accountKey"),
    (TransportError("POST", "/jobs", "connection refused", maybe_applied=False), "batch:endpoint"),
    (ConfigurationError("batch:endpoint is not set"), "pulumi config set"),
])
def test_service_and_client_errors_read_as_one_paragraph(error: Exception, says: str) -> None:
    text = error_paragraph(error, "BatchTask", "create")
    assert text is not None and text.startswith("BatchTask create: ")
    assert says in text
    assert "\n" not in text and "sig=" not in text


def test_a_provider_failure_is_shown_as_it_is_and_a_bug_keeps_its_traceback() -> None:
    assert error_paragraph(ProviderFailure("updating job 'j': gone"), "BatchJob", "update") == \
        "BatchJob update: updating job 'j': gone"
    assert error_paragraph(KeyError("spec"), "BatchJob", "update") is None


def test_the_failed_call_is_named_by_provider_class_and_rpc() -> None:
    from pulumi.dynamic import ResourceProvider

    class _BatchJobProvider(ResourceProvider):  # only its name and the frame's `self` matter
        def create(self, props: dict[str, Any]) -> Any:
            raise ProviderFailure("refused")

    def wrapper(fn: Any, provider: Any) -> None:  # the shape of the SDK host's _abort_with_traceback wrapper
        fn(provider)

    def Create(provider: Any) -> None:
        provider.create({})

    with pytest.raises(ProviderFailure) as failed:
        wrapper(Create, _BatchJobProvider())
    assert failed_call(failed.value.__traceback__) == ("BatchJob", "create")  # type: ignore[arg-type]


@pytest.mark.parametrize(("argv", "env", "expected"), [
    (["pulumi.dynamic", "127.0.0.1:1"], "", False),
    (["pulumi.dynamic", "-v=9", "--logflow", "127.0.0.1:1"], "", True),
    (["pulumi.dynamic", "127.0.0.1:1"], "1", True),
    (["pulumi.dynamic", "127.0.0.1:1"], "false", False),
])
def test_tracebacks_are_kept_when_debugging_is_asked_for(argv: list[str], env: str, expected: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from providers import sdk_fixes

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("PULUMI_DEBUG", env)
    assert sdk_fixes.debugging() is expected  # no `pulumi` engine above a test process
