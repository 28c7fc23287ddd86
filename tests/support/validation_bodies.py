"""Request bodies, stored jobs and assertion helpers shared by the tests of batch_service.validation."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batch_service.validation.bodies import ValidationError

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
REMOVED_FIELDS_EXAMPLE = "job-create-full-with-removed-pool-fields.json"
SECRET = "s3cr3t-do-not-echo"


def example(name: str) -> dict[str, Any]:
    """A documented example body from tests/fixtures/examples."""
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return body


def stored_job(**fields: Any) -> dict[str, Any]:
    """A stored job read model as the backend keeps it (camelCase, enums lowercase)."""
    job: dict[str, Any] = {
        "id": "job", "state": "active", "priority": 0, "usesTaskDependencies": False,
        "onAllTasksComplete": "noaction", "onTaskFailure": "noaction", "poolInfo": {"poolId": "pool"},
    }
    job.update(fields)
    return job


def task(**fields: Any) -> dict[str, Any]:
    """A minimal valid task create body with `fields` set on top."""
    body: dict[str, Any] = {"id": "t1", "commandLine": "/bin/true"}
    body.update(fields)
    return body


def job(**fields: Any) -> dict[str, Any]:
    """A minimal valid job create body with `fields` set on top."""
    body: dict[str, Any] = {"id": "job", "poolInfo": {"poolId": "pool"}}
    body.update(fields)
    return body


def pool(**fields: Any) -> dict[str, Any]:
    """A minimal valid pool create body with `fields` set on top."""
    body: dict[str, Any] = {
        "id": "pool", "vmSize": "standard_d2s_v3", "targetDedicatedNodes": 1,
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
            "nodeAgentSKUId": "batch.node.ubuntu 24.04",
        },
    }
    body.update(fields)
    return body


def accepted(check: Callable[..., object], *args: Any) -> None:
    """Run a validator on a valid body: it returns None and leaves every argument as it was (it is pure)."""
    before = copy.deepcopy(args)
    assert check(*args) is None
    assert args == before


def rejected(check: Callable[..., None], *args: Any) -> ValidationError:
    """The ValidationError that check(*args) must raise."""
    with pytest.raises(ValidationError) as caught:
        check(*args)
    return caught.value


def detail(error: ValidationError, key: str = "PropertyName") -> str | None:
    """One entry of the error's values (PropertyName unless told otherwise)."""
    return next((entry["value"] for entry in error.values if entry["key"] == key), None)


def assert_rejected(check: Callable[..., None], args: tuple[Any, ...], code: str, path: str,
                    status: int = 400) -> ValidationError:
    """Assert that check(*args) fails with this status, code and PropertyName; return the error."""
    error = rejected(check, *args)
    assert (error.status, error.code, detail(error)) == (status, code, path)
    return error
