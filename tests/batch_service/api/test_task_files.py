"""The task files API (section 2.3) over files in the node directory (<data-dir>/node/workitems/J/job-1/T)."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.batch_service.conftest import create_job, create_task, error_of, follow
from tests.support.service import RunningService


@pytest.fixture
def task_dir(api: httpx.Client, service: RunningService, uid: str) -> Path:
    create_job(api, uid)
    create_task(api, uid, "t1")
    directory = service.data_dir / "node" / "workitems" / uid / "job-1" / "t1"
    (directory / "wd" / "out").mkdir(parents=True)
    (directory / "stdout.txt").write_text("hello from stdout\n")
    (directory / "stderr.txt").write_text("")
    (directory / "wd" / "result.bin").write_bytes(bytes(range(100)))
    (directory / "wd" / "out" / "deep.txt").write_text("deep")
    return directory


def test_list_is_flat_unless_recursive(api: httpx.Client, uid: str, task_dir: Path) -> None:
    flat = api.get(f"/jobs/{uid}/tasks/t1/files").json()["value"]
    assert [(entry["name"], entry["isDirectory"]) for entry in flat] == \
        [("stderr.txt", False), ("stdout.txt", False), ("wd", True)]
    stdout = flat[1]
    assert stdout["properties"]["contentLength"] == "18"
    assert stdout["url"].endswith(f"/jobs/{uid}/tasks/t1/files/stdout.txt")
    deep = api.get(f"/jobs/{uid}/tasks/t1/files", params={"api-version": "2025-06-01", "recursive": "true"})
    assert "wd/out/deep.txt" in [entry["name"] for entry in deep.json()["value"]]


def test_list_filters_by_name_prefix_and_pages(api: httpx.Client, uid: str, task_dir: Path) -> None:
    params = {"api-version": "2025-06-01", "recursive": "true", "$filter": "startswith(name,'wd/')",
              "maxresults": "2"}
    page = api.get(f"/jobs/{uid}/tasks/t1/files", params=params).json()
    names = [entry["name"] for entry in page["value"]]
    while "odata.nextLink" in page:
        page = follow(api, page["odata.nextLink"]).json()
        names += [entry["name"] for entry in page["value"]]
    assert names == ["wd/out", "wd/out/deep.txt", "wd/result.bin"]


def test_a_task_that_never_ran_has_no_files(api: httpx.Client, uid: str) -> None:
    create_job(api, uid)
    create_task(api, uid, "t1")
    assert api.get(f"/jobs/{uid}/tasks/t1/files").json()["value"] == []


def test_get_returns_the_bytes_and_the_file_headers(api: httpx.Client, uid: str, task_dir: Path) -> None:
    response = api.get(f"/jobs/{uid}/tasks/t1/files/stdout.txt")
    assert response.status_code == 200
    assert response.content == b"hello from stdout\n"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["ocp-batch-file-isdirectory"] == "false"
    assert response.headers["ocp-batch-file-url"].endswith("/files/stdout.txt")
    assert response.headers["ETag"].startswith('"0x8D')


def test_get_with_ocp_range_returns_the_slice(api: httpx.Client, uid: str, task_dir: Path) -> None:
    response = api.get(f"/jobs/{uid}/tasks/t1/files/wd%2Fresult.bin", headers={"ocp-range": "bytes=10-19"})
    assert (response.status_code, response.content) == (200, bytes(range(10, 20)))
    tail = api.get(f"/jobs/{uid}/tasks/t1/files/wd/result.bin", headers={"ocp-range": "bytes=95-"})
    assert tail.content == bytes(range(95, 100))
    beyond = api.get(f"/jobs/{uid}/tasks/t1/files/wd/result.bin", headers={"ocp-range": "bytes=500-600"})
    assert error_of(beyond) == (416, "InvalidRange")


def test_head_gives_the_properties_without_a_body(api: httpx.Client, uid: str, task_dir: Path) -> None:
    response = api.head(f"/jobs/{uid}/tasks/t1/files/wd%2Fresult.bin")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Length"] == "100"
    assert response.headers["ocp-batch-file-mode"].startswith("0100")


def test_delete_removes_a_file(api: httpx.Client, uid: str, task_dir: Path) -> None:
    assert api.delete(f"/jobs/{uid}/tasks/t1/files/stdout.txt").status_code == 200
    assert not (task_dir / "stdout.txt").exists()
    assert error_of(api.get(f"/jobs/{uid}/tasks/t1/files/stdout.txt")) == (404, "FileNotFound")
    recursive = {"api-version": "2025-06-01", "recursive": "true"}
    assert api.delete(f"/jobs/{uid}/tasks/t1/files/wd", params=recursive).status_code == 200
    assert not (task_dir / "wd").exists()


@pytest.mark.parametrize("path", ["wd%2F..%2F..%2Fsecret", "%2Fetc%2Fpasswd", "..%2Ft2%2Fstdout.txt"])
def test_paths_that_could_escape_the_task_directory_are_400(api: httpx.Client, uid: str, task_dir: Path,
                                                            path: str) -> None:
    assert error_of(api.get(f"/jobs/{uid}/tasks/t1/files/{path}"))[0] == 400


def test_a_symlink_out_of_the_task_directory_is_not_followed(api: httpx.Client, uid: str, task_dir: Path,
                                                             service: RunningService) -> None:
    os.symlink(service.data_dir / "batch.sqlite3", task_dir / "wd" / "escape")
    assert error_of(api.get(f"/jobs/{uid}/tasks/t1/files/wd%2Fescape")) == (400, "InvalidUri")


def test_deleting_the_task_removes_its_files(api: httpx.Client, uid: str, task_dir: Path) -> None:
    api.delete(f"/jobs/{uid}/tasks/t1")
    assert not task_dir.exists()
