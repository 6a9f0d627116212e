"""HTTP handlers of /api/backups (SPEC §6.1.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import File, Stream
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from lifeboat.api.auth.audit import audit
from lifeboat.api.auth.guard import principal_of
from lifeboat.api.context import Ctx
from lifeboat.api.domain.backups import s3copy, service
from lifeboat.api.domain.backups.removal import remove_backup
from lifeboat.api.domain.backups.schemas import (
    BackupCreate,
    BackupDetailOut,
    BackupOut,
    UploadToS3In,
)
from lifeboat.api.domain.cancel import cancel_execution
from lifeboat.api.domain.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_PAGE,
    BackupSort,
    BackupType,
    ExecutionStatus,
    LogLevelName,
    LogOut,
    SortOrder,
    StorageLocation,
)
from lifeboat.api.envelope import Envelope, ok, paged


class BackupController(Controller):
    """Backup executions."""

    path = "/api/backups"
    tags = ["backups"]

    @get("/", summary="List backups", opt={"permission": "backup.view"})
    async def list_backups(
        self,
        ctx: Ctx,
        database_id: Annotated[str | None, QueryParameter(name="databaseId")] = None,
        status: Annotated[ExecutionStatus | None, QueryParameter(name="status")] = None,
        type: Annotated[BackupType | None, QueryParameter(name="type")] = None,
        start_date: Annotated[datetime | None, QueryParameter(name="startDate")] = None,
        end_date: Annotated[datetime | None, QueryParameter(name="endDate")] = None,
        storage: Annotated[
            StorageLocation | None,
            QueryParameter(
                name="storage",
                description="Only backups with a completed copy there (local-only: none on S3)",
            ),
        ] = None,
        sort: Annotated[BackupSort, QueryParameter(name="sort")] = "startedAt",
        order: Annotated[SortOrder, QueryParameter(name="order")] = "desc",
        page: Annotated[int, QueryParameter(name="page", ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Envelope[list[BackupOut]]:
        """Backups (deleted ones excluded), filtered, sorted (newest first by default) and
        paginated."""
        filters = service.BackupFilters(
            database_id=database_id,
            status=status,
            backup_type=type,
            start=start_date,
            end=end_date,
            storage=storage,
        )
        items, total = await service.list_backups(
            ctx, filters, page=page, limit=limit, sort=sort, order=order
        )
        return paged(items, page=page, limit=limit, total=total)

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        summary="Start a manual backup",
        opt={"permission": "backup.execute"},
    )
    async def create_backup(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[BackupCreate]
    ) -> Envelope[BackupOut]:
        """Record a pending backup and queue it for an executor."""
        backup = await service.request_backup(
            ctx,
            database_id=data.database_id,
            compression=data.compression,
            upload_to_s3=data.upload_to_s3,
            s3_config_id=data.s3_config_id,
            store_locally=data.store_locally,
            retention_policy_id=data.retention_policy_id,
        )
        await audit(ctx, request, "backup.create", backup.id, msgspec.to_builtins(data))
        return ok(backup)

    @get(
        "/{backup_id:str}", summary="Get a backup with its logs", opt={"permission": "backup.view"}
    )
    async def get_backup(self, ctx: Ctx, backup_id: FromPath[str]) -> Envelope[BackupDetailOut]:
        """One backup and its log."""
        return ok(await service.get_backup(ctx, backup_id))

    @delete(
        "/{backup_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a backup",
        opt={"permission": "backup.delete"},
    )
    async def delete_backup(
        self, ctx: Ctx, request: Request[Any, Any, Any], backup_id: FromPath[str]
    ) -> Envelope[None]:
        """Soft delete: the file and its S3 copy go, the record stays (marked deleted)."""
        removal = await remove_backup(ctx, backup_id)
        await audit(ctx, request, "backup.delete", backup_id, removal.described())
        return ok(None)

    @get(
        "/{backup_id:str}/download",
        summary="Download a backup file",
        opt={"permission": "backup.download"},
        media_type="application/octet-stream",
    )
    async def download(self, ctx: Ctx, backup_id: FromPath[str]) -> File | Stream:
        """Stream the artifact as an attachment: the local file if present, else from S3."""
        source = await s3copy.open_download(ctx, backup_id)
        if source.path is not None:
            return File(
                path=source.path,
                filename=source.file_name,
                content_disposition_type="attachment",
                media_type="application/octet-stream",
            )
        assert source.stream is not None
        headers = {"Content-Disposition": f'attachment; filename="{source.file_name}"'}
        if source.size is not None:
            headers["Content-Length"] = str(source.size)
        return Stream(source.stream, media_type="application/octet-stream", headers=headers)

    @post(
        "/{backup_id:str}/cancel",
        status_code=HTTP_202_ACCEPTED,
        summary="Cancel a queued or running backup",
        opt={"permission": "backup.execute"},
    )
    async def cancel(
        self, ctx: Ctx, request: Request[Any, Any, Any], backup_id: FromPath[str]
    ) -> Envelope[BackupDetailOut]:
        """Stop the backup: its processes are killed, partial artifacts removed, and the record
        ends ``cancelled`` (at once when no executor took it yet). 409 once it ended."""
        principal = principal_of(request)
        await cancel_execution(ctx, "backup", backup_id, by=principal.actor)
        await audit(ctx, request, "backup.cancel", backup_id, {})
        return ok(await service.get_backup(ctx, backup_id))

    @get("/{backup_id:str}/logs", summary="Get a backup's logs", opt={"permission": "backup.view"})
    async def logs(
        self,
        ctx: Ctx,
        backup_id: FromPath[str],
        level: Annotated[LogLevelName | None, QueryParameter(name="level")] = None,
    ) -> Envelope[list[LogOut]]:
        """Log lines at `level` and above (debug < info < warn < error)."""
        return ok(await service.backup_logs(ctx, backup_id, level))

    @post(
        "/{backup_id:str}/upload-to-s3",
        status_code=HTTP_202_ACCEPTED,
        summary="Upload a backup to S3",
        opt={"permission": "backup.execute"},
    )
    async def upload_to_s3(
        self,
        ctx: Ctx,
        backup_id: FromPath[str],
        data: JSONBody[UploadToS3In | None] = None,
    ) -> Envelope[BackupOut]:
        """Queue the upload of a completed local backup (and its manifest) to S3."""
        config_id = data.s3_config_id if data is not None else None
        return ok(await s3copy.request_upload(ctx, backup_id, config_id))
