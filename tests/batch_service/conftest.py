"""Fixtures for the local Batch service tests: one shared real service, a signed httpx client, the SDK."""
from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential

from tests.support.service import RunningService, start_service
from tests.support.sharedkey import SharedKeyAuth

API_VERSION = "2025-06-01"
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
BODY_TYPE = "application/json; odata=minimalmetadata"


def example(name: str) -> dict[str, Any]:
    """One documented example body from tests/fixtures/examples."""
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return body


def run_service(data_dir: Path, *args: str) -> contextlib.AbstractContextManager[RunningService]:
    """start_service with `--runner none` unless args choose a runner: tasks stay active and job
    transitions complete at once, so these API tests see exactly the states they create."""
    extra = args if "--runner" in args else (*args, "--runner", "none")
    return start_service(data_dir, *extra)


def signed_client(service: RunningService, **kwargs: Any) -> httpx.Client:
    """An httpx client that signs with Shared Key and sends api-version on every request."""
    return httpx.Client(base_url=service.endpoint, auth=SharedKeyAuth(service.account_name, service.account_key),
                        params={"api-version": API_VERSION}, timeout=10.0, **kwargs)


def sdk_client(service: RunningService) -> BatchClient:
    """The official SDK with retries off, so every status reaches the test."""
    credential = AzureNamedKeyCredential(service.account_name, service.account_key)
    return BatchClient(service.endpoint, credential, retry_total=0)


def follow(client: httpx.Client, link: str) -> httpx.Response:
    """GET an odata.nextLink exactly as given (the client's default params would replace its query)."""
    request = client.build_request("GET", link)
    request.url = httpx.URL(link)
    return client.send(request)


def error_of(response: httpx.Response) -> tuple[int, str]:
    """(status, BatchError code) of an error response."""
    return response.status_code, response.json()["code"]


def value_of(response: httpx.Response, key: str) -> str | None:
    """The value for `key` in a BatchError's values list."""
    for item in response.json().get("values", []):
        if item["key"] == key:
            return str(item["value"])
    return None


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the whole session; tests use unique ids so they never collide."""
    with run_service(tmp_path_factory.mktemp("shared-service"), "--delete-delay", "0.3") as running:
        yield running


@pytest.fixture
def api(service: RunningService) -> Iterator[httpx.Client]:
    """Signed raw HTTP against the shared service."""
    with signed_client(service) as client:
        yield client


@pytest.fixture
def sdk(service: RunningService) -> Iterator[BatchClient]:
    """The official azure-batch client against the shared service."""
    with sdk_client(service) as client:
        yield client


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    """A unique, valid Batch id for this test (alphanumeric, -, _; at most 64 characters)."""
    name = "".join(ch if ch.isalnum() else "-" for ch in request.node.name)[:40]
    return f"{name}-{uuid.uuid4().hex[:8]}"


def create_job(api: httpx.Client, job_id: str, **fields: Any) -> httpx.Response:
    """POST /jobs on the default pool; asserts 201."""
    body = {"id": job_id, "poolInfo": {"poolId": "local"}, **fields}
    response = api.post("/jobs", json=body, headers={"Content-Type": BODY_TYPE})
    assert response.status_code == 201, response.text
    return response


def create_task(api: httpx.Client, job_id: str, task_id: str, **fields: Any) -> httpx.Response:
    """POST /jobs/{id}/tasks; asserts 201."""
    body = {"id": task_id, "commandLine": "/bin/true", **fields}
    response = api.post(f"/jobs/{job_id}/tasks", json=body)
    assert response.status_code == 201, response.text
    return response


NODE_SERVICE_SLOTS = 4  # the machine size of node_service: a pool gets at most this many nodes


@pytest.fixture(scope="module")
def node_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service that runs tasks as processes, with 1-second resizes (long enough to see `resizing` even on a
    busy machine) and a 4-slot machine."""
    with start_service(tmp_path_factory.mktemp("node-service"), "--runner", "process", "--resize-delay", "1",
                       "--max-slots", str(NODE_SERVICE_SLOTS), "--delete-delay", "0.3") as running:
        yield running


@pytest.fixture
def client(node_service: RunningService) -> Iterator[BatchClient]:
    """The official SDK for node_service, retries off."""
    with sdk_client(node_service) as sdk:
        yield sdk
