"""No module of `providers` imports itself back through others, counting every import the code holds: at the
top, inside functions and under TYPE_CHECKING. A cycle makes the import order matter and hides which layer
builds on which; one deferred into a function is still a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "providers"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name `from … import` refers to (relative imports counted from `module`'s package)."""
    if node.level == 0:
        return node.module or ""
    is_package = _modules()[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules `module` imports, wherever in the file the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            # `from providers import job` imports the module providers.job; a plain name comes from `target`.
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(target)
    return {name for name in found if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as the list of modules along it (first repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        cycle = _walk(graph, start, [], {}, done)
        if cycle is not None:
            return cycle
    return None


def _walk(graph: dict[str, set[str]], node: str, path: list[str], on_path: dict[str, int],
          done: set[str]) -> list[str] | None:
    if node in done:
        return None
    if node in on_path:
        return path[on_path[node]:] + [node]
    on_path[node] = len(path)
    path.append(node)
    for nxt in sorted(graph.get(node, ())):
        cycle = _walk(graph, nxt, path, on_path, done)
        if cycle is not None:
            return cycle
    path.pop()
    del on_path[node]
    done.add(node)
    return None


def test_the_providers_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "providers.diff" in graph["providers.job"]  # the graph sees real imports
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_layers_import_downwards_only() -> None:
    graph = import_graph()
    for name in ("providers.schema", "providers.client"):
        inner = {m for m in graph if m == name or m.startswith(f"{name}.")}
        outside = {dep for m in inner for dep in graph[m]} - inner
        assert outside == set(), f"{name} imports {sorted(outside)}"


def test_the_finder_reports_a_cycle_deferred_into_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_and_type_checking_imports_are_edges(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from providers.job import BatchJob\n"
        "def late() -> None:\n    from providers import diff\n"
    )
    module = tmp_path / "sample.py"
    module.write_text(source)
    edges = _imports("providers.sample", module, {"providers.job", "providers.diff", "providers"})
    assert edges == {"providers.job", "providers.diff"}


def test_only_resources_and_the_public_package_import_a_resource_module() -> None:
    resources = {f"{PACKAGE}.{name}" for name in ("job", "task", "collection", "schedule")}
    graph = import_graph()
    importers = {module for module, deps in graph.items() if deps & resources}
    assert importers <= resources | {PACKAGE}, sorted(importers - resources - {PACKAGE})
