"""Task list pages found from their $skiptoken (the sorted task index of a job) stay right while tasks are added
and deleted between pages, with $select and $filter too."""
from __future__ import annotations

from typing import Any

import httpx

from tests.batch_service.conftest import create_job, follow


def _add(api: httpx.Client, job_id: str, numbers: range) -> None:
    body = {"value": [{"id": f"t{n:03d}", "commandLine": "/bin/true", "requiredSlots": 1 + n % 2} for n in numbers]}
    assert api.post(f"/jobs/{job_id}/addtaskcollection", json=body).status_code == 200


def _pages(api: httpx.Client, job_id: str, params: dict[str, str],
           between: list[Any] | None = None) -> list[list[dict[str, Any]]]:
    pages = []
    response = api.get(f"/jobs/{job_id}/tasks", params={"api-version": "2025-06-01", **params})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["value"])
        if between:
            between.pop(0)()
        if "odata.nextLink" not in body:
            return pages
        response = follow(api, body["odata.nextLink"])


def test_pages_cover_every_task_once_in_creation_order(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    _add(api, uid, range(25))
    pages = _pages(api, uid, {"maxresults": "10"})
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [task["id"] for page in pages for task in page] == [f"t{n:03d}" for n in range(25)]
    assert pages[0][0]["url"].startswith("http") and pages[0][0]["url"].endswith(f"/jobs/{uid}/tasks/t000")


def test_tasks_added_and_deleted_between_pages(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    _add(api, uid, range(20))
    changes = [lambda: (api.delete(f"/jobs/{uid}/tasks/t003"), api.delete(f"/jobs/{uid}/tasks/t012"),
                        _add(api, uid, range(20, 23))),
               lambda: api.delete(f"/jobs/{uid}/tasks/t021"), lambda: None, lambda: None]
    seen = [task["id"] for page in _pages(api, uid, {"maxresults": "8"}, changes) for task in page]
    # t003 was on the first page already; t012 and t021 were deleted before their page; t020..t022 were added.
    assert seen == [f"t{n:03d}" for n in range(23) if n not in (12, 21)]


def test_select_and_filter_across_pages(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    _add(api, uid, range(30))
    pages = _pages(api, uid, {"maxresults": "4", "$select": "ID,requiredSlots,url", "$filter": "requiredSlots eq 2"})
    tasks = [task for page in pages for task in page]
    assert [task["id"] for task in tasks] == [f"t{n:03d}" for n in range(1, 30, 2)]
    assert all(set(task) == {"id", "requiredSlots", "url"} for task in tasks)
    assert tasks[0]["url"].startswith("http")
