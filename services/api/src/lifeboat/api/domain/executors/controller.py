"""HTTP handlers of /api/executors."""

from __future__ import annotations

from litestar import Controller, get

from lifeboat.api.context import Ctx
from lifeboat.api.domain.executors import service
from lifeboat.api.domain.executors.registry import Executors
from lifeboat.api.domain.executors.schemas import ExecutorOut, QueueWarningOut
from lifeboat.api.envelope import Envelope, ok


class ExecutorController(Controller):
    """The executors heard from, and the queues nobody serves."""

    path = "/api/executors"
    tags = ["executors"]

    @get("/", summary="List executors", opt={"permission": "system.view"})
    async def list_executors(self, ctx: Ctx, executors: Executors) -> Envelope[list[ExecutorOut]]:
        """Executors heard from in the last ten minutes, live or stale, by queue."""
        return ok(await service.list_executors(ctx, executors))

    @get("/warnings", summary="Queues without a live executor", opt={"permission": "system.view"})
    async def warnings(self, ctx: Ctx, executors: Executors) -> Envelope[list[QueueWarningOut]]:
        """Queues some enabled database uses that no live executor serves (empty: all fine)."""
        return ok(await service.queue_warnings(ctx, executors))
