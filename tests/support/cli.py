"""The plain `pulumi` CLI on a scratch project, as a user runs it: the toolchain's bin first on PATH, a local
file backend, the offline switches, and a mark in the environment by which every process the command started
(engine, language host, program, provider host) can be found afterwards."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deploy.environment import DEV_PASSPHRASE, OFFLINE_SWITCHES, TOOLCHAIN_DIR
from tests.support.processes import all_processes

VENV = Path(__file__).resolve().parents[2] / ".venv"
MARK_VARIABLE = "BATCH_TEST_PROCESS_MARK"


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
        """The environment of every command (what `source toolchain/activate` sets, with scratch folders)."""
        home = self.state.parent / "pulumi-home"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "logs").exists():
            (home / "logs").touch()  # as toolchain/activate: no automatic engine debug log
        self.state.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "AZURE_BATCH_"))}
        env.update(OFFLINE_SWITCHES)
        env.update({
            "PATH": f"{TOOLCHAIN_DIR / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PULUMI_BACKEND_URL": self.state.resolve().as_uri(),
            "PULUMI_HOME": str(home),
            "PULUMI_CONFIG_PASSPHRASE": DEV_PASSPHRASE,
            MARK_VARIABLE: self.mark,
        })
        env.update(self.extra_env)
        return env

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `pulumi ARGS` in its own process group (as a terminal's foreground job), output merged."""
        return subprocess.Popen(["pulumi", *args], cwd=self.project, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`pulumi ARGS`, output merged; with check, a non-zero exit fails with the output shown."""
        done = subprocess.run(["pulumi", *args], cwd=self.project, env=self.env, stdout=subprocess.PIPE,
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
