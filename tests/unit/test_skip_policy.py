"""A skip not on the allow-list fails the run, and every skip is printed with its reason."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.skip_policy import ALLOWED_SKIPS

PROJECT_DIR = Path(__file__).resolve().parents[2]

SAMPLE = '''
import pytest

def test_runs():
    assert 1 + 1 == 2

def test_skipped():
    pytest.skip("the thing under test moved away")
'''


def _pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.support.skip_policy", "-p",
                           "no:cacheprovider", "--rootdir", str(tmp_path), "test_sample.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_skip_not_on_the_allow_list_fails_the_run_and_is_printed_with_its_reason(tmp_path: Path) -> None:
    done = _pytest(tmp_path, SAMPLE)
    assert done.returncode == 1, done.stdout
    assert "1 passed, 1 skipped" in done.stdout
    assert "skipped tests: 1" in done.stdout
    assert "NOT ALLOWED" in done.stdout and "test_sample.py::test_skipped: the thing under test moved away" \
        in done.stdout


def test_a_run_without_skips_passes_and_says_so(tmp_path: Path) -> None:
    done = _pytest(tmp_path, SAMPLE.split("def test_skipped")[0])
    assert done.returncode == 0, done.stdout
    assert "skipped tests: 0" in done.stdout


def test_the_allow_list_names_tests_that_exist_with_a_reason_why() -> None:
    for nodeid, (reason, why) in ALLOWED_SKIPS.items():
        path, _, name = nodeid.partition("::")
        source = (PROJECT_DIR / path).read_text()
        if name:  # one test, skipped in its own body
            assert f"def {name}(" in source, nodeid
            assert f'pytest.skip("{reason}")' in source, nodeid
        else:  # a whole module, skipped by its pytestmark
            assert "pytestmark = pytest.mark.skipif(" in source and f'reason="{reason}")' in source, nodeid
        assert len(why) > 20
    assert len(ALLOWED_SKIPS) <= 5  # a short list


def test_a_module_entry_allows_its_own_tests_with_its_reason_and_nothing_else() -> None:
    from tests.support.skip_policy import _allowed

    module = "tests/batch_service/test_sdk_node_os_users.py"
    reason, _ = ALLOWED_SKIPS[module]
    assert _allowed(f"{module}::test_anything[param]", f"Skipped: {reason}")
    assert not _allowed(f"{module}::test_anything", "some other reason")
    assert not _allowed("tests/batch_service/test_sdk.py::test_anything", reason)
