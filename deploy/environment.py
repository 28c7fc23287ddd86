"""Where the engine, state and venv live, and the environment that keeps every Pulumi command offline."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
TOOLCHAIN_DIR = PROJECT_DIR / ".toolchain"
ENGINE = TOOLCHAIN_DIR / "bin" / "pulumi"
STATE_DIR = PROJECT_DIR / ".state"
PULUMI_HOME = PROJECT_DIR / ".pulumi-home"
DATA_DIR = PROJECT_DIR / ".data"

# The dev stack's secrets (only the well-known local-service key) are encrypted with this passphrase; it
# protects nothing real and is committed on purpose. Other stacks must bring PULUMI_CONFIG_PASSPHRASE.
DEV_PASSPHRASE = "dev-only-passphrase-not-a-secret"

# Each of these stops one attempt to reach the internet (pulumi-dynamic.md §10.5).
OFFLINE_SWITCHES = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_DISABLE_REGISTRY_RESOLVE": "true",
    "PULUMI_SKIP_CONFIRMATIONS": "true",
    "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
}


def engine_env(stack: str, state_dir: Path = STATE_DIR, pulumi_home: Path = PULUMI_HOME) -> dict[str, str]:
    """Environment for every engine command: local file backend, offline switches, our venv and engine first."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pulumi_home.mkdir(parents=True, exist_ok=True)
    disable_automatic_engine_log(pulumi_home)
    env = {
        **OFFLINE_SWITCHES,
        "PULUMI_BACKEND_URL": state_dir.resolve().as_uri(),
        "PULUMI_HOME": str(pulumi_home),
        # The dynamic-provider shim runs `$PULUMI_RUNTIME_VIRTUALENV/bin/python -m pulumi.dynamic`; when no
        # virtualenv option reaches it, PULUMI_PYTHON_CMD keeps it on this interpreter (§3.5).
        "PULUMI_PYTHON_CMD": sys.executable,
        "PATH": os.pathsep.join([str(ENGINE.parent), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        # The engine asks the provider for each resource's Diff off its step-generator loop instead of inside it,
        # so the next resource's Check does not wait for this one's (live read included). Measured in
        # benchmarks/bench_collections.py (b); a user's own setting wins.
        "PULUMI_PARALLEL_DIFF": os.environ.get("PULUMI_PARALLEL_DIFF", "true"),
    }
    own_passphrase = "PULUMI_CONFIG_PASSPHRASE" in os.environ or "PULUMI_CONFIG_PASSPHRASE_FILE" in os.environ
    if not own_passphrase and (stack == "dev" or stack.startswith("test-")):
        env["PULUMI_CONFIG_PASSPHRASE"] = DEV_PASSPHRASE
    return env


def disable_automatic_engine_log(pulumi_home: Path) -> None:
    """Keep the engine from writing its automatic debug log to `$PULUMI_HOME/logs`.

    Since 3.2xx every command records all verbose engine logs, property values included and unredacted (the
    file is only encrypted with the stack's secrets manager: for dev and test stacks, a committed passphrase),
    gzipped and encrypted on the fly: a third of the engine's CPU in a 200-resource preview, about 80 MB per day
    of tests here. The engine has no switch for it; it skips the log when it cannot create that directory, so
    a plain file takes its place. `pulumi --logtostderr -v=N` still works for debugging.
    """
    logs = pulumi_home / "logs"
    if logs.is_dir():
        shutil.rmtree(logs, ignore_errors=True)
    try:
        logs.touch(exist_ok=True)
    except OSError:
        pass  # another process recreated the directory meanwhile: only the speed-up is lost


def require_engine() -> Path:
    """The engine binary, or a clear error telling how to build it."""
    if not ENGINE.exists():
        raise SystemExit(f"the Pulumi engine is not built: {ENGINE} is missing; run `make toolchain`")
    return ENGINE
