"""Every test carries exactly one layer marker, the one of its directory."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.layers import LAYERS, TESTS_DIR, LayerError, check_declared, layer_of


def test_layer_follows_the_directory() -> None:
    assert layer_of(TESTS_DIR / "unit" / "test_x.py") == "unit"
    assert layer_of(TESTS_DIR / "integration" / "test_x.py") == "integration"
    assert layer_of(TESTS_DIR / "e2e" / "test_x.py") == "e2e"
    for stray in (TESTS_DIR / "test_x.py", TESTS_DIR / "support" / "test_x.py", Path("/tmp/t.py")):
        with pytest.raises(LayerError):
            layer_of(stray)


def test_a_test_marked_with_another_layer_is_refused() -> None:
    check_declared(Path("t.py"), "integration", ["integration", "slow", "timeout"])
    with pytest.raises(LayerError, match="is a integration test but is marked unit"):
        check_declared(Path("t.py"), "integration", ["unit", "slow"])
    with pytest.raises(LayerError, match="marked e2e"):
        check_declared(Path("t.py"), "unit", ["e2e"])


def _declared_layers(module: Path) -> set[str]:
    """Layer names a module's source marks anything with (``pytest.mark.<layer>``)."""
    tree = ast.parse(module.read_text(), filename=str(module))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in LAYERS
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    }


def test_every_test_module_is_in_a_layer_and_marks_no_other() -> None:
    """Static, so it stays a unit test: no module is imported, nothing is collected."""
    modules = sorted(TESTS_DIR.rglob("test_*.py"))
    assert len(modules) > 40
    for module in modules:
        layer = layer_of(module)
        check_declared(module, layer, _declared_layers(module))


def test_collected_unit_tests_carry_only_the_unit_marker(request: pytest.FixtureRequest) -> None:
    layers = [mark.name for mark in request.node.iter_markers() if mark.name in LAYERS]
    assert layers == ["unit"]
