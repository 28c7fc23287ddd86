"""The plain `pulumi` CLI on a scratch project, as a user runs it: every command runs in a shell that first does
`source toolchain/activate` (README), with a scratch backend and home set beforehand (set variables win over
activate's defaults), and a mark in the environment by which every process the command started (engine,
language host, program, provider host) can be found afterwards."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deploy.environment import PROJECT_DIR, TOOLCHAIN_DIR
from tests.support.processes import all_processes

VENV = Path(__file__).resolve().parents[2] / ".venv"
MARK_VARIABLE = "BATCH_TEST_PROCESS_MARK"
ACTIVATE = PROJECT_DIR / "toolchain" / "activate"
# `bash -c SCRIPT ACTIVATE ARGS...`: $0 is the activate script, "$@" the pulumi arguments.
SOURCE_AND_RUN = 'source "$0" && exec pulumi "$@"'


def write_project(directory: Path, program: str, name: str = "cli-test") -> Path:
    """A project folder: Pulumi.yaml with the project's virtualenv, and `program` as its __main__.py."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {VENV}\n")
    (directory / "__main__.py").write_text(program)
    return directory


@dataclass
class Cli:
    """`pulumi` commands in one project folder with their own backend and home."""

    project: Path
    state: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def env(self) -> dict[str, str]:
        """The shell's environment before it sources toolchain/activate: none of the user's Pulumi or Batch
        variables and no engine on PATH (activate must put it there), a scratch backend and home."""
        home = self.state.parent / "pulumi-home"
        self.state.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "AZURE_BATCH_"))}
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if Path(p).resolve() != (TOOLCHAIN_DIR / "bin").resolve())
        env.update({
            "PULUMI_BACKEND_URL": self.state.resolve().as_uri(),
            "PULUMI_HOME": str(home),
            MARK_VARIABLE: self.mark,
        })
        env.update(self.extra_env)
        return env

    def command(self, *args: str) -> list[str]:
        """`pulumi ARGS` as README says to run it: in a shell that sourced toolchain/activate."""
        return ["bash", "-c", SOURCE_AND_RUN, str(ACTIVATE), *args]

    def activated_env(self) -> dict[str, str]:
        """The environment after `source toolchain/activate` (what an Automation API program run from that
        shell inherits)."""
        done = subprocess.run(["bash", "-c", 'source "$0" && env -0', str(ACTIVATE)], env=self.env,
                              capture_output=True, check=True, timeout=60)
        pairs = (item.split(b"=", 1) for item in done.stdout.split(b"\0") if b"=" in item)
        return {key.decode(): value.decode() for key, value in pairs}

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `pulumi ARGS` in its own process group (as a terminal's foreground job), output merged."""
        return subprocess.Popen(self.command(*args), cwd=self.project, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`pulumi ARGS`, output merged; with check, a non-zero exit fails with the output shown."""
        done = subprocess.run(self.command(*args), cwd=self.project, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout}")
        return done

    def processes(self) -> list[str]:
        """The command lines of live processes started by this project's commands."""
        found = []
        needle = f"{MARK_VARIABLE}={self.mark}".encode()
        for proc in all_processes():
            if proc.state == "Z":
                continue
            try:
                if needle not in Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0"):
                    continue
                found.append(Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
        return found

    def leftovers(self, seconds: float = 15.0) -> list[str]:
        """Processes of this project still alive after waiting up to `seconds` for them to end."""
        deadline = time.monotonic() + seconds
        while (left := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left
