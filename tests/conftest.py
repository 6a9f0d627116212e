"""Session-wide fixtures: a hermetic nats-server for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.natsd import run_nats


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a nats-server (JetStream on) started for this test session."""
    store: Path = tmp_path_factory.mktemp("nats")
    with run_nats(store) as url:
        yield url
