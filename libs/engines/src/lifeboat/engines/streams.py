"""What every pipeline is made of: OS pipes, chunk reading, progress throttling, child handling.

The backup and restore pipelines (:mod:`lifeboat.engines.backup`, :mod:`lifeboat.engines.restore`)
keep the raw dump out of Python: children are connected by OS pipes, and Python only reads the
compressed side (backup) or watches the shared file offset (restore).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lifeboat.engines.process import Child

CHUNK_SIZE = 1 << 20
PIPE_SIZE = 1 << 20
PROGRESS_INTERVAL_S = 1.0

ProgressFn = Callable[[int], Awaitable[None]]
LogFn = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ToolExit:
    """How one child process ended."""

    name: str
    returncode: int
    stderr_tail: list[str] = field(default_factory=list[str])


def read_chunk(fd: int, digest: Any) -> bytes:
    """Up to CHUNK_SIZE bytes from pipe `fd` (b"" at EOF), already added to `digest`."""
    parts: list[bytes] = []
    got = 0
    while got < CHUNK_SIZE:
        part = os.read(fd, CHUNK_SIZE - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    chunk = b"".join(parts) if len(parts) != 1 else parts[0]
    digest.update(chunk)
    return chunk


def open_pipe() -> tuple[int, int]:
    r, w = os.pipe()
    # A larger pipe lets both children run with fewer context switches; best effort.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    return r, w


class Throttle:
    """Calls the progress callback at most once per interval (and never lets it fail a job)."""

    def __init__(self, callback: ProgressFn | None, interval: float) -> None:
        self._callback = callback
        self._interval = interval
        self._last = time.monotonic()

    async def __call__(self, done: int, *, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            with contextlib.suppress(Exception):
                await self._callback(done)


async def kill_all(children: list[Child]) -> None:
    for child in children:
        await child.kill()


def shared_position(fd: int) -> int | None:
    # The decompressor's stdin shares our open file description, so our offset is how far
    # it has read: progress without touching the data.
    try:
        return os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return None


async def report_read_progress(fd: int, throttle: Throttle, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        pos = shared_position(fd)
        if pos is not None:
            await throttle(pos, force=True)
