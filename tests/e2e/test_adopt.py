"""`adopt=True` takes over an existing job only when it equals the spec; a different one is refused by name
and left as it was."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from providers import BatchJob
from tests.support.service import RunningService
from tests.support.stacks import new_stack

pytestmark = pytest.mark.e2e


def existing_job(sdk: Any, job_id: str, priority: int) -> Any:
    """A job created out of band (by another tool), as adopt=True finds it."""
    from azure.batch import models

    sdk.create_job(models.BatchJobCreateOptions({"id": job_id, "poolInfo": {"poolId": "local"},
                                                 "priority": priority}))
    return sdk.get_job(job_id)


def test_an_equal_job_is_adopted_and_a_different_one_is_refused(
        tmp_path: Path, service: RunningService, sdk: Any) -> None:
    equal = existing_job(sdk, "adopt-equal", 3)
    different = existing_job(sdk, "adopt-different", 7)

    def adopt_equal() -> None:
        BatchJob("equal", spec={"id": "adopt-equal", "poolInfo": {"poolId": "local"}, "priority": 3}, adopt=True)

    run = new_stack(tmp_path, service, adopt_equal)
    up = run.up()
    assert up.summary.resource_changes == {"create": 2}  # the stack and the job, now managed by it
    after = sdk.get_job("adopt-equal")
    assert (after.creation_time, after.etag) == (equal.creation_time, equal.etag)  # taken over, not re-made
    assert set(run.preview(expect_no_changes=True).change_summary) == {"same"}

    def adopt_different() -> None:
        adopt_equal()
        BatchJob("different", spec={"id": "adopt-different", "poolInfo": {"poolId": "local"}, "priority": 1},
                 adopt=True)

    with pytest.raises(auto.errors.CommandError) as refused:
        run.up(adopt_different)
    message = str(refused.value)
    assert "creating job 'adopt-different': a job with this id already exists and differs" in message, message
    assert "priority" in message
    untouched = sdk.get_job("adopt-different")
    assert (untouched.priority, untouched.etag) == (7, different.etag)

    run.stack.destroy(color="never")
    sdk.begin_delete_job("adopt-different").result()
