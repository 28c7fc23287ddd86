"""batch_service's modules import each other without a cycle, and each layer imports only the layers its
package docstring allows. Imports are read from the source with `ast`, so imports inside functions and under
TYPE_CHECKING count too: a cycle hidden there still ties two modules together. Below both sides sits
`batch_api`, the API's facts: it imports neither `batch_service` nor `providers`, and both read it."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "batch_service"

# What each layer may import from the others (besides itself and the top-level leaf modules).
ALLOWED_LAYERS = {
    "api": {"backend", "validation"},
    "backend": {"validation"},
    "validation": set(),
    "scheduler": {"backend", "runner"},
    "runner": {"backend"},
}
TOP_LEVEL_LEAVES = {"batch_service", "batch_service.durations", "batch_service.faults", "batch_service.settings",
                    "batch_service.os_accounts"}


def module_name(path: Path) -> str:
    """The dotted module name of a file of the package."""
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    """Every module of batch_service by dotted name."""
    return {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The batch_service modules a file imports, anywhere in it (`from pkg import module` names the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module in known:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {node.module})
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the batch_service modules it imports."""
    modules = all_modules()
    return {name: imported_modules(path, set(modules)) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name):], name]
        if name in done:
            return None
        visiting.append(name)
        for target in sorted(graph.get(name, ())):
            cycle = visit(target)
            if cycle is not None:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle is not None:
            return cycle
    return None


def layer_of(module: str) -> str | None:
    """The layer package a module belongs to (None for top-level modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED_LAYERS) else None


def test_the_cycle_finder_reports_a_cycle_through_a_type_checking_import(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n")
    assert imported_modules(source, {"pkg.b"}) == {"pkg.b"}
    assert find_cycle({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}) == ["pkg.a", "pkg.b", "pkg.a"]
    assert find_cycle({"pkg.a": {"pkg.b"}, "pkg.b": set()}) is None


def test_batch_service_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 30, "the package's modules were not found"
    assert find_cycle(graph) is None


def test_each_layer_imports_only_the_layers_it_may() -> None:
    wrong = []
    for module, targets in import_graph().items():
        layer = layer_of(module)
        if layer is None:
            continue
        for target in targets:
            target_layer = layer_of(target)
            if target in TOP_LEVEL_LEAVES or target_layer == layer:
                continue
            if target_layer not in ALLOWED_LAYERS[layer]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


# --- batch_api: the API's facts sit below both sides ----------------------------------------------------------

API_DIR = PACKAGE_DIR.parent / "batch_api"
API_MAY_IMPORT = {"batch_api", "isodate"}


def top_level_imports(path: Path) -> set[str]:
    """The top-level package of every absolute import in a file, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_batch_api_imports_neither_side_only_the_standard_library_and_isodate() -> None:
    files = sorted(API_DIR.rglob("*.py"))
    assert len(files) >= 5, "batch_api's modules were not found"
    wrong = {f"{path.name} -> {name}" for path in files for name in top_level_imports(path)
             if name not in API_MAY_IMPORT and name not in sys.stdlib_module_names}
    assert wrong == set()


def test_a_forbidden_import_in_batch_api_would_be_seen(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text("def late() -> None:\n    from providers.schema import check_job\n")
    assert top_level_imports(source) == {"providers"}


def test_both_sides_read_their_tables_from_batch_api() -> None:
    service = top_level_imports(PACKAGE_DIR / "validation" / "core.py") | top_level_imports(
        PACKAGE_DIR / "backend" / "models.py")
    providers_schema = PACKAGE_DIR.parent / "providers" / "schema"
    provider = set().union(*(top_level_imports(path) for path in providers_schema.glob("*.py")))
    assert "batch_api" in service and "batch_api" in provider
