"""Test layers: every test carries exactly one of ``unit``, ``integration`` or ``e2e``.

The layer follows from the directory (``tests/unit`` has no I/O, ``tests/integration`` needs the
machine's databases and a nats-server, ``tests/e2e`` the whole stack); ``tests/conftest.py``
applies it at collection and refuses a test whose own markers name another layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

LAYERS: tuple[str, ...] = ("unit", "integration", "e2e")
TESTS_DIR = Path(__file__).resolve().parent.parent


class LayerError(Exception):
    """A test outside the layer directories, or one marked with another layer than its own."""


def layer_of(path: Path, tests_dir: Path = TESTS_DIR) -> str:
    """The layer of a test module at `path`: the first directory under `tests_dir`."""
    try:
        parts = path.resolve().relative_to(tests_dir).parts
    except ValueError:
        raise LayerError(f"{path} is not under {tests_dir}") from None
    if len(parts) < 2 or parts[0] not in LAYERS:
        raise LayerError(f"{path}: a test module lives in tests/{{{','.join(LAYERS)}}}/")
    return parts[0]


def check_declared(path: Path, layer: str, declared: Iterable[str]) -> None:
    """Refuse layer markers of `declared` (a test's own marker names) other than `layer`."""
    others = sorted({name for name in declared if name in LAYERS and name != layer})
    if others:
        raise LayerError(f"{path} is a {layer} test but is marked {', '.join(others)}")
