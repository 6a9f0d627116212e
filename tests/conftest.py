"""Shared fixtures: a hermetic nats-server per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.natsd import run_nats


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a nats-server (JetStream on) of this test module: modules never share streams."""
    store: Path = tmp_path_factory.mktemp("nats")
    with run_nats(store) as url:
        yield url
