"""The SDK's generated gRPC stubs, loaded without the SDK itself.

`pulumi.runtime.proto.language_pb2_grpc` lives inside the `pulumi` package, whose `__init__` imports the whole
SDK runtime (about half of this host's start-up). The stubs need only protobuf, grpc and two sibling modules, so
the enclosing packages are registered as bare namespaces pointing at their folders while the stubs load:
importing a stub then runs the stub modules and nothing else. The bare packages are taken away again, so a
later `import pulumi` in the same process (a test, say) gets the real package, which reuses the loaded stubs.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any


def _sdk_dir() -> Path:
    spec = importlib.util.find_spec("pulumi")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pulumi-language-python: the Pulumi SDK is not installed in "
                         f"{sys.prefix} (pip install pulumi)")
    return Path(next(iter(spec.submodule_search_locations)))


def _bare_package(name: str, folder: Path) -> None:
    if name in sys.modules:
        return
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    module.__package__ = name
    sys.modules[name] = module


PACKAGES = ("pulumi", "pulumi.runtime", "pulumi.runtime.proto", "pulumi.runtime.proto.codegen")


def load() -> tuple[Any, Any, Any]:
    """The `language_pb2`, `language_pb2_grpc` and `plugin_pb2` modules of the installed SDK."""
    bare = "pulumi" not in sys.modules
    if bare:
        sdk = _sdk_dir()
        for name in PACKAGES:
            _bare_package(name, sdk.joinpath(*name.split(".")[1:]))
    try:
        from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2
    finally:
        if bare:
            for name in PACKAGES:
                sys.modules.pop(name, None)
    return language_pb2, language_pb2_grpc, plugin_pb2
