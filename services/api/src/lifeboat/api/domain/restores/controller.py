"""HTTP handlers of /api/restores (SPEC §6.1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from lifeboat.api.auth.audit import audit
from lifeboat.api.auth.guard import principal_of
from lifeboat.api.context import Ctx
from lifeboat.api.domain.cancel import cancel_execution
from lifeboat.api.domain.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_PAGE,
    ExecutionStatus,
    LogLevelName,
    LogOut,
    RestoreSort,
    RestoreSource,
    SortOrder,
)
from lifeboat.api.domain.restores import service
from lifeboat.api.domain.restores.schemas import (
    UPLOAD_FORM_FIELDS,
    RestoreCreate,
    RestoreDetailOut,
    RestoreOut,
)
from lifeboat.api.envelope import Envelope, ok, paged
from lifeboat.engines.registry import ENGINE_NAMES


def _upload_form_schema() -> Schema:
    def text(name: str, **extra: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, description=UPLOAD_FORM_FIELDS[name], **extra)

    return Schema(
        type=OpenAPIType.OBJECT,
        required=["file", "databaseId"],
        properties={
            "file": text("file", format=OpenAPIFormat.BINARY),
            "manifest": text("manifest", format=OpenAPIFormat.BINARY),
            "databaseId": text("databaseId", min_length=1, max_length=64),
            "options": text("options"),
            "engine": text("engine", enum=list(ENGINE_NAMES)),
            "compression": text("compression", enum=["zstd", "gzip"]),
            "confirmUnverified": text("confirmUnverified", enum=["true", "false"]),
        },
    )


@dataclass
class _UploadOperation(Operation):
    """The upload's body is read as a stream by the handler: documented here by hand."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={"multipart/form-data": OpenAPIMediaType(schema=_upload_form_schema())},
        )


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
        source: Annotated[
            RestoreSource | None,
            QueryParameter(name="source", description="Where the restored file came from"),
        ] = None,
        start_date: Annotated[datetime | None, QueryParameter(name="startDate")] = None,
        end_date: Annotated[datetime | None, QueryParameter(name="endDate")] = None,
        sort: Annotated[RestoreSort, QueryParameter(name="sort")] = "startedAt",
        order: Annotated[SortOrder, QueryParameter(name="order")] = "desc",
        page: Annotated[int, QueryParameter(name="page", ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Envelope[list[RestoreOut]]:
        """Restores, filtered, sorted (newest first by default) and paginated."""
        filters = service.RestoreFilters(
            database_id=database_id,
            status=status,
            source=source,
            start=start_date,
            end=end_date,
        )
        items, total = await service.list_restores(
            ctx, filters, page=page, limit=limit, sort=sort, order=order
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

    @post(
        "/upload",
        status_code=HTTP_202_ACCEPTED,
        summary="Upload a file and restore it",
        opt={"permission": "restore.execute"},
        request_max_body_size=None,  # streamed to disk; MAX_UPLOAD_BYTES is enforced there
        operation_class=_UploadOperation,
    )
    async def upload(self, ctx: Ctx, request: Request[Any, Any, Any]) -> Envelope[RestoreOut]:
        """Receive a backup file (multipart form: ``file``, ``databaseId``, optional ``options``
        JSON, ``manifest``, ``engine``/``compression`` hints, ``confirmUnverified``) and queue
        its restore. With a Lifeboat manifest matching the file it is verified like a recorded
        backup; without one only an admin may restore it, with ``confirmUnverified=true``.
        Larger than MAX_UPLOAD_BYTES: 413."""
        principal = principal_of(request)
        restore, details = await service.request_upload_restore(
            ctx, request, is_admin=principal.role == "admin", initiated_by=principal.actor
        )
        await audit(ctx, request, "restore.upload", restore.id, details)
        return ok(restore)

    @get(
        "/{restore_id:str}",
        summary="Get a restore with its logs",
        opt={"permission": "restore.view"},
    )
    async def get_restore(self, ctx: Ctx, restore_id: FromPath[str]) -> Envelope[RestoreDetailOut]:
        """One restore and its log."""
        return ok(await service.get_restore(ctx, restore_id))

    @post(
        "/{restore_id:str}/cancel",
        status_code=HTTP_202_ACCEPTED,
        summary="Cancel a queued or running restore",
        opt={"permission": "restore.execute"},
    )
    async def cancel(
        self, ctx: Ctx, request: Request[Any, Any, Any], restore_id: FromPath[str]
    ) -> Envelope[RestoreDetailOut]:
        """Stop the restore: its processes are killed, partial artifacts removed, and the record
        ends ``cancelled`` (at once when no executor took it yet). 409 once it ended."""
        principal = principal_of(request)
        await cancel_execution(ctx, "restore", restore_id, by=principal.actor)
        await audit(ctx, request, "restore.cancel", restore_id, {})
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
