"""``python -m lifeboat.api`` serves with uvloop and httptools (plain uvicorn plus both)."""

from __future__ import annotations

import sys

import pytest

from lifeboat.api.__main__ import server_implementations


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not run on Windows")
def test_the_api_serves_on_uvloop_and_httptools() -> None:
    assert server_implementations() == ("uvloop", "httptools")
