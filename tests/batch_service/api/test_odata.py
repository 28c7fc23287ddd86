"""The $filter mini-language of list operations (section 1.5), evaluated without HTTP."""
from __future__ import annotations

from typing import Any

import pytest

from batch_service.api.odata import FilterError, compile_filter, page

JOBS: list[dict[str, Any]] = [
    {"id": "render-1", "state": "active", "priority": 10, "creationTime": "2025-07-01T12:00:00.0000000Z",
     "executionInfo": {"poolId": "pool-a"}},
    {"id": "render-2", "state": "completed", "priority": 0, "creationTime": "2025-07-02T12:00:00.0000000Z",
     "executionInfo": {"poolId": "pool-b"}},
    {"id": "Backup", "state": "disabled", "priority": -5, "creationTime": "2025-07-03T12:00:00.0000000Z",
     "executionInfo": {"poolId": "pool-a"}},
]


def _ids(expression: str) -> list[str]:
    predicate = compile_filter(expression)
    assert predicate is not None
    return [job["id"] for job in JOBS if predicate(job)]


@pytest.mark.parametrize(("expression", "expected"), [
    ("state eq 'active'", ["render-1"]),
    ("state eq 'ACTIVE'", ["render-1"]),
    ("state eq 'active' or state eq 'disabled'", ["render-1", "Backup"]),
    ("startswith(id,'render') and state ne 'active'", ["render-2"]),
    ("startswith(id, 'backup')", ["Backup"]),
    ("state eq 'completed' or state eq 'active' and priority gt 5", ["render-1", "render-2"]),
    ("(state eq 'completed' or state eq 'active') and priority gt 5", ["render-1"]),
    ("not (state eq 'active')", ["render-2", "Backup"]),
    ("executionInfo/poolId eq 'pool-a'", ["render-1", "Backup"]),
    ("creationTime ge datetime'2025-07-02T00:00:00Z'", ["render-2", "Backup"]),
    ("priority le 0", ["render-2", "Backup"]),
    ("id eq 'it''s'", []),
])
def test_filters_select_the_expected_jobs(expression: str, expected: list[str]) -> None:
    assert _ids(expression) == expected


@pytest.mark.parametrize("expression", ["state eq", "state equals 'x'", "(state eq 'a'", "startswith(id)",
                                        "state eq 'a' and", "state eq 'a' 'b'", "state eq #"])
def test_malformed_filters_raise_filter_error(expression: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(expression)


def test_an_empty_filter_matches_everything() -> None:
    assert compile_filter("  ") is None


def test_page_returns_a_token_only_when_another_match_exists() -> None:
    items = [(seq, {"n": seq}) for seq in range(1, 6)]
    first, token = page(items, None, 2, None)
    assert [item["n"] for item in first] == [1, 2] and token == 2
    last, token = page(items, None, 3, 2)
    assert [item["n"] for item in last] == [3, 4, 5] and token is None
    odd = compile_filter("n ne 2 and n ne 4")
    filtered, token = page(items, odd, 2, None)
    assert [item["n"] for item in filtered] == [1, 3] and token == 3
