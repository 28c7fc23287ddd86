"""The public API is typed: mypy --strict accepts the example program and reports a misspelt spec key, a
value of the wrong type and a misspelt wait_for_completion option."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import providers

PROJECT = Path(__file__).resolve().parents[2]
PROGRAM = PROJECT / "tests" / "fixtures" / "typing" / "program.py"

# (name, text in the example, its replacement, what mypy must say about it). In an annotated spec mypy names
# the key; inside a call it reports the argument whose dict does not fit the TypedDict.
MISTAKES = [
    ("misspelt-job-key", '"poolInfo": {"poolId"', '"poolinfo": {"poolId"', '"poolinfo"'),
    ("wrong-value-type", '"priority": 10', '"priority": "high"', '"priority"'),
    ("wrong-nested-type", '"maxTaskRetryCount": 2', '"maxTaskRetryCount": "two"', 'Argument "spec" to "BatchTask"'),
    ("misspelt-task-key", '"commandLine": "/bin/true"}, wait', '"commandline": "/bin/true"}, wait',
     'Argument "spec" to "BatchTask"'),
    ("wrong-wait-option", '"success": "exitCodeZero"', '"success": "zero"', '"success"'),
]


def test_the_package_exports_exactly_the_public_api() -> None:
    assert sorted(providers.__all__) == [
        "BatchClientError", "BatchError", "BatchJob", "BatchJobSchedule", "BatchTask", "BatchTaskCollection",
        "ConfigurationError", "FactoryError", "JobConstraints", "JobManagerTask", "JobPreparationTask",
        "JobReleaseTask", "JobScheduleSpec", "JobSpec", "ParametricSweep", "PerItem", "TaskConstraints",
        "TaskFactory", "TaskSpec", "WaitForCompletion", "WiringError", "with_merge_task"]
    assert all(getattr(providers, name) is not None for name in providers.__all__)
    assert not any(name.endswith("Provider") for name in providers.__all__)
    assert not hasattr(providers.BatchJob, "known_id")


def test_mypy_accepts_the_example_and_reports_each_mistake(tmp_path: Path) -> None:
    text = PROGRAM.read_text()
    files = [tmp_path / "ok.py"]
    files[0].write_text(text)
    for name, good, bad, _ in MISTAKES:
        assert good in text, name
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(text.replace(good, bad, 1))
        files.append(tmp_path / f"{name.replace('-', '_')}.py")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), *map(str, files)],
        cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert not [line for line in errors if line.startswith(str(files[0]))], result.stdout
    for name, _, _, says in MISTAKES:
        mine = [line for line in errors if f"{name.replace('-', '_')}.py" in line]
        assert mine and says in mine[0], (name, result.stdout)


@pytest.mark.parametrize("name", ["BatchJobProvider", "BatchTaskProvider"])
def test_provider_classes_are_not_public(name: str) -> None:
    with pytest.raises(AttributeError):
        getattr(providers, name)
