"""The shape of the lumyx package: no import cycles (imports inside functions
count too), imports only downwards (views, then the worker's runtime, then the
features, then what they stand on), no package folder of more than 12 modules,
no module over 450 lines, and every package says in its docstring what it is for.
The benchmark harness (bench/, its scripts side by side) keeps to the 450 lines too.

The import graph is read from the source with ``ast``, never by importing it:
``import lumyx.a.b`` and ``from lumyx.a.b import name`` import ``lumyx.a.b``;
``from lumyx.a import b`` imports the package ``lumyx.a`` and, when ``b`` is a
module, ``lumyx.a.b`` too. Imports under ``if TYPE_CHECKING:`` never run and
do not count. The root package ``lumyx`` (the app factory) runs before any of
its modules whatever they import, so importing a name from it counts only as
importing that module (``from lumyx import money`` imports ``lumyx.money``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lumyx"
BENCH = ROOT / "bench"
MAX_MODULES_PER_FOLDER = 12
MAX_LINES = 450
PLACEHOLDERS = {"", "todo", "tbd", "fixme", "xxx"}
# Layers, top down, by the name under lumyx/ ("" is the root package, the app
# factory). A module imports from its own layer and those below it only.
LAYERS = (
    ("views", {"", "api", "web", "cli", "server"}),
    ("runtime", {"runtime"}),
    ("features", {"gateway", "routing", "billing", "usage", "accounts", "catalog", "agents", "limits", "responses"}),
    (
        "foundations",
        {
            "translate",
            "providers",
            "wire",
            "db",
            "money",
            "errors",
            "config",
            "log_redaction",
            "public_url",
            "observability",
        },
    ),
)


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module under lumyx/, by dotted name (a package by its own name)."""
    return {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every import statement that can run, at any depth."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def imports_of(name: str) -> set[str]:
    """The lumyx modules that module ``name`` imports."""
    known = modules()
    path = known[name]
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:  # relative imports are banned by the lint configuration; resolve them anyway
            base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        if source != "lumyx":
            targets.add(source)
        targets.update(f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known)
    return {target for target in targets if target in known and target != name}


@cache
def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in modules()}


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): sets
    of modules each of which imports, through the others, every other one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each tangle, from its first module in sorted order."""
    return [_cycle_through(graph, component) for component in tangles(graph)]


def _cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    return component


def test_the_cycle_finder_finds_a_cycle_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_read_at_any_depth_but_not_for_type_checking(tmp_path):
    tree = ast.parse(
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from lumyx.gateway import call\n"
        "def f():\n    from lumyx.db import driver\n"
    )
    found = {(getattr(node, "module", None), tuple(alias.name for alias in node.names)) for node in _import_nodes(tree)}
    assert found == {(None, ("os",)), ("typing", ("TYPE_CHECKING",)), ("lumyx.db", ("driver",))}


def test_no_import_cycle_inside_lumyx():
    graph = import_graph()
    found = [
        f"{' -> '.join(_cycle_through(graph, tangle))}  (tangled: {', '.join(tangle)})" for tangle in tangles(graph)
    ]
    assert not found, "import cycles:\n" + "\n".join(found)


def _layer(module: str) -> int | None:
    top = module.split(".")[1] if "." in module else ""
    return next((depth for depth, (_name, tops) in enumerate(LAYERS) if top in tops), None)


def test_every_module_has_a_layer():
    unplaced = sorted({name.split(".")[1] for name in modules() if "." in name and _layer(name) is None})
    assert not unplaced, f"add these to a layer in LAYERS: {unplaced}"


def test_imports_go_downwards_only():
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if _layer(module) is not None and _layer(target) is not None and _layer(target) < _layer(module)
    ]
    assert not upward, "imports against the dependency rule:\n" + "\n".join(upward)


def test_no_package_folder_holds_more_than_12_modules():
    per_folder: dict[Path, int] = defaultdict(int)
    for path in modules().values():
        per_folder[path.parent] += 1
    crowded = {str(folder.relative_to(ROOT)): n for folder, n in per_folder.items() if n > MAX_MODULES_PER_FOLDER}
    assert not crowded, f"folders of more than {MAX_MODULES_PER_FOLDER} modules: {crowded}"


def test_no_module_is_over_450_lines():
    long = {}
    for path in [*modules().values(), *sorted(BENCH.glob("*.py"))]:
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            long[str(path.relative_to(ROOT))] = lines
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_package_says_what_it_is_for():
    silent = []
    for name, path in modules().items():
        if path.name != "__init__.py":
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if docstring.strip().rstrip(".").lower() in PLACEHOLDERS:
            silent.append(name)
    assert not silent, f"packages without a docstring saying what they are for: {silent}"
