"""HTTP handlers of /api/backups (SPEC §6.1.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from lifeboat.api.context import Ctx
from lifeboat.api.domain.backups import service
from lifeboat.api.domain.backups.schemas import BackupCreate, BackupDetailOut, BackupOut
from lifeboat.api.domain.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BackupType,
    ExecutionStatus,
    LogLevelName,
    LogOut,
)
from lifeboat.api.envelope import Envelope, ok, paged


class BackupController(Controller):
    """Backup executions."""

    path = "/api/backups"
    tags = ["backups"]

    @get("/", summary="List backups")
    async def list_backups(
        self,
        ctx: Ctx,
        database_id: Annotated[str | None, QueryParameter(name="databaseId")] = None,
        status: Annotated[ExecutionStatus | None, QueryParameter(name="status")] = None,
        type: Annotated[BackupType | None, QueryParameter(name="type")] = None,
        start_date: Annotated[datetime | None, QueryParameter(name="startDate")] = None,
        end_date: Annotated[datetime | None, QueryParameter(name="endDate")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Envelope[list[BackupOut]]:
        """Backups newest first (deleted ones excluded), filtered and paginated."""
        filters = service.BackupFilters(
            database_id=database_id,
            status=status,
            backup_type=type,
            start=start_date,
            end=end_date,
        )
        items, total = await service.list_backups(ctx, filters, page=page, limit=limit)
        return paged(items, page=page, limit=limit, total=total)

    @post("/", status_code=HTTP_202_ACCEPTED, summary="Start a manual backup")
    async def create_backup(self, ctx: Ctx, data: JSONBody[BackupCreate]) -> Envelope[BackupOut]:
        """Record a pending backup and queue it for an executor."""
        return ok(
            await service.request_backup(
                ctx,
                database_id=data.database_id,
                compression=data.compression,
                upload_to_s3=data.upload_to_s3,
                retention_policy_id=data.retention_policy_id,
            )
        )

    @get("/{backup_id:str}", summary="Get a backup with its logs")
    async def get_backup(self, ctx: Ctx, backup_id: FromPath[str]) -> Envelope[BackupDetailOut]:
        """One backup and its log."""
        return ok(await service.get_backup(ctx, backup_id))

    @delete("/{backup_id:str}", status_code=HTTP_200_OK, summary="Delete a backup")
    async def delete_backup(self, ctx: Ctx, backup_id: FromPath[str]) -> Envelope[None]:
        """Soft delete: the file goes, the record stays (marked deleted)."""
        await service.delete_backup(ctx, backup_id)
        return ok(None)

    @get(
        "/{backup_id:str}/download",
        summary="Download a backup file",
        media_type="application/octet-stream",
    )
    async def download(self, ctx: Ctx, backup_id: FromPath[str]) -> File:
        """Stream the artifact as an attachment."""
        path, name = await service.download_path(ctx, backup_id)
        return File(
            path=path,
            filename=name,
            content_disposition_type="attachment",
            media_type="application/octet-stream",
        )

    @get("/{backup_id:str}/logs", summary="Get a backup's logs")
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
    )
    async def upload_to_s3(self, ctx: Ctx, backup_id: FromPath[str]) -> Envelope[BackupOut]:
        """Not available until S3 is configured."""
        await service.upload_to_s3(ctx, backup_id)
