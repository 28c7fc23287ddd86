"""`source toolchain/activate` sets what README says: the engine first on PATH, a local backend and home, the
dev passphrase and the offline switches; variables set before sourcing it win."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
ACTIVATE = PROJECT_DIR / "toolchain" / "activate"


def sourced(env: dict[str, str], command: str = "env -0") -> dict[str, str]:
    """The environment after `source toolchain/activate` in bash, from another working directory."""
    done = subprocess.run(["bash", "-c", f'source "$0" && {command}', str(ACTIVATE)], env=env, cwd="/",
                          capture_output=True, check=True, timeout=60)
    pairs = (item.split(b"=", 1) for item in done.stdout.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode() for key, value in pairs}


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")
            and k not in ("PATH",)} | {"PATH": "/usr/bin:/bin"}


def test_activate_sets_the_documented_environment() -> None:
    env = sourced(clean_env())
    assert env["PATH"].split(":")[0] == str(PROJECT_DIR / ".toolchain" / "bin")
    assert env["PULUMI_BACKEND_URL"] == f"file://{PROJECT_DIR}/.state"
    assert env["PULUMI_HOME"] == str(PROJECT_DIR / ".pulumi-home")
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "dev-only-passphrase-not-a-secret"
    for switch in ("PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
                   "PULUMI_DISABLE_REGISTRY_RESOLVE", "PULUMI_IGNORE_AMBIENT_PLUGINS"):
        assert env[switch] == "true", switch


def test_the_pulumi_found_after_activate_is_the_toolchains_engine() -> None:
    done = subprocess.run(["bash", "-c", 'source "$0" && command -v pulumi && pulumi version', str(ACTIVATE)],
                          env=clean_env(), cwd="/", capture_output=True, text=True, check=True, timeout=120)
    where, version = done.stdout.split()
    assert where == str(PROJECT_DIR / ".toolchain" / "bin" / "pulumi")
    assert version == "v3.260.0"


def test_variables_set_before_sourcing_win(tmp_path: Path) -> None:
    own = {"PULUMI_BACKEND_URL": "file:///elsewhere", "PULUMI_HOME": str(tmp_path / "home"),
           "PULUMI_CONFIG_PASSPHRASE": "my-own"}
    env = sourced(clean_env() | own)
    assert {k: env[k] for k in own} == own


def test_sourcing_it_twice_puts_the_engine_on_path_once() -> None:
    env = sourced(clean_env(), 'source "$0" && env -0')
    assert env["PATH"].split(":").count(str(PROJECT_DIR / ".toolchain" / "bin")) == 1
