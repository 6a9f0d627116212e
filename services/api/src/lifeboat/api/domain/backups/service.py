"""Backup executions: requesting backups (REST, the external trigger, fired schedules), listing,
soft-deleting (downloads: :mod:`lifeboat.api.domain.backups.s3copy`)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    ACTIVE_STATUSES,
    BackupExecution,
    DatabaseConfig,
    RetentionPolicy,
    new_id,
    utcnow,
)
from lifeboat.api.domain.backups.schemas import BackupDetailOut, BackupOut
from lifeboat.api.domain.common import (
    BackupSort,
    BackupType,
    CompressionName,
    ExecutionStatus,
    LogLevelName,
    LogOut,
    SortOrder,
    StorageLocation,
)
from lifeboat.api.domain.databases.service import (
    engine_of,
    load,
    load_by_name,
    sealed_target,
)
from lifeboat.api.domain.logs import logs_of
from lifeboat.api.domain.notifications import hooks
from lifeboat.api.domain.queueing import fail_if_pending, queue_job
from lifeboat.api.domain.s3configs.service import resolve_config, target_for
from lifeboat.api.domain.verifications.outcome import verification_fields
from lifeboat.api.hub import ExecutionUpdate, UpdateKind
from lifeboat.api.timefmt import as_utc
from lifeboat.core import naming
from lifeboat.core.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from lifeboat.core.paths import contained
from lifeboat.engines.registry import engine_for
from lifeboat.storage.local import LocalStore
from lifeboat.wire.messages import BackupJob, S3Target

log = logging.getLogger(__name__)


def to_out(row: BackupExecution, database_name: str | None) -> BackupOut:
    """The REST view of a backup row."""
    return BackupOut(
        id=row.id,
        database_config_id=row.database_config_id,
        database_name=database_name,
        backup_schedule_id=row.backup_schedule_id,
        backup_type=cast("BackupType", row.backup_type),
        status=cast("ExecutionStatus", row.status),
        file_name=row.file_name,
        file_size_bytes=row.file_size_bytes,
        local_path=row.local_path,
        s3_uploaded=row.s3_uploaded,
        s3_bucket=row.s3_bucket,
        s3_key=row.s3_key,
        s3_upload_at=row.s3_upload_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        duration_seconds=row.duration_seconds,
        error_message=row.error_message,
        database_size_bytes=row.database_size_bytes,
        compression_used=row.compression_used,
        checksum=row.checksum,
        progress_bytes=row.progress_bytes,
        attempt=row.attempt,
        executor_id=row.executor_id,
        queue=row.queue,
        server_version=row.server_version,
        tool_version=row.tool_version,
        created_at=row.created_at,
        scheduled_for=row.scheduled_for,
        retry_number=row.retry_number,
        retry_of=row.retry_of,
        retention_policy_id=row.retention_policy_id,
        local_status=row.local_status,
        s3_status=row.s3_status,
        s3_error=row.s3_error,
        s3_config_id=row.s3_config_id,
        imported_at=row.imported_at,
        **verification_fields(row),
    )


async def load_backup(session: AsyncSession, backup_id: str) -> BackupExecution:
    """A backup that exists and is not deleted, or NotFoundError."""
    row = await session.get(BackupExecution, backup_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"backup {backup_id} not found", details={"id": backup_id})
    return row


async def _name_of(session: AsyncSession, config_id: str) -> str | None:
    return await session.scalar(select(DatabaseConfig.name).where(DatabaseConfig.id == config_id))


@dataclass(frozen=True, kw_only=True)
class BackupFilters:
    """Query filters of GET /api/backups."""

    database_id: str | None = None
    status: ExecutionStatus | None = None
    backup_type: BackupType | None = None
    start: datetime | None = None
    end: datetime | None = None
    storage: StorageLocation | None = None
    """Only backups with a completed copy there."""


def _conditions(filters: BackupFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [BackupExecution.deleted_at.is_(None)]
    if filters.database_id is not None:
        conds.append(BackupExecution.database_config_id == filters.database_id)
    if filters.status is not None:
        conds.append(BackupExecution.status == filters.status)
    if filters.backup_type is not None:
        conds.append(BackupExecution.backup_type == filters.backup_type)
    if filters.start is not None:
        conds.append(BackupExecution.started_at >= as_utc(filters.start))
    if filters.end is not None:
        conds.append(BackupExecution.started_at <= as_utc(filters.end))
    if filters.storage == "local":
        conds.append(BackupExecution.local_status == "completed")
    elif filters.storage == "s3":
        conds.append(BackupExecution.s3_status == "completed")
    elif filters.storage == "local-only":
        conds.append(BackupExecution.local_status == "completed")
        conds.append(
            or_(BackupExecution.s3_status.is_(None), BackupExecution.s3_status != "completed")
        )
    return conds


async def list_backups(
    ctx: ApiContext,
    filters: BackupFilters,
    *,
    page: int,
    limit: int,
    sort: BackupSort = "startedAt",
    order: SortOrder = "desc",
) -> tuple[list[BackupOut], int]:
    """One page of backups matching `filters` and the total, ordered by `sort` (newest first by
    default; backups without a size or duration yet come last either way)."""
    if filters.start and filters.end and as_utc(filters.start) > as_utc(filters.end):
        raise ValidationError(
            "startDate must not be after endDate",
            details=[{"field": "startDate", "message": "after endDate", "source": "query"}],
        )
    conds = _conditions(filters)
    async with ctx.db.read() as session:
        total = await session.scalar(select(func.count(BackupExecution.id)).where(*conds)) or 0
        rows = (
            await session.execute(
                select(BackupExecution, DatabaseConfig.name)
                .join(DatabaseConfig, DatabaseConfig.id == BackupExecution.database_config_id)
                .where(*conds)
                .order_by(*_ordering(sort, order))
                .offset((page - 1) * limit)
                .limit(limit)
            )
        ).all()
    return [to_out(row, name) for row, name in rows], total


def _ordering(sort: BackupSort, order: SortOrder) -> list[ColumnElement[Any]]:
    column = {
        "startedAt": BackupExecution.started_at,
        "size": BackupExecution.file_size_bytes,
        "duration": BackupExecution.duration_seconds,
    }[sort]
    key = column.asc() if order == "asc" else column.desc()
    tie = BackupExecution.id.asc() if order == "asc" else BackupExecution.id.desc()
    if sort == "startedAt":
        return [key, tie]
    return [key.nulls_last(), BackupExecution.started_at.desc(), tie]


async def get_backup(ctx: ApiContext, backup_id: str) -> BackupDetailOut:
    """A backup with its log."""
    async with ctx.db.read() as session:
        row = await load_backup(session, backup_id)
        name = await _name_of(session, row.database_config_id)
        logs = await logs_of(session, backup_id)
    out = to_out(row, name)
    return BackupDetailOut(**{f: getattr(out, f) for f in out.__struct_fields__}, logs=logs)


async def backup_logs(ctx: ApiContext, backup_id: str, level: LogLevelName | None) -> list[LogOut]:
    """Log lines of a backup at `level` and above."""
    async with ctx.db.read() as session:
        await load_backup(session, backup_id)
        return await logs_of(session, backup_id, level=level)


@dataclass(frozen=True, kw_only=True)
class BackupRequest:
    """What a backup is asked to be (everything :func:`request_backup` takes but the database)."""

    backup_type: BackupType = "manual"
    compression: CompressionName = "zstd"
    upload_to_s3: bool = False
    s3_config_id: str | None = None
    store_locally: bool = True
    retention_policy_id: str | None = None
    schedule_id: str | None = None
    scheduled_for: datetime | None = None
    retry_number: int = 0
    retry_of: str | None = None


async def request_backup(
    ctx: ApiContext,
    *,
    database_id: str | None = None,
    database_name: str | None = None,
    backup_type: BackupType = "manual",
    compression: CompressionName = "zstd",
    upload_to_s3: bool = False,
    s3_config_id: str | None = None,
    store_locally: bool = True,
    retention_policy_id: str | None = None,
    schedule_id: str | None = None,
    scheduled_for: datetime | None = None,
    retry_number: int = 0,
    retry_of: str | None = None,
) -> BackupOut:
    """Record a pending backup and queue its job for an executor of the database's queue.

    The one code path behind POST /api/backups, the NATS trigger and schedules. Refuses
    (ConflictError) while a backup of the same database is pending or running. When the job
    cannot be queued the record is kept as ``failed`` with the reason, and UnavailableError
    (503) is raised: nothing is silently lost.

    With `upload_to_s3` the same compressed stream also goes to S3 (`s3_config_id`, else the
    default configuration; ValidationError when none): one dump, two copies, each with its
    own status. `store_locally` false makes an S3-only backup.
    """
    wanted = BackupRequest(
        backup_type=backup_type,
        compression=compression,
        upload_to_s3=upload_to_s3,
        s3_config_id=s3_config_id,
        store_locally=store_locally,
        retention_policy_id=retention_policy_id,
        schedule_id=schedule_id,
        scheduled_for=scheduled_for,
        retry_number=retry_number,
        retry_of=retry_of,
    )
    _require_a_copy(wanted)
    now, execution_id = utcnow(), new_id()
    async with ctx.db.write() as session:
        config = await _database_to_back_up(session, database_id, database_name)
        await _check_backup_allowed(session, config, wanted)
        job = await _backup_job(ctx, session, config, wanted, execution_id=execution_id, now=now)
        row = _pending_backup_row(config, wanted, job)
        session.add(row)
        queue, name = config.queue, config.name
    await queue_job(
        ctx,
        queue,
        job,
        what="backup",
        details={"executionId": execution_id},
        compensate=functools.partial(_fail_unqueued_backup, ctx, execution_id),
    )
    _announce(ctx, execution_id, event="created", status="pending")
    log.info("backup %s of %s queued on %s", execution_id, name, queue)
    return to_out(row, name)


def _require_a_copy(wanted: BackupRequest) -> None:
    if not wanted.upload_to_s3 and not wanted.store_locally:
        raise ValidationError(
            "a backup needs a copy: set storeLocally or uploadToS3",
            details={"storeLocally": False, "uploadToS3": False},
        )


async def _database_to_back_up(
    session: AsyncSession, database_id: str | None, database_name: str | None
) -> DatabaseConfig:
    """The enabled database named by id (else by name), or a 4xx error."""
    if database_id is not None:
        config = await load(session, database_id)
    elif database_name is not None:
        config = await load_by_name(session, database_name)
    else:
        raise ValidationError("a database is required")
    if not config.enabled:
        raise ValidationError(
            f"database {config.name!r} is disabled", details={"databaseId": config.id}
        )
    return config


async def _check_backup_allowed(
    session: AsyncSession, config: DatabaseConfig, wanted: BackupRequest
) -> None:
    """Refuse an unknown retention policy, and a second backup of a busy database."""
    policy_id = wanted.retention_policy_id
    if policy_id is not None and await session.get(RetentionPolicy, policy_id) is None:
        raise ValidationError("unknown retention policy", details={"retentionPolicyId": policy_id})
    active = await session.scalar(
        select(BackupExecution.id)
        .where(
            BackupExecution.database_config_id == config.id,
            BackupExecution.status.in_(ACTIVE_STATUSES),
            BackupExecution.deleted_at.is_(None),
        )
        .limit(1)
    )
    if active is not None:
        raise ConflictError(
            f"a backup of {config.name!r} is already pending or running",
            details={"executionId": active},
        )


async def _backup_job(
    ctx: ApiContext,
    session: AsyncSession,
    config: DatabaseConfig,
    wanted: BackupRequest,
    *,
    execution_id: str,
    now: datetime,
) -> BackupJob:
    """The job an executor runs: the sealed target, where the file goes (and its S3 copy)."""
    file_name = naming.backup_file_name(
        database=config.name,
        backup_type=wanted.backup_type,
        started_at=now,
        execution_id=execution_id,
        extension=engine_for(engine_of(config)).file_extension,
        compression=wanted.compression,
    )
    s3_target: S3Target | None = None
    if wanted.upload_to_s3:
        s3_config = await resolve_config(session, wanted.s3_config_id)
        key = naming.s3_key(
            prefix=s3_config.path_prefix, database=config.name, started_at=now, file_name=file_name
        )
        s3_target = target_for(ctx, s3_config, key=key, bound_to=execution_id)
    return BackupJob(
        execution_id=execution_id,
        target=sealed_target(ctx, config, bound_to=execution_id),
        database_label=config.name,
        backup_type=wanted.backup_type,
        compression=wanted.compression,
        relative_dir=naming.backup_relative_dir(database=config.name, started_at=now),
        file_name=file_name,
        schedule_id=wanted.schedule_id,
        requested_at=now,
        s3=s3_target,
        store_locally=wanted.store_locally,
    )


def _pending_backup_row(
    config: DatabaseConfig, wanted: BackupRequest, job: BackupJob
) -> BackupExecution:
    """The record of `job`, pending until the executor's first event."""
    s3 = job.s3
    return BackupExecution(
        id=job.execution_id,
        database_config_id=config.id,
        backup_schedule_id=wanted.schedule_id,
        scheduled_for=wanted.scheduled_for,
        retry_number=wanted.retry_number,
        retry_of=wanted.retry_of,
        retention_policy_id=wanted.retention_policy_id,
        backup_type=wanted.backup_type,
        status="pending",
        queue=config.queue,
        file_name=job.file_name,
        compression_used=wanted.compression,
        local_status="pending" if wanted.store_locally else None,
        s3_status="pending" if s3 is not None else None,
        s3_bucket=s3.bucket if s3 is not None else None,
        s3_key=s3.key if s3 is not None else None,
        s3_config_id=s3.config_id if s3 is not None else None,
        started_at=job.requested_at,
        created_at=job.requested_at,
    )


async def _fail_unqueued_backup(ctx: ApiContext, execution_id: str, reason: str) -> None:
    """Compensation of a backup job that could not be queued: the record ends failed."""
    async with ctx.db.write() as session:
        row = await session.get(BackupExecution, execution_id)
        if fail_if_pending(row, reason):
            assert row is not None
            await hooks.execution_finished(ctx, session, row)  # backup.failed, like any other
    _announce(ctx, execution_id, event="finished", status="failed")


def _announce(ctx: ApiContext, execution_id: str, *, event: UpdateKind, status: str) -> None:
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type="backup", execution_id=execution_id, event=event, status=status
        )
    )


def _artifact_paths(root: Path, row: BackupExecution) -> tuple[Path, Path] | None:
    if not row.local_path:
        return None
    try:
        path = contained(root, row.local_path)
    except ValidationError:
        log.warning("backup %s has a local path outside the storage root", row.id)
        return None
    return path, path.with_name(naming.manifest_name(path.name))


async def delete_backup(ctx: ApiContext, backup_id: str) -> tuple[str | None, bool]:
    """Soft delete: remove the local file and its manifest, keep the record with deleted_at.

    Returns the local path removed (None if there was none) and whether an S3 copy remains to
    be removed (:func:`lifeboat.api.domain.backups.removal.remove_backup` does both).
    """
    async with ctx.db.write() as session:
        row = await load_backup(session, backup_id)
        if row.status in ACTIVE_STATUSES:
            raise ConflictError(
                f"backup {backup_id} is {row.status}; wait for it to finish",
                details={"id": backup_id, "status": row.status},
            )
        paths = _artifact_paths(ctx.settings.backup_storage_path, row)
        if paths is not None and row.local_path:
            await LocalStore(ctx.settings.backup_storage_path).delete(row.local_path)
        row.deleted_at = ctx.clock()
        removed = row.local_path if paths is not None else None
        has_s3 = row.s3_status == "completed"
    ctx.hub.publish(
        ExecutionUpdate(execution_type="backup", execution_id=backup_id, event="deleted")
    )
    return removed, has_s3
