"""HTTP handlers of /api/schedules (SPEC §6.1.2)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.schedules import service
from lifeboat.api.domain.schedules.schemas import (
    NextRunsOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
)
from lifeboat.api.envelope import Envelope, ok

_VIEW = {"permission": "schedule.view"}
_MANAGE = {"permission": "schedule.manage"}

Count = Annotated[int, QueryParameter(name="count", ge=1, le=service.MAX_NEXT_RUNS)]
AnyRequest = Request[Any, Any, Any]


class ScheduleController(Controller):
    """Backup schedules."""

    path = "/api/schedules"
    tags = ["schedules"]

    @get("/", summary="List backup schedules", opt=_VIEW)
    async def list_schedules(
        self,
        ctx: Ctx,
        database_id: Annotated[str | None, QueryParameter(name="databaseId")] = None,
        enabled: Annotated[bool | None, QueryParameter(name="enabled")] = None,
    ) -> Envelope[list[ScheduleOut]]:
        """Every schedule, optionally of one database and/or enabled state."""
        return ok(await service.list_schedules(ctx, database_id=database_id, enabled=enabled))

    @post("/", status_code=HTTP_201_CREATED, summary="Create a backup schedule", opt=_MANAGE)
    async def create_schedule(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[ScheduleCreate]
    ) -> Envelope[ScheduleOut]:
        """Validate (cron, time zone, database, policy), save, publish to the schedulers."""
        created = await service.create_schedule(ctx, data)
        await audit(ctx, request, "schedule.create", created.id, {"cron": created.cron_expression})
        return ok(created)

    @get("/next-runs", summary="Preview the fire times of a cron expression", opt=_VIEW)
    async def preview(
        self,
        ctx: Ctx,
        cron_expression: Annotated[str, QueryParameter(name="cronExpression", max_length=200)],
        timezone: Annotated[str | None, QueryParameter(name="timezone", max_length=64)] = None,
        count: Count = 10,
    ) -> Envelope[NextRunsOut]:
        """The next `count` fire times of an unsaved expression (for schedule forms)."""
        return ok(service.preview(cron_expression, timezone or ctx.settings.tz, count))

    @get("/{schedule_id:str}", summary="Get a backup schedule", opt=_VIEW)
    async def get_schedule(self, ctx: Ctx, schedule_id: FromPath[str]) -> Envelope[ScheduleOut]:
        """One schedule."""
        return ok(await service.get_schedule(ctx, schedule_id))

    @put("/{schedule_id:str}", summary="Update a backup schedule", opt=_MANAGE)
    async def update_schedule(
        self,
        ctx: Ctx,
        request: AnyRequest,
        schedule_id: FromPath[str],
        data: JSONBody[ScheduleUpdate],
    ) -> Envelope[ScheduleOut]:
        """Partial update; the schedulers see it within a second."""
        updated = await service.update_schedule(ctx, schedule_id, data)
        await audit(ctx, request, "schedule.update", schedule_id)
        return ok(updated)

    @delete(
        "/{schedule_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a backup schedule",
        opt=_MANAGE,
    )
    async def delete_schedule(
        self, ctx: Ctx, request: AnyRequest, schedule_id: FromPath[str]
    ) -> Envelope[None]:
        """Delete it; its past executions stay."""
        await service.delete_schedule(ctx, schedule_id)
        await audit(ctx, request, "schedule.delete", schedule_id)
        return ok(None)

    @post(
        "/{schedule_id:str}/enable",
        status_code=HTTP_200_OK,
        summary="Enable a backup schedule",
        opt=_MANAGE,
    )
    async def enable(
        self, ctx: Ctx, request: AnyRequest, schedule_id: FromPath[str]
    ) -> Envelope[ScheduleOut]:
        """Enable: the next slot from now on fires."""
        result = await service.set_enabled(ctx, schedule_id, True)
        await audit(ctx, request, "schedule.enable", schedule_id)
        return ok(result)

    @post(
        "/{schedule_id:str}/disable",
        status_code=HTTP_200_OK,
        summary="Disable a backup schedule",
        opt=_MANAGE,
    )
    async def disable(
        self, ctx: Ctx, request: AnyRequest, schedule_id: FromPath[str]
    ) -> Envelope[ScheduleOut]:
        """Disable: no slot fires until enabled again."""
        result = await service.set_enabled(ctx, schedule_id, False)
        await audit(ctx, request, "schedule.disable", schedule_id)
        return ok(result)

    @get("/{schedule_id:str}/next-runs", summary="Next fire times of a schedule", opt=_VIEW)
    async def next_runs(
        self, ctx: Ctx, schedule_id: FromPath[str], count: Count = 10
    ) -> Envelope[NextRunsOut]:
        """The next `count` (1-100, default 10) fire times, in the schedule's zone."""
        return ok(await service.upcoming(ctx, schedule_id, count))
