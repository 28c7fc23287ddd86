"""Which Python runs a program: the project's `runtime.options` (`toolchain`, `virtualenv`) as Pulumi.yaml
sets them, resolved the way the official host does."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PythonNotFound(Exception):
    """The project's Python cannot be found; the message says what to do."""


@dataclass(frozen=True)
class PythonRuntime:
    """An interpreter and, when the project names one, its virtualenv."""

    python: str
    virtualenv: Path | None = None

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with the virtualenv activated: its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME removed."""
        env = dict(base)
        if self.virtualenv is not None:
            env.pop("PYTHONHOME", None)
            env["VIRTUAL_ENV"] = str(self.virtualenv)
            env["PATH"] = os.pathsep.join(filter(None, [str(self.virtualenv / "bin"), env.get("PATH", "")]))
        return env


def options_of(info: Any) -> dict[str, Any]:
    """The `runtime.options` of a ProgramInfo message, as plain values."""
    from google.protobuf import json_format

    if info is None or not info.HasField("options"):
        return {}
    return dict(json_format.MessageToDict(info.options))


def resolve(root: str, options: dict[str, Any]) -> PythonRuntime:
    """The runtime for a project rooted at `root` with these options."""
    toolchain = str(options.get("toolchain") or "pip")
    virtualenv = options.get("virtualenv")
    if toolchain not in ("pip", "uv", "poetry"):
        raise PythonNotFound(f"runtime option toolchain: {toolchain!r} is not one of pip, uv, poetry")
    if not virtualenv and toolchain == "uv":
        virtualenv = ".venv"
    if not virtualenv and toolchain == "poetry":
        virtualenv = _poetry_env(root)
    if virtualenv:
        venv = Path(root, str(virtualenv)).resolve() if not os.path.isabs(str(virtualenv)) else Path(virtualenv)
        python = venv / "bin" / "python"
        if not python.exists():
            raise PythonNotFound(
                f"the virtualenv option of Pulumi.yaml is {virtualenv!r}, but {python} does not exist; "
                f"create it with `pulumi install` (or `python3 -m venv {venv}` and install the project into it)")
        return PythonRuntime(str(python), venv)
    command = os.environ.get("PULUMI_PYTHON_CMD") or shutil.which("python3") or shutil.which("python")
    if not command:
        raise PythonNotFound("no Python found: set PULUMI_PYTHON_CMD, put python3 on PATH, or set the "
                            "virtualenv option in Pulumi.yaml")
    return PythonRuntime(command)


def _poetry_env(root: str) -> str:
    poetry = shutil.which("poetry")
    if poetry is None:
        raise PythonNotFound("runtime option toolchain is poetry, but poetry is not on PATH")
    done = subprocess.run([poetry, "env", "info", "--path"], cwd=root, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise PythonNotFound(f"`poetry env info --path` failed in {root}: {done.stderr.strip()}")
    return done.stdout.strip()
