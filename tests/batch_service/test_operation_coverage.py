"""Every REST operation the official SDK (azure-batch 15.1.0, api-version 2025-06-01) can send has a route in
the local service: the SDK's own request builders make each request, and the service's router must resolve its
method and path. What each operation does is tested through the SDK in the test_sdk*.py files."""
from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from azure.batch._operations import _operations as sdk_operations

from batch_service.api.app import build_app
from batch_service.backend.account import Backend
from batch_service.backend.store import Store
from batch_service.faults import FaultInjector
from batch_service.settings import Settings

BUILDERS = sorted(name for name in dir(sdk_operations) if name.startswith("build_batch_"))


def _request_of(name: str) -> tuple[str, str]:
    """(method, path) of the SDK's request for one operation, its path parameters filled with ids."""
    builder = getattr(sdk_operations, name)
    required = [param.name for param in inspect.signature(builder).parameters.values()
                if param.default is inspect.Parameter.empty and param.kind is param.POSITIONAL_OR_KEYWORD]
    extra = {"content_type": "application/json"} if "content_type" in inspect.getsource(builder) else {}
    request = builder(*[f"x-{param}" for param in required], api_version="2025-06-01", **extra)
    return request.method, request.url.split("?")[0]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> web.Application:
    data_dir: Path = tmp_path_factory.mktemp("coverage")
    settings = Settings(data_dir=data_dir)
    return build_app(settings, Backend(Store(data_dir / "batch.sqlite3"), data_dir), FaultInjector())


def test_the_sdk_has_72_operations() -> None:
    assert len(BUILDERS) == 72


@pytest.mark.parametrize("name", BUILDERS)
def test_every_sdk_operation_has_a_route(app: web.Application, name: str) -> None:
    method, path = _request_of(name)
    match = asyncio.run(app.router.resolve(make_mocked_request(method, path)))
    assert match.http_exception is None, f"{method} {path}: {match.http_exception}"
