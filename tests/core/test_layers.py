"""The import graph runs one way and has no cycles.

Every module under ``core/``, ``hooks/``, ``cli/`` and ``plugins/*/src`` is parsed with ``ast``
(nothing is imported). Every import counts: module level, inside functions (a lazy import is
still a dependency, only a later one) and under ``if TYPE_CHECKING:`` (a type is a dependency
on the module that defines it). ``python tests/core/test_layers.py`` prints the diagram the
README's "Layout" section shows.
"""

from __future__ import annotations

import ast
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The layers, highest first. A module may import modules of its own layer and of the layers
# named after `->`; anything else is a wrong direction. A pattern `x.*` covers the module `x`
# and everything below it, a plain name only that module; the longest pattern that matches
# places a module, and every module must be placed (a new top-level core module has to be
# given a layer here, on purpose).
LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # The public testing kit (``cvatcore.hooks.testing``) drives everything, the command line
    # included; plugins' tests use it. It imports the core lazily, to build apps.
    "kit": (("cvatcore.hooks.testing.*",),
            ("cli", "app", "builtin", "api", "services", "state", "iam", "jobs", "libraries",
             "base", "hooks")),
    "cli": (("cvatcore.cli.*",),
            ("app", "api", "services", "state", "iam", "jobs", "libraries", "base", "hooks")),
    # core/app.py, the Starlette factory: wires the API to the state, starts the workers.
    "app": (("cvatcore.core.app",),
            ("api", "services", "state", "iam", "jobs", "libraries", "base", "hooks")),
    # Built-in plugins are loaded by name like installed ones (core/plugins.py); nothing
    # below imports them.
    "builtin": (("cvatcore.core.builtin.*",),
                ("api", "services", "state", "iam", "jobs", "libraries", "base", "hooks")),
    # HTTP: parsing, authentication, serializers, OpenAPI.
    "api": (("cvatcore.core.api.*",),
            ("services", "state", "iam", "jobs", "libraries", "base", "hooks")),
    # The rules, and the background-job handlers next to the services they run.
    "services": (("cvatcore.core.services.*",),
                 ("state", "iam", "jobs", "libraries", "base", "hooks")),
    # core/state.py, what one application instance holds (settings, plugins, database, bus,
    # job kinds): below the services, which receive it.
    "state": (("cvatcore.core.state",), ("jobs", "base", "hooks")),
    # Permission tables and the engine that reads them.
    "iam": (("cvatcore.core.iam.*",), ("base", "hooks")),
    # The job mechanism only (queue, leases, workers); it never imports a handler.
    "jobs": (("cvatcore.core.jobs.*",), ("base", "hooks")),
    # Libraries know no services, permissions, HTTP or jobs: callers hand them providers.
    # core/mount.py (FUSE) is one: it mounts whatever provider it is given.
    "libraries": (("cvatcore.core.media.*", "cvatcore.core.manifest.*", "cvatcore.core.mount",
                    "cvatcore.core.datasets.*"),
                  ("base", "hooks")),
    # Plain components every layer may use. core/plugins.py is the plugin manager and its
    # registries (it loads the built-ins by name, importing none), registration.py the one
    # call of every register_* hook and its results, bus.py the event bus,
    # secrets.py and outbound.py the secrets and outbound-address guards, cloud_types.py
    # the cloud-storage types plugins offer, logs.py the log format and request-id context.
    "base": (("cvatcore.core", "cvatcore.core.errors", "cvatcore.core.config",
              "cvatcore.core.models.*", "cvatcore.core.db.*", "cvatcore.core.plugins",
              "cvatcore.core.bus", "cvatcore.core.secrets", "cvatcore.core.outbound",
              "cvatcore.core.cloud_types", "cvatcore.core.registration",
              "cvatcore.core.plugin_settings", "cvatcore.core.logs"),
             ("hooks",)),
    # The public plugin API imports nothing of the core or the command line.
    "hooks": (("cvatcore.hooks.*",), ()),
}
# Plugins (their src/, not their tests) reach cvatcore through these only.
PLUGIN_MAY_IMPORT = ("hooks", "kit")

# Known wrong directions, each with the change that removes it. The test fails when one is no
# longer needed, so the list only shrinks. (importer pattern, imported module, why)
KNOWN: tuple[tuple[str, str, str], ...] = (
)


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    where: str  # path:line
    #: "module", "function" (lazy), "typing" (TYPE_CHECKING), or "package": the __init__ of a
    #: package the imported module is in, which runs first (cycles count it, layers do not).
    kind: str


@dataclass
class Graph:
    modules: dict[str, Path]
    plugin_modules: set[str]
    imports: list[Import]


def _package_dirs() -> dict[str, str]:
    """Folder -> import name, from pyproject's ``package-dir`` (core -> cvatcore.core)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {folder: name for name, folder in pyproject["tool"]["setuptools"]["package-dir"].items()}


def _module_files() -> tuple[dict[str, Path], set[str]]:
    roots = [(REPO / folder, name) for folder, name in _package_dirs().items()]
    plugins = set()
    for src in sorted(REPO.glob("plugins/*/src")):
        for package in sorted(p for p in src.iterdir() if (p / "__init__.py").exists()):
            roots.append((package, package.name))
    modules: dict[str, Path] = {}
    for root, name in roots:
        for path in sorted(root.rglob("*.py")):
            parts = [name, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            module = ".".join(parts)
            modules[module] = path
            if not name.startswith("cvatcore."):
                plugins.add(module)
    return modules, plugins


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.AST, str]]:
    """Every import statement below ``node`` with where it sits."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, kind
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), "typing")
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), kind)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, "typing" if kind == "typing" else "function")
        else:
            yield from _walk(child, kind)


def _known(modules: dict[str, Path], name: str) -> str | None:
    """The module an imported name lives in (``a.b.func`` -> ``a.b``), if it is ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: dict[str, Path]) -> Iterator[tuple[str, bool]]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        # `from pkg import name`: the submodule pkg.name if there is one, else pkg itself.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                 for alias in node.names]
    for name in names:
        target = _known(modules, name)
        if target is None or target == module:
            continue
        yield target, False
        # Importing a.b.c runs a/__init__ and a/b/__init__ first: that can close a cycle,
        # though the importer chose only a.b.c (from inside a package, Python is already
        # initialising it).
        parent = target.rpartition(".")[0]
        while parent in modules and not module.startswith(parent + "."):
            yield parent, True
            parent = parent.rpartition(".")[0]


def build_graph() -> Graph:
    modules, plugin_modules = _module_files()
    imports: set[Import] = set()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, kind in _walk(tree, "module"):
            for target, implicit in _targets(node, module, is_package, modules):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                imports.add(Import(module, target, where, "package" if implicit else kind))
    # Sorted so that a pair's first import is a written one (a package edge only if alone).
    order = sorted(imports, key=lambda i: (i.source, i.target, i.kind == "package", i.where))
    return Graph(modules, plugin_modules, order)


def _matches(pattern: str, module: str) -> bool:
    if pattern.endswith(".*"):
        stem = pattern[:-2]
        return module == stem or module.startswith(stem + ".")
    return module == pattern


def layer_of(module: str) -> str | None:
    best, layer = "", None
    for name, (patterns, _) in LAYERS.items():
        for pattern in patterns:
            if _matches(pattern, module) and len(pattern) > len(best):
                best, layer = pattern, name
    return layer


def _is_known(imp: Import) -> bool:
    return any(_matches(src, imp.source) and imp.target == dst for src, dst, _ in KNOWN)


def _edges(graph: Graph) -> dict[str, dict[str, Import]]:
    """Module -> imported module -> one import statement that makes the edge (known wrong
    directions left out: they are listed debts, not part of the design)."""
    edges: dict[str, dict[str, Import]] = defaultdict(dict)
    for imp in graph.imports:
        if not _is_known(imp):
            edges[imp.source].setdefault(imp.target, imp)
    return edges


def find_cycles(graph: Graph) -> list[tuple[list[str], list[Import]]]:
    """Each group of modules that import each other (a strongly connected component, found
    with Tarjan's algorithm) with one shortest cycle through it, as the imports that make it."""
    edges = _edges(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    cycles = []
    for component in components:
        members, start = set(component), component[0]
        # The shortest way back to the start, inside the component (breadth first).
        came: dict[str, Import] = {}
        queue, seen = [start], {start}
        while queue and start not in came:
            node = queue.pop(0)
            for nxt, imp in sorted(edges.get(node, {}).items()):
                if nxt not in members:
                    continue
                if nxt == start:
                    came[start] = imp
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    came[nxt] = imp
                    queue.append(nxt)
        path, node = [], start
        while True:
            imp = came[node]
            path.append(imp)
            node = imp.source
            if node == start:
                break
        cycles.append((component, path[::-1]))
    return cycles


def wrong_directions(graph: Graph) -> list[tuple[Import, str, str]]:
    """(import, importer's layer, imported layer) for every import the layers forbid."""
    found = []
    for imp in graph.imports:
        if _is_known(imp) or imp.kind == "package":
            continue
        target_layer = layer_of(imp.target)
        if imp.source in graph.plugin_modules:
            if imp.target in graph.plugin_modules:
                if imp.target.split(".")[0] != imp.source.split(".")[0]:
                    found.append((imp, "plugin", "another plugin"))
            elif target_layer not in PLUGIN_MAY_IMPORT:
                found.append((imp, "plugin", target_layer or "?"))
            continue
        source_layer = layer_of(imp.source)
        if imp.target in graph.plugin_modules:
            found.append((imp, source_layer or "?", "a plugin"))
        elif source_layer != target_layer and target_layer not in LAYERS[source_layer][1]:
            found.append((imp, source_layer, target_layer))
    return found


def diagram(graph: Graph) -> str:
    """The layers, highest first, each with how many module-to-module imports it makes into
    each layer below it."""
    edges = _edges(graph)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    sizes: Counter[str] = Counter()
    for module in graph.modules:
        sizes["plugins" if module in graph.plugin_modules else layer_of(module)] += 1
    for source, targets in edges.items():
        src = "plugins" if source in graph.plugin_modules else layer_of(source)
        for target, imp in targets.items():
            if imp.kind == "package":
                continue
            dst = "plugins" if target in graph.plugin_modules else layer_of(target)
            if src != dst:
                counts[src][dst] += 1
    order = ["plugins", *LAYERS]
    lines = ["layer      modules  imports into (module pairs)"]
    for layer in order:
        into = " ".join(f"{dst} {counts[layer][dst]}" for dst in order if counts[layer][dst])
        lines.append(f"{layer:<10} {sizes[layer]:>7}  {'-> ' + into if into else ''}".rstrip())
    known: Counter[str] = Counter()
    for source, target in {(i.source, i.target) for i in graph.imports
                           if _is_known(i) and i.kind != "package"}:
        src = "plugins" if source in graph.plugin_modules else layer_of(source)
        known[f"{src} -> {layer_of(target)}"] += 1
    if known:
        listed = ", ".join(f"{pair} {n}" for pair, n in sorted(known.items()))
        lines.append(f"listed exceptions (KNOWN): {listed}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph()


def test_every_module_has_a_layer(graph):
    unplaced = [m for m in graph.modules if m not in graph.plugin_modules and not layer_of(m)]
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"


def test_no_import_cycles(graph):
    cycles = find_cycles(graph)
    report = "\n\n".join(
        " -> ".join([path[0].source, *(imp.target for imp in path)])
        + f"\n  ({len(group)} modules in this tangle: {', '.join(group)})\n"
        + "\n".join(f"    {imp.where}: {imp.source} imports {imp.target} ({imp.kind} level)"
                    for imp in path)
        for group, path in cycles
    )
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_imports_run_down_the_layers(graph):
    wrong = wrong_directions(graph)
    report = "\n".join(f"  {imp.where}: {imp.source} ({src}) imports {imp.target} ({dst}), "
                       f"{imp.kind} level" for imp, src, dst in wrong)
    assert not wrong, f"{len(wrong)} import(s) against the layers:\n{report}"


def test_known_wrong_directions_are_still_there(graph):
    """A listed exception nobody needs any more is deleted, so the list only shrinks."""
    unused = [(src, dst) for src, dst, _ in KNOWN
              if not any(_matches(src, i.source) and i.target == dst for i in graph.imports)]
    assert not unused, f"remove these from KNOWN, nothing imports that way now: {unused}"


def test_the_graph_sees_every_kind_of_import(graph):
    """The parser itself: lazy, TYPE_CHECKING and relative imports all make edges (a graph
    that missed them would pass while cycles hide in function bodies)."""
    kinds = {i.kind for i in graph.imports}
    assert kinds == {"module", "function", "typing", "package"}
    by_pair = {(i.source, i.target): i for i in graph.imports}
    # cli/main.py imports the mount command inside build_cli().
    assert by_pair[("cvatcore.cli.main", "cvatcore.cli.mount")].kind == "function"
    assert "cvatcore.core.models" in {t for (s, t) in by_pair if s == "cvatcore.core.jobs.queue"}


def test_relative_and_from_imports_resolve_to_modules():
    modules = {m: Path(m) for m in ("cvatcore.core.media", "cvatcore.core.media.store",
                                    "cvatcore.core.media.access", "cvatcore.core.models")}
    code = ("from . import store\n"
            "from .. import models\n"
            "from ..models import Frame\n"
            "from cvatcore.core.media.store import walk\n")
    found = [target for node in ast.parse(code).body
             for target, implicit in _targets(node, "cvatcore.core.media.access", False, modules)
             if not implicit]
    assert found == ["cvatcore.core.media.store", "cvatcore.core.models",
                     "cvatcore.core.models", "cvatcore.core.media.store"]


def test_the_rules_catch_a_cycle_and_a_wrong_direction():
    fake = Graph(
        modules={m: Path(m) for m in ("cvatcore.core.media.a", "cvatcore.core.services.b",
                                      "cvatcore_x")},
        plugin_modules={"cvatcore_x"},
        imports=[Import("cvatcore.core.media.a", "cvatcore.core.services.b", "a.py:1", "function"),
                 Import("cvatcore.core.services.b", "cvatcore.core.media.a", "b.py:1", "module"),
                 Import("cvatcore_x", "cvatcore.core.services.b", "x.py:1", "module")],
    )
    [(group, cycle)] = find_cycles(fake)
    assert group == ["cvatcore.core.media.a", "cvatcore.core.services.b"]
    assert {i.where for i in cycle} == {"a.py:1", "b.py:1"}
    wrong = {(imp.where, src, dst) for imp, src, dst in wrong_directions(fake)}
    assert wrong == {("a.py:1", "libraries", "services"), ("x.py:1", "plugin", "services")}


def test_print_the_diagram(graph):
    """``pytest tests/core/test_layers.py -s`` shows it (the README's "Layout" has a copy)."""
    text = diagram(graph)
    print("\n" + text)
    assert text.splitlines()[1].startswith("plugins")


if __name__ == "__main__":
    print(diagram(build_graph()))


def test_services_and_libraries_know_no_http():
    """Services take a ``Caller`` and plain values; only ``core/api`` (and the app) touch
    Starlette's requests and responses."""
    found = []
    for folder in ("services", "media", "manifest", "jobs", "iam", "models", "db"):
        for path in sorted((REPO / "core" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                found += [f"{path.relative_to(REPO)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in ("starlette", "uvicorn", "httpx", "httpx2")]
    assert not found, "HTTP imported below the API layer:\n" + "\n".join(found)
