"""Server-Sent Events: live execution updates for the UI (GET /api/events/stream)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import msgspec
from litestar import Controller, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from lifeboat.api.context import Ctx

KEEPALIVE_S = 15.0
_encoder = msgspec.json.Encoder()


class LiveUpdatesController(Controller):
    """GET /api/events/stream (text/event-stream)."""

    path = "/api/events"
    tags = ["events"]

    @get(
        "/stream",
        summary="Live execution updates (Server-Sent Events)",
        opt={"permission": "backup.view"},
    )
    async def stream(self, ctx: Ctx) -> ServerSentEvent:
        """Each update is an ``execution`` event whose data is an ExecutionUpdate JSON object."""

        async def updates() -> AsyncGenerator[ServerSentEventMessage, None]:
            async with ctx.hub.subscribe() as queue:
                yield ServerSentEventMessage(comment="connected")
                while True:
                    try:
                        update = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield ServerSentEventMessage(comment="keep-alive")
                        continue
                    yield ServerSentEventMessage(
                        event="execution", data=_encoder.encode(update).decode()
                    )

        return ServerSentEvent(updates())
