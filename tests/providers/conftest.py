"""Provider tests against the real local service: the providers' own connection to it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers import job_link
from providers.client import BatchClient, shared_client
from providers.client.settings import resolve_settings
from providers.job_link import JobPlans, LiveJobRules
from tests.support.service import RunningService


@pytest.fixture()
def client(service: RunningService, monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchClient]:
    """The providers' connection to the local service, and a fresh per-command memory of jobs."""
    for name, value in service.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(job_link, "JOB_PLANS", JobPlans())
    monkeypatch.setattr(job_link, "LIVE_JOB_RULES", LiveJobRules())
    yield shared_client(resolve_settings({}))
