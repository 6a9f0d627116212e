"""HTTP handlers of /api/system (SPEC §6.1.7)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.system import service
from lifeboat.api.domain.system.schemas import (
    MaintenanceIn,
    MaintenanceOut,
    SettingOut,
    StatsOut,
    SystemStatusOut,
)
from lifeboat.api.envelope import Envelope, ok


class SystemController(Controller):
    """Status, statistics, settings, maintenance."""

    path = "/api/system"
    tags = ["system"]

    @get("/status", summary="System status", opt={"permission": "system.view"})
    async def status(self, ctx: Ctx) -> Envelope[SystemStatusOut]:
        """Version, uptime, disk space, NATS and database."""
        return ok(service.status(ctx))

    @get("/stats", summary="Statistics", opt={"permission": "system.view"})
    async def stats(self, ctx: Ctx) -> Envelope[StatsOut]:
        """Backup totals, sizes and database counts."""
        return ok(await service.stats(ctx))

    @get("/settings", summary="Get system settings", opt={"permission": "system.view"})
    async def get_settings(self, ctx: Ctx) -> Envelope[list[SettingOut]]:
        """Every stored setting."""
        return ok(await service.get_settings(ctx))

    @put("/settings", summary="Update system settings", opt={"permission": "system.configure"})
    async def put_settings(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> Envelope[list[SettingOut]]:
        """Create or replace settings given as ``{key: value}``."""
        settings = await service.put_settings(ctx, data)
        await audit(ctx, request, "settings.update", "system_settings", {"changed": data})
        return ok(settings)

    @post(
        "/maintenance",
        status_code=HTTP_200_OK,
        summary="Run a maintenance task",
        opt={"permission": "system.configure"},
    )
    async def maintenance(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[MaintenanceIn]
    ) -> Envelope[MaintenanceOut]:
        """cleanup | vacuum | verify."""
        result = await service.maintenance(ctx, data.task)
        await audit(ctx, request, f"maintenance.{data.task}", None, {"message": result.message})
        return ok(result)
