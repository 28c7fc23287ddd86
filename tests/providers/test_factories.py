"""Task factories expand deterministically; add-collection chunks respect the service limits."""
from __future__ import annotations

import json

import pytest

from providers.collection_ops import chunks
from providers.factories import FactoryError, ParametricSweep, PerItem, with_merge_task


def test_sweep_is_the_cartesian_product_in_row_major_order_with_zero_padding() -> None:
    sweep = ParametricSweep({"id": "r{res}-f{frame:03d}", "commandLine": "render --res {res} --frame {frame}"},
                            {"res": ["hd", "4k"], "frame": range(1, 4)})
    ids = [t["id"] for t in sweep.expand()]
    assert ids == ["rhd-f001", "rhd-f002", "rhd-f003", "r4k-f001", "r4k-f002", "r4k-f003"]
    assert sweep.expand()[4]["commandLine"] == "render --res 4k --frame 2"
    assert sweep.expand() == sweep.expand()


def test_placeholders_reach_nested_fields_and_literal_braces_survive() -> None:
    sweep = ParametricSweep({"id": "t{i}", "commandLine": "/bin/sh -c 'echo ${{HOME}} {i}'",
                             "environmentSettings": [{"name": "INDEX", "value": "{i}"}]}, {"i": range(2)})
    first = sweep.expand()[1]
    assert first["commandLine"] == "/bin/sh -c 'echo ${HOME} 1'"
    assert first["environmentSettings"] == [{"name": "INDEX", "value": "1"}]


def test_sweep_refuses_duplicate_ids_and_unknown_placeholders() -> None:
    with pytest.raises(FactoryError, match="produced twice"):
        ParametricSweep({"id": "same", "commandLine": "x"}, {"i": range(2)}).expand()
    with pytest.raises(FactoryError, match="placeholder 'j'"):
        ParametricSweep({"id": "t{j}", "commandLine": "x"}, {"i": range(2)}).expand()


def test_per_item_and_merge_task_depend_on_every_part() -> None:
    parts = PerItem({"id": "file-{index}", "commandLine": "wc -l {item}"}, ["a.txt", "b.txt"]).expand()
    tasks = with_merge_task(parts, {"id": "merge", "commandLine": "cat"})
    assert tasks[-1]["dependsOn"] == {"taskIds": ["file-0", "file-1"]}
    assert tasks[1]["commandLine"] == "wc -l b.txt"


def test_merge_over_long_id_lists_uses_integer_ranges() -> None:
    parts = [{"id": f"{n:08d}", "commandLine": "x"} for n in range(9000)]
    merged = with_merge_task(parts, {"id": "merge", "commandLine": "y"})[-1]
    assert merged["dependsOn"] == {"taskIdRanges": [{"start": 0, "end": 8999}]}


# The service's limits for one add-task-collection request: at most 100 tasks, and a body "under 1 MB"
# (Batch REST reference, Task - Add Collection). 1 MB read as 10^6 bytes holds under either reading of MB.
DOCUMENTED_MAX_TASKS = 100
DOCUMENTED_MAX_BODY_BYTES = 1_000_000


def test_chunks_hold_at_most_100_tasks_and_stay_under_one_megabyte() -> None:
    small = [{"id": f"t{n}", "commandLine": "x"} for n in range(250)]
    assert [len(c) for c in chunks(small)] == [100, 100, 50]
    big = [{"id": f"t{n}", "commandLine": "x" * 30000} for n in range(100)]
    sizes = [len(json.dumps({"value": c}, separators=(",", ":")).encode()) for c in chunks(big)]
    assert all(size < DOCUMENTED_MAX_BODY_BYTES for size in sizes), sizes
    assert len(sizes) == 4  # 30 kB tasks: 33 fit under 1 MB, so 100 of them need 4 requests
    assert sum(len(c) for c in chunks(big)) == 100
    assert all(len(c) <= DOCUMENTED_MAX_TASKS for c in chunks(small + big))


def test_non_ascii_text_is_measured_as_the_bytes_sent() -> None:
    # 3 bytes per character in UTF-8: 12 tasks of 30,000 such characters are 1.08 MB, too much for one request.
    wide = [{"id": f"t{n}", "commandLine": "\u20ac" * 30000} for n in range(12)]
    sizes = [len(json.dumps({"value": c}, separators=(",", ":"), ensure_ascii=False).encode())
             for c in chunks(wide)]
    assert len(sizes) >= 2 and all(size < DOCUMENTED_MAX_BODY_BYTES for size in sizes), sizes
