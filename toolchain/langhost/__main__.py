"""`pulumi-language-python [flags] ENGINE_ADDRESS`, run by the toolchain's wrapper with the project's
virtualenv as `python langhost/__main__.py EXEC_SCRIPT [flags] ENGINE_ADDRESS`. The engine passes its own flags
(`-tracing`, `-root`, …) before the address; only the address is used."""
from __future__ import annotations

import os
import sys
from pathlib import Path

# The engine is this process's parent: read that first, before the slow imports below. An engine killed
# meanwhile leaves this process to init, and a later os.getppid() would name init instead.
ENGINE_PID = os.getppid()

# Import `langhost` as a package from the toolchain folder, and nothing from this folder by bare name.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from langhost.server import serve

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: pulumi-language-python [flags] ENGINE_ADDRESS")
    sys.exit(serve(sys.argv[-1], Path(sys.argv[1]), ENGINE_PID))
