"""Fixtures for end-to-end tests: the whole system, as `just up` runs it, on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from scripts.devstack import Stack, free_port


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("stack")
    s = Stack(
        work / "data",
        api_port=free_port(),
        nats_port=free_port(),
        log_dir=work / "logs",
        extra_env={"MIN_FREE_DISK_BYTES": "1", "LOG_LEVEL": "debug"},
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client
