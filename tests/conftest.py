"""Shared fixtures (a hermetic nats-server per test module) and the layer markers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.layers import LayerError, check_declared, layer_of
from tests.support.natsd import run_nats


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its layer (unit / integration / e2e), taken from its directory."""
    for item in items:
        try:
            layer = layer_of(item.path)
            check_declared(item.path, layer, (mark.name for mark in item.iter_markers()))
        except LayerError as exc:
            raise pytest.UsageError(str(exc)) from None
        item.add_marker(layer)


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a nats-server (JetStream on) of this test module: modules never share streams."""
    store: Path = tmp_path_factory.mktemp("nats")
    with run_nats(store) as url:
        yield url
