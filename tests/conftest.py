"""Shared fixtures: a real local Batch service per test module, and an official-SDK client for it."""
from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.service import RunningService, start_service
from tests.support.skip_policy import (  # noqa: F401  (hooks: skips must be on the allow-list)
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

# A test run started in the background of a non-interactive shell (`pytest &`) ignores SIGINT, and every process
# it starts inherits that: the engine, and the provider hosts it stops with SIGINT, which would then never stop
# (tests of Ctrl-C and of host exits fail, and others wait for the engine's kill). Tests run with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The local Batch service as a real process on a free loopback port (short delete delay)."""
    with start_service(tmp_path_factory.mktemp("batch-service"), "--delete-delay", "0.3") as running:
        yield running


@pytest.fixture()
def sdk(service: RunningService):  # type: ignore[no-untyped-def]
    """The official azure-batch SDK as an independent client of the service (Shared Key, no retries)."""
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential

    client = BatchClient(service.endpoint, AzureNamedKeyCredential(service.account_name, service.account_key),
                         retry_total=0)
    yield client
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests run last: the fast unit and service tests fail first."""
    items.sort(key=lambda item: 1 if "/e2e/" in str(Path(str(item.fspath))) else 0)
