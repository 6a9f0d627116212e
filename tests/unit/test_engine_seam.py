"""Every engine decision goes through the engine registry (``lifeboat.engines.registry``).

A static scan of the Python sources of ``libs/``, ``services/`` and ``scripts/``: outside the
engine modules and the registry, nothing may compare with, match on, key by or list the engine
names. Adding a third engine then means one new module plus one registry line, not a hunt for
``== "postgresql"`` across three packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_NAMES = frozenset({"postgresql", "mysql", "mariadb"})
SCANNED = ("libs", "services", "scripts")
ENGINES_PKG = Path("libs/engines/src/lifeboat/engines")
# Where engine names may appear: each engine's own module, the protocol and the registry.
ALLOWED = frozenset(
    ENGINES_PKG / name for name in ("base.py", "postgres.py", "mysql.py", "registry.py")
)


def _is_engine_name(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.lower() in ENGINE_NAMES
    )


def _names_engine(node: ast.AST) -> bool:
    """An engine name, or a tuple/list/set display holding one."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_engine_name(elt) for elt in node.elts)
    return _is_engine_name(node)


def _pattern_names_engine(pattern: ast.pattern) -> bool:
    return any(
        isinstance(sub, ast.MatchValue) and _is_engine_name(sub.value) for sub in ast.walk(pattern)
    ) or any(
        _is_engine_name(key)
        for sub in ast.walk(pattern)
        if isinstance(sub, ast.MatchMapping)
        for key in sub.keys
    )


def _is_literal_type(node: ast.Subscript) -> bool:
    """``Literal[...]`` (or ``typing.Literal[...]``): a type, not a decision."""
    value = node.value
    return (isinstance(value, ast.Name) and value.id == "Literal") or (
        isinstance(value, ast.Attribute) and value.attr == "Literal"
    )


def _literal_type_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node inside a ``Literal[...]`` subscript."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_literal_type(node):
            inside.update(id(sub) for sub in ast.walk(node.slice))
    return inside


def engine_decisions(source: str, filename: str = "<src>") -> Iterator[tuple[int, str]]:
    """``(line, what)`` for each place `source` decides something by an engine's name."""
    tree = ast.parse(source, filename=filename)
    in_literal_type = _literal_type_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            if any(_names_engine(side) for side in (node.left, *node.comparators)):
                yield node.lineno, "comparison with an engine name"
        elif isinstance(node, ast.match_case):
            if _pattern_names_engine(node.pattern):
                yield node.pattern.lineno, "match/case on an engine name"
        elif isinstance(node, ast.Dict):
            if any(key is not None and _is_engine_name(key) for key in node.keys):
                yield node.lineno, "dict keyed by engine names"
        elif isinstance(node, ast.Subscript):
            if not _is_literal_type(node) and _is_engine_name(node.slice):
                yield node.lineno, "lookup by an engine name"
        elif (
            isinstance(node, ast.Tuple | ast.List | ast.Set)
            and id(node) not in in_literal_type
            and sum(_is_engine_name(elt) for elt in node.elts) >= 2
        ):
            # A hand-written list of the engines goes stale when one is added.
            yield node.lineno, "list of engine names"


def _sources() -> list[Path]:
    files: list[Path] = []
    for top in SCANNED:
        files += [
            p
            for p in sorted((ROOT / top).rglob("*.py"))
            if not {".venv", "node_modules", "__pycache__"} & set(p.parts)
        ]
    return files


def test_no_engine_decisions_outside_the_engine_modules() -> None:
    files = _sources()
    assert len(files) > 50
    found: list[str] = []
    for path in files:
        rel = path.relative_to(ROOT)
        if rel in ALLOWED:
            continue
        decisions = engine_decisions(path.read_text(encoding="utf-8"), str(rel))
        for line, what in sorted(decisions):
            found.append(f"{rel}:{line}: {what}")
    assert not found, "engine decisions outside lifeboat.engines:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'x = conn.engine == "postgresql"',
        'x = "mysql" != engine',
        'x = engine in ("postgresql", "mysql")',
        'x = engine not in {"mariadb"}',
        'match e:\n    case "postgresql":\n        pass',
        'match e:\n    case "a" | "mysql":\n        pass',
        'FORMATS = {"postgresql": "pg_dump-custom"}',
        'n = counts["mysql"]',
        'f(choices=("postgresql", "mysql"))',
        'x = engine == "MySQL"',
    ],
)
def test_the_scan_sees_each_kind_of_decision(source: str) -> None:
    assert list(engine_decisions(source))


@pytest.mark.parametrize(
    "source",
    [
        'Engine = Literal["postgresql", "mysql"]',
        'def f(e: typing.Literal["mysql"]) -> None: ...',
        'x = engine_for("postgresql").default_port',
        'log("connect to postgresql")',
        'x = kind == "backup"',
    ],
)
def test_the_scan_lets_types_and_registry_calls_pass(source: str) -> None:
    assert not list(engine_decisions(source))
