"""batch_service.spawn starts real processes the way Popen(cwd=, env=, start_new_session=True) would."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from batch_service.runner.spawn import start_task_process


def run(tmp_path: Path, argv: list[str], env: dict[str, str] | None = None, append: bool = False) -> tuple[int, str]:
    work = tmp_path / "wd"
    work.mkdir(exist_ok=True)
    process = start_task_process(argv, work, env if env is not None else {"PATH": "/usr/bin:/bin"},
                                 tmp_path / "stdout.txt", tmp_path / "stderr.txt", append=append)
    return process.wait(), (tmp_path / "stdout.txt").read_text()


def status_fields(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_runs_in_the_working_directory_with_exactly_the_given_environment(tmp_path: Path) -> None:
    code, out = run(tmp_path, ["/bin/sh", "-c", 'pwd; echo "$ONLY"; env | wc -l'], {"ONLY": "one", "PATH": "/bin"})
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == str(tmp_path / "wd")
    assert lines[1] == "one"
    assert int(lines[2]) <= 4  # ONLY, PATH and what sh itself exports (PWD, maybe SHLVL)


def test_exit_code_and_stderr_go_where_asked(tmp_path: Path) -> None:
    code, out = run(tmp_path, ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (code, out) == (7, "out\n")
    assert (tmp_path / "stderr.txt").read_text() == "err\n"


def test_a_killed_process_reports_minus_the_signal(tmp_path: Path) -> None:
    code, _ = run(tmp_path, ["/bin/sh", "-c", "kill -9 $$"])
    assert code == -9


def test_append_keeps_the_earlier_output(tmp_path: Path) -> None:
    run(tmp_path, ["/bin/echo", "first"])
    _, out = run(tmp_path, ["/bin/echo", "second"], append=True)
    assert out == "first\nsecond\n"
    _, out = run(tmp_path, ["/bin/echo", "third"])
    assert out == "third\n"


def test_child_leads_a_new_session_with_no_blocked_or_ignored_signals(tmp_path: Path) -> None:
    code, out = run(tmp_path, ["/bin/cat", "/proc/self/status"])
    fields = status_fields(out)
    assert code == 0
    popen = status_fields(subprocess.run(["/bin/cat", "/proc/self/status"], capture_output=True, text=True,
                                         check=True).stdout)
    # Python ignores SIGPIPE and SIGXFSZ in itself; a task starts with their default actions, as under Popen.
    # Only the standard signals are compared: glibc's posix_spawn leaves its two internal real-time signals
    # (32, 33) ignored, and the task's own libc takes them over when it needs them.
    standard = (1 << 31) - 1  # signals 1 to 31
    assert int(fields["SigIgn"], 16) & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1)) == 0
    assert int(fields["SigIgn"], 16) & standard == int(popen["SigIgn"], 16) & standard
    assert int(fields["SigBlk"], 16) == 0
    session = (tmp_path / "session.txt")
    code, _ = run(tmp_path, ["/bin/sh", "-c", f"cut -d' ' -f6 /proc/$$/stat > {session}; echo $$ >> {session}"])
    sid, pid = session.read_text().split()
    assert code == 0 and sid == pid


def test_stdin_is_empty(tmp_path: Path) -> None:
    code, out = run(tmp_path, ["/bin/sh", "-c", "cat; echo done"])
    assert (code, out) == (0, "done\n")


def test_a_bare_program_name_is_found_on_the_task_path_not_the_services(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    script = tools / "only-here"
    script.write_text("#!/bin/sh\necho found me\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    assert "only-here" not in os.environ.get("PATH", "")
    code, out = run(tmp_path, ["only-here"], {"PATH": f"{tools}:/bin"})
    assert (code, out) == (0, "found me\n")
    with pytest.raises(FileNotFoundError):
        run(tmp_path, ["only-here"], {"PATH": "/bin"})


def test_a_relative_program_is_relative_to_the_working_directory(tmp_path: Path) -> None:
    work = tmp_path / "wd"
    work.mkdir()
    script = work / "run.sh"
    script.write_text("#!/bin/sh\necho relative\n")
    script.chmod(0o755)
    assert run(tmp_path, ["./run.sh"]) == (0, "relative\n")


def test_missing_and_non_executable_programs_raise_the_matching_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run(tmp_path, ["/no/such/program"])
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program\n")
    with pytest.raises(PermissionError):
        run(tmp_path, [str(plain)])
