"""The shape of the code base, checked: what docs/ARCHITECTURE.md promises.

These read the source (``ast``), run nothing, and fail with the place to mend.
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions

from .conftest import REPO

PACKAGE = REPO / "narrator"
MAX_FUNCTION_LINES = 80


def sources() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found[str(path.relative_to(REPO))] = ast.parse(path.read_text("utf-8"))
    return found


def module_names() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


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
