"""The SDK's generated gRPC stubs, loaded without the SDK itself.

`pulumi.runtime.proto.language_pb2_grpc` lives inside the `pulumi` package, whose `__init__` imports the whole
SDK runtime (about half of this host's start-up). The stubs need only protobuf, grpc and two sibling modules, so
the three enclosing packages are registered as bare namespaces pointing at their folders: importing a stub then
runs the stub modules and nothing else. The language host runs in its own process, where no program ever
imports `pulumi`, so the bare packages cannot shadow the real ones for anybody.
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


def load() -> tuple[Any, Any, Any]:
    """The `language_pb2`, `language_pb2_grpc` and `plugin_pb2` modules of the installed SDK."""
    sdk = _sdk_dir()
    _bare_package("pulumi", sdk)
    _bare_package("pulumi.runtime", sdk / "runtime")
    _bare_package("pulumi.runtime.proto", sdk / "runtime" / "proto")
    _bare_package("pulumi.runtime.proto.codegen", sdk / "runtime" / "proto" / "codegen")
    from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

    return language_pb2, language_pb2_grpc, plugin_pb2
