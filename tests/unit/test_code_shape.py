"""Code shape (STYLE): no function in services/ over 60 lines, no module in libs/, services/,
scripts/ or tests/ over 500 lines.

Static: the sources are parsed with :mod:`ast`, nothing is imported. A function's length runs
from its ``def`` line to its last line (docstring included, decorators not); nested functions
count inside their parent and on their own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 500
FUNCTION_ROOTS = ("services",)
MODULE_ROOTS = ("libs", "services", "scripts", "tests")

ALLOWED_FUNCTIONS: dict[str, str] = {}
"""``path::qualified name`` of functions allowed over the limit, with why (services/executor
only; empty since the executor was split)."""

ALLOWED_MODULES: dict[str, str] = {}
"""Paths of modules allowed over the limit, with why (services/executor only, as above)."""

ALLOWED_ONLY_UNDER = "services/executor/"


def _sources(roots: tuple[str, ...]) -> Iterator[Path]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if ".venv" in parts or "__pycache__" in parts or "node_modules" in parts:
                continue
            yield path


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """``(qualified name, length in lines)`` of every function in `tree`, nested ones too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            assert node.end_lineno is not None
            yield name, node.end_lineno - node.lineno + 1
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _long_functions() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in _sources(FUNCTION_ROOTS):
        tree = ast.parse(path.read_text(), filename=str(path))
        for name, length in _functions(tree):
            if length > MAX_FUNCTION_LINES:
                found[f"{_relative(path)}::{name}"] = length
    return found


def _long_modules() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in _sources(MODULE_ROOTS):
        length = len(path.read_text().splitlines())
        if length > MAX_MODULE_LINES:
            found[_relative(path)] = length
    return found


def test_allow_lists_name_only_services_executor() -> None:
    for entry in (*ALLOWED_FUNCTIONS, *ALLOWED_MODULES):
        assert entry.startswith(ALLOWED_ONLY_UNDER), f"{entry} may not be allow-listed"


def test_no_function_in_services_is_over_60_lines() -> None:
    found = _long_functions()
    over = {name: n for name, n in found.items() if name not in ALLOWED_FUNCTIONS}
    assert not over, "split these functions into named steps: " + ", ".join(
        f"{name} ({n} lines)" for name, n in sorted(over.items())
    )
    stale = sorted(set(ALLOWED_FUNCTIONS) - set(found))
    assert not stale, f"now within {MAX_FUNCTION_LINES} lines, remove from ALLOWED_FUNCTIONS: " + (
        ", ".join(stale)
    )


def test_no_module_is_over_500_lines() -> None:
    found = _long_modules()
    over = {path: n for path, n in found.items() if path not in ALLOWED_MODULES}
    assert not over, "split these modules: " + ", ".join(
        f"{path} ({n} lines)" for path, n in sorted(over.items())
    )
    stale = sorted(set(ALLOWED_MODULES) - set(found))
    assert not stale, f"now within {MAX_MODULE_LINES} lines, remove from ALLOWED_MODULES: " + (
        ", ".join(stale)
    )


def test_the_measure_counts_nested_and_method_lines() -> None:
    tree = ast.parse(
        "class A:\n    def m(self):\n        def inner():\n            pass\n        return 1\n"
    )
    assert dict(_functions(tree)) == {"A.m": 4, "A.m.inner": 2}
