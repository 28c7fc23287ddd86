"""Skips are allowed only where this list says why: any other skip fails the run (a refactor that turns tests
into skips must not pass unnoticed). Every skip is printed with its reason at the end of the run."""
from __future__ import annotations

import pytest

# test node id -> (the reason its skip must give, why skipping it on some machines is acceptable)
ALLOWED_SKIPS: dict[str, tuple[str, str]] = {
    "tests/batch_service/runner/test_runner.py::"
    "test_container_task_without_a_runtime_fails_and_never_runs_on_the_host": (
        "a container runtime works on this machine",
        ("it checks the refusal on a machine with no container runtime; where one works, the runtime's own "
         "tests run instead")),
    # A whole module: every test in it skips for the one reason its `pytestmark` states.
    "tests/batch_service/test_sdk_node_os_users.py": (
        "node users become OS accounts only when the service runs as root on Linux with useradd",
        "without root or useradd the service keeps users as records, which the other node-user tests cover"),
}

_skipped: list[tuple[str, str]] = []


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _allowed(nodeid: str, reason: str) -> bool:
    """On the list by its own id, or by its module (an entry without "::" stands for the whole module)."""
    test = nodeid.split("[")[0]
    allowed = ALLOWED_SKIPS.get(test) or ALLOWED_SKIPS.get(test.split("::")[0])
    return allowed is not None and allowed[0] in reason


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect every skip (in setup or in the test itself); an expected failure is not a skip."""
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append((report.nodeid, _reason(report)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skip that is not on the allow-list fails a run that would otherwise pass."""
    if any(not _allowed(nodeid, reason) for nodeid, reason in _skipped) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The skipped tests with their reasons, and which of them the allow-list does not accept."""
    terminalreporter.section(f"skipped tests: {len(_skipped)}")
    for nodeid, reason in _skipped:
        verdict = "allowed" if _allowed(nodeid, reason) else "NOT ALLOWED (tests/support/skip_policy.py)"
        terminalreporter.line(f"{verdict}: {nodeid}: {reason}")
    if any(not _allowed(nodeid, reason) for nodeid, reason in _skipped):
        terminalreporter.line("the run fails: a skip not on the allow-list hides a test that no longer runs",
                              red=True)
