"""End-to-end tests drive the real engine; the Pulumi SDK's in-process runtime leaks an event loop and its
gRPC sockets after each inline-program run (they are collected later and reported as unraisable
ResourceWarnings). That is the SDK's, not ours: ignore exactly that warning class here, nowhere else."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply the narrow warning filter to every e2e test."""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"))
            item.add_marker(pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"))
