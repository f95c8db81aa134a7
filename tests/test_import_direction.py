"""Imports run one way between the layers' code and the orchestration: the asset modules import orchestration's
foundation (settings, the warehouse resource, catalog, metadata, incremental, versions, dbt), and the modules
that wire assets up (definitions, sensors, run, report, check_delivery) import the assets; nothing the asset
modules reach imports an asset module back, and there is no import cycle. Read from the source (every
import, also inside functions), so that a lazy import cannot hide a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assets", "orchestration")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of PACKAGES it imports (an imported name resolved to its module)."""
    known = modules()

    def resolve(name: str) -> str | None:
        while name not in known:
            if "." not in name:
                return None
            name = name.rsplit(".", 1)[0]
        return name

    graph = {}
    for module, path in known.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {resolve(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported |= {resolve(f"{node.module}.{alias.name}") or resolve(node.module) for alias in node.names}
        graph[module] = imported - {None, module}
    return graph


def reachable(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += graph[module]
    return seen


def package(module: str) -> str:
    return module.split(".", 1)[0]


def test_what_the_assets_import_from_orchestration_never_imports_an_asset_module():
    graph = import_graph()
    assets = {module for module in graph if package(module) == "assets"}
    foundation = {module for module in reachable(graph, assets) if package(module) == "orchestration"}
    assert {"orchestration.settings", "orchestration.resources"} <= foundation
    back = sorted(f"{module} -> {target}" for module in foundation for target in graph[module]
                  if package(target) == "assets")
    assert back == []


def test_no_import_cycle():
    graph = import_graph()
    cycles = sorted(f"{module} <-> {target}" for module, imported in graph.items() for target in imported
                    if module in reachable(graph, {target}) and module < target)
    assert cycles == []
