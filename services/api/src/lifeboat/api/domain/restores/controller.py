"""HTTP handlers of /api/restores (SPEC §6.1.4)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from lifeboat.api.auth.audit import audit
from lifeboat.api.auth.guard import principal_of
from lifeboat.api.context import Ctx
from lifeboat.api.domain.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_PAGE,
    ExecutionStatus,
    LogLevelName,
    LogOut,
)
from lifeboat.api.domain.restores import service
from lifeboat.api.domain.restores.schemas import RestoreCreate, RestoreDetailOut, RestoreOut
from lifeboat.api.envelope import Envelope, ok, paged
from lifeboat.core.errors import ValidationError


class RestoreController(Controller):
    """Restore executions."""

    path = "/api/restores"
    tags = ["restores"]

    @get("/", summary="List restores", opt={"permission": "restore.view"})
    async def list_restores(
        self,
        ctx: Ctx,
        database_id: Annotated[str | None, QueryParameter(name="databaseId")] = None,
        status: Annotated[ExecutionStatus | None, QueryParameter(name="status")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Envelope[list[RestoreOut]]:
        """Restores newest first, filtered and paginated."""
        items, total = await service.list_restores(
            ctx, database_id=database_id, status=status, page=page, limit=limit
        )
        return paged(items, page=page, limit=limit, total=total)

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        summary="Start a restore",
        opt={"permission": "restore.execute"},
    )
    async def create_restore(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[RestoreCreate]
    ) -> Envelope[RestoreOut]:
        """Validate and queue a restore of a completed backup or of an object of a configured
        bucket (``allowUnverified`` for an object without a manifest: admins only)."""
        principal = principal_of(request)
        restore = await service.request_restore(
            ctx, data, is_admin=principal.role == "admin", initiated_by=principal.actor
        )
        await audit(ctx, request, "restore.create", restore.id, msgspec.to_builtins(data))
        return ok(restore)

    @post("/upload", summary="Upload a file to restore", opt={"permission": "restore.execute"})
    async def upload(self) -> Envelope[RestoreOut]:
        """Restoring from an uploaded file is not supported yet."""
        raise ValidationError("restoring from an uploaded file is not supported yet")

    @get(
        "/{restore_id:str}",
        summary="Get a restore with its logs",
        opt={"permission": "restore.view"},
    )
    async def get_restore(self, ctx: Ctx, restore_id: FromPath[str]) -> Envelope[RestoreDetailOut]:
        """One restore and its log."""
        return ok(await service.get_restore(ctx, restore_id))

    @get(
        "/{restore_id:str}/logs", summary="Get a restore's logs", opt={"permission": "restore.view"}
    )
    async def logs(
        self,
        ctx: Ctx,
        restore_id: FromPath[str],
        level: Annotated[LogLevelName | None, QueryParameter(name="level")] = None,
    ) -> Envelope[list[LogOut]]:
        """Log lines at `level` and above."""
        return ok(await service.restore_logs(ctx, restore_id, level))
