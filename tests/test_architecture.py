"""The shape of the code base, checked: what docs/ARCHITECTURE.md promises.

These read the source (``ast``), run nothing, and fail with the place to mend.
The import graph counts every import of a narrator module wherever it sits (at
the top, in a function, under ``if TYPE_CHECKING``): a reader sees the layering
in the imports, so the layering is what the imports say.
"""

from __future__ import annotations

import ast
import functools
import re
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions

from .conftest import REPO

PACKAGE = REPO / "narrator"
MAX_FUNCTION_LINES = 80
MAX_DEPTH = 8
MAX_LAZY_IMPORTS = 5

# The layers, bottom to top (docs/ARCHITECTURE.md draws them). A module imports
# from layers below its own and from its own layer, never from one above. The
# longest matching prefix names a module's layer; a module no prefix names fails
# test_every_module_has_a_layer until it is given one here.
LAYERS: dict[str, int] = {
    "narrator": 0,  # the package itself: __version__
    "narrator.errors": 0,
    "narrator.model": 0,
    "narrator.environment": 0,
    "narrator.atomic": 0,
    "narrator.locks": 0,
    "narrator.running": 0,
    "narrator.heap": 0,
    "narrator.config": 0,
    "narrator.cache": 0,
    "narrator.ffmpeg": 0,
    "narrator.text": 1,
    "narrator.speech": 2,
    "narrator.container": 3,
    "narrator.audio": 4,
    "narrator.engines": 5,
    "narrator.publish": 6,
    "narrator.check": 6,
    "narrator.build": 7,
    "narrator.cli": 8,
    "narrator.__main__": 9,
}


@functools.cache
def sources() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found[str(path.relative_to(REPO))] = ast.parse(path.read_text("utf-8"))
    return found


@functools.cache
def module_names() -> frozenset[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return frozenset(names)


def imported_modules(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_function_is_longer_than_80_lines() -> None:
    long = [
        f"{path}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path, tree in sources().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_only_ffmpeg_py_starts_processes() -> None:
    users = [
        path
        for path, tree in sources().items()
        if "subprocess" in imported_modules(tree)
    ]
    assert users == ["narrator/ffmpeg.py"]


def test_no_type_ignore() -> None:
    hits = [
        f"{path}:{n}"
        for path in sources()
        for n, line in enumerate((REPO / path).read_text("utf-8").splitlines(), 1)
        if re.search(r"#\s*type:\s*ignore", line)
    ]
    assert hits == []


def test_no_module_uses_another_modules_private_names() -> None:
    modules = module_names()
    hits = []
    for path, tree in sources().items():
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "") in modules:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        hits.append(f"{path}:{node.lineno} {node.module}.{alias.name}")
                    full = f"{node.module}.{alias.name}"
                    if full in modules:
                        aliases[alias.asname or alias.name] = full
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        aliases[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                hits.append(
                    f"{path}:{node.lineno} {aliases[node.value.id]}.{node.attr}"
                )
    assert hits == []


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_runtime_dependency_is_imported() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {
        _normalized(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0])
        for spec in project["dependencies"]
    }
    by_module = packages_distributions()
    used = {
        _normalized(dist)
        for tree in sources().values()
        for module in imported_modules(tree)
        for dist in by_module.get(module.split(".")[0], [])
    }
    assert sorted(declared - used) == []


# -- the import graph -----------------------------------------------------------


def _module_of(path_text: str) -> str:
    parts = tuple(path_text.removesuffix(".py").split("/"))
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The narrator modules an import statement loads (a name imported from a
    package that is itself a module counts as that module)."""
    modules = module_names()
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if not (PACKAGE / "/".join(package[1:]) / "__init__.py").is_file():
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        names = [
            f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
            for a in node.names
        ]
    found = set()
    for name in names:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in modules and name != module:
            found.add(name)
    return found


def _function_imports(tree: ast.Module) -> set[int]:
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }


def _imports() -> Iterator[tuple[str, int, set[str], bool]]:
    """(module, line, narrator modules imported, inside a function) per statement."""
    for path, tree in sources().items():
        module = _module_of(path)
        inside = _function_imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _targets(module, node)
                if targets:
                    yield module, node.lineno, targets, id(node) in inside


@functools.cache
def import_graph() -> dict[str, frozenset[str]]:
    graph: dict[str, set[str]] = {name: set() for name in module_names()}
    for module, _, targets, _ in _imports():
        graph[module] |= targets
    return {name: frozenset(found) for name, found in graph.items()}


def layer_of(module: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def test_every_module_has_a_layer() -> None:
    assert sorted(m for m in module_names() if layer_of(m) is None) == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} "
        f"(layer {layer_of(target)})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if (layer_of(target) or 0) > (layer_of(module) or 0)
    ]
    assert upward == []


def _cycle_through(graph: dict[str, frozenset[str]], start: str) -> list[str]:
    """A shortest import cycle from ``start`` back to itself, or []."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for nxt in sorted(graph[current]):
            if nxt == start:
                return [*paths[current], start]
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                queue.append(nxt)
    return []


def test_no_import_cycle() -> None:
    graph = import_graph()
    cycles = {
        " -> ".join(cycle)
        for module in sorted(graph)
        if (cycle := _cycle_through(graph, module)) and cycle[0] == min(cycle[:-1])
    }
    assert sorted(cycles) == []


def longest_chain(graph: dict[str, frozenset[str]]) -> list[str]:
    """The longest chain of imports, as modules (the graph has no cycle)."""

    @functools.cache
    def chain(module: str) -> tuple[str, ...]:
        if module in seen:  # a cycle: test_no_import_cycle names it
            return ()
        seen.add(module)
        below = max((chain(t) for t in graph[module]), key=len, default=())
        return (module, *below)

    seen: set[str] = set()
    return list(max((chain(m) for m in sorted(graph)), key=len))


def test_the_import_graph_is_at_most_8_modules_deep() -> None:
    chain = longest_chain(import_graph())
    assert len(chain) <= MAX_DEPTH, " -> ".join(chain)


def test_imports_inside_functions_are_few_and_say_why() -> None:
    """A narrator module imported inside a function hides a layer from the reader:
    allowed only for a measured start-up cost, said in the comment directly
    above it (a block starting ``# Lazy: ...``)."""
    lazy = []
    for module, line, targets, inside in _imports():
        if not inside:
            continue
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        if not path.is_file():
            path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
        lines = path.read_text("utf-8").splitlines()
        start = line - 2  # the comment block directly above the import
        while start > 0 and lines[start - 1].strip().startswith("#"):
            start -= 1
        above = lines[start].strip() if start < line - 1 else ""
        lazy.append((f"{module}:{line} {sorted(targets)}", above))
    unexplained = [where for where, above in lazy if not above.startswith("# Lazy:")]
    assert unexplained == []
    assert len(lazy) <= MAX_LAZY_IMPORTS, [where for where, _ in lazy]


def test_the_architecture_test_sees_every_kind_of_import() -> None:
    """The graph is only as good as the parser: a relative import, an import in a
    function and a package imported by name all count."""
    tree = ast.parse(
        "from . import cache\n"
        "from .speech import lexicon\n"
        "def f():\n"
        "    import narrator.errors\n"
        "    from narrator.text import sections\n"
    )
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    inside = _function_imports(tree)
    found = [(_targets("narrator.config", n), id(n) in inside) for n in nodes]
    assert found[0] == ({"narrator.cache"}, False)
    assert found[1] == ({"narrator.speech.lexicon"}, False)
    assert found[2] == ({"narrator.errors"}, True)
    assert found[3][1] is True
