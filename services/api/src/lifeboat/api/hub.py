"""In-process pub/sub of execution updates, feeding Server-Sent Events to browsers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Literal

import msgspec

UpdateKind = Literal["started", "progress", "log", "finished", "created", "deleted"]


class ExecutionUpdate(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """What changed about one execution (sent as an SSE ``data`` JSON object)."""

    execution_type: Literal["backup", "restore", "verify"]
    execution_id: str
    event: UpdateKind
    status: str | None = None
    progress_bytes: int | None = None
    bytes_total: int | None = None
    level: str | None = None
    message: str | None = None
    at: datetime | None = None


class UpdateHub:
    """Fan-out to subscribers; a slow subscriber loses updates rather than slowing others."""

    def __init__(self, queue_size: int = 256) -> None:
        self._subscribers: set[asyncio.Queue[ExecutionUpdate]] = set()
        self._queue_size = queue_size

    @property
    def subscriber_count(self) -> int:
        """Connected subscribers."""
        return len(self._subscribers)

    def publish(self, update: ExecutionUpdate) -> None:
        """Offer `update` to every subscriber (never blocks)."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(update)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncGenerator[asyncio.Queue[ExecutionUpdate], None]:
        """A queue receiving every update published while the context is open."""
        queue: asyncio.Queue[ExecutionUpdate] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
