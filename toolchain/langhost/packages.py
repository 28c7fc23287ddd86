"""What a program needs and has: plugin packages (GetRequiredPackages) and installed distributions
(GetProgramDependencies, About)."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from langhost.runtime import PythonRuntime

# Asked of the program's interpreter: its version, and each installed distribution with the folder it lives in.
_INVENTORY = """
import importlib.metadata as m, json, sys
out = []
for d in m.distributions():
    name = d.metadata["Name"]
    if name:
        out.append([name, d.version, str(d.locate_file(""))])
print(json.dumps({"version": sys.version.split()[0], "distributions": out}))
"""


@dataclass(frozen=True)
class Distribution:
    """An installed Python distribution."""

    name: str
    version: str
    location: Path


@dataclass(frozen=True)
class PluginPackage:
    """A resource plugin that an installed `pulumi_*` package declares in its `pulumi-plugin.json`."""

    name: str
    version: str
    server: str


def interpreter_version(runtime: PythonRuntime) -> str:
    """The interpreter's version. The engine asks for it (About) on every preview and up, so a virtualenv's is
    read from its pyvenv.cfg, not from a process started for it (~0.2 s on the command's critical path)."""
    if runtime.virtualenv is not None:
        try:
            for line in (runtime.virtualenv / "pyvenv.cfg").read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info") and value.strip():
                    return value.strip()
        except OSError:
            pass
    return inventory(runtime)[0]


def inventory(runtime: PythonRuntime) -> tuple[str, list[Distribution]]:
    """The interpreter's version and its installed distributions."""
    done = subprocess.run([runtime.python, "-I", "-c", _INVENTORY], capture_output=True, text=True, check=False,
                          timeout=120)
    if done.returncode != 0:
        raise OSError(f"{runtime.python} could not list its packages: {done.stderr.strip()[-400:]}")
    found = json.loads(done.stdout)
    return found["version"], [Distribution(n, v, Path(loc)) for n, v, loc in found["distributions"]]


def site_packages(runtime: PythonRuntime) -> list[Path]:
    """The site-packages folders of a virtualenv (none known for a bare interpreter)."""
    if runtime.virtualenv is None:
        return []
    return sorted(runtime.virtualenv.glob("lib/python3*/site-packages"))


def plugin_packages(runtime: PythonRuntime) -> list[PluginPackage]:
    """Resource plugins declared by installed packages (`<package>/pulumi-plugin.json` with `"resource": true`).

    Read from the virtualenv's folders directly: asking the interpreter would cost a process start on every
    command, and a project without provider packages (this one: dynamic providers only) needs none.
    """
    plugins: list[PluginPackage] = []
    for folder in site_packages(runtime):
        for manifest in sorted(folder.glob("*/pulumi-plugin.json")):
            try:
                data = json.loads(manifest.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or not data.get("resource"):
                continue
            name = str(data.get("name") or manifest.parent.name.removeprefix("pulumi_").replace("_", "-"))
            plugins.append(PluginPackage(name, str(data.get("version", "")), str(data.get("server", ""))))
    return plugins
