"""Dockyard's own modules import each other without circles, and only at module level in
core, store and engine (docs/architecture.md, "The layers"): a circle held together by an
import inside a function hides which module depends on which."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

import dockyard

PACKAGE = Path(dockyard.__file__).parent
# The imports inside a function that are allowed, and why: team mode's PostgreSQL client
# takes half a second to import, which only team mode may pay (engine/ledger_source.py),
# and there only a command that writes (engine/team.py: psycopg's store/pg.py);
# Docker's SDK takes 0.1 s, which `dockyard status` and `dockyard run` on a local daemon
# do not pay: they speak to its socket themselves, and need the SDK only for another
# kind of endpoint, the rare write recovery may do, the legacy builder or a test command
# (engine/pipeline/sdkclient.py); a run loads the release service, whose deployers use
# the SDK, only when there is an environment to deploy to.
LAZY_ALLOWED = {
    ("engine/ledger_source.py", "dockyard.engine.team"),
    ("engine/team.py", "dockyard.store.pg"),
    ("engine/endpoints/reading.py", "dockyard.engine.endpoints.sdk_reader"),
    ("engine/release/recovery_settle.py", "dockyard.engine.release.container_swap"),
    ("engine/pipeline/sdkclient.py", "dockyard.engine.endpoints.client"),
    ("engine/pipeline/start.py", "dockyard.engine.release.service"),
}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def imported(module: str) -> list[str]:
        return sorted(
            m for m in graph.find_modules_directly_imported_by(module) if m in graph.modules
        )

    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(imported(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imported(child))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles() -> None:
    graph = grimp.build_graph("dockyard")
    assert len(graph.modules) > 100
    assert _cycles(graph) == []


def test_cycle_finder_sees_a_circle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c", "d"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    graph.add_import(importer="c", imported="d")
    assert _cycles(graph) == [["a", "b", "c"]]


def _imports_inside_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [n for n in names if n == "dockyard" or n.startswith("dockyard.")]
    return found


def test_core_store_and_engine_import_their_own_modules_at_module_level() -> None:
    inside = [
        (path.relative_to(PACKAGE).as_posix(), name)
        for layer in ("core", "store", "engine")
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in _imports_inside_functions(path)
    ]
    assert set(inside) <= LAZY_ALLOWED, inside
