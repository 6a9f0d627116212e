"""Restore executions: validating and queueing restores of recorded backups and of objects of
configured buckets."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import msgspec
from litestar import Request
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupExecution,
    DatabaseConfig,
    RestoreExecution,
    new_id,
)
from lifeboat.api.domain.common import (
    ExecutionStatus,
    LogLevelName,
    LogOut,
    RestoreSort,
    RestoreSource,
    SortOrder,
)
from lifeboat.api.domain.databases.service import engine_of, load
from lifeboat.api.domain.logs import logs_of
from lifeboat.api.domain.restores import uploads
from lifeboat.api.domain.restores.enqueue import check_target_free, queue_restore
from lifeboat.api.domain.restores.schemas import (
    RestoreCreate,
    RestoreDetailOut,
    RestoreOptionsIn,
    RestoreOptionsOut,
    RestoreOut,
)
from lifeboat.api.domain.restores.sources import (
    Artifact,
    object_artifact,
    s3_source_for,
    upload_artifact,
)
from lifeboat.api.timefmt import as_utc
from lifeboat.core.errors import (
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from lifeboat.engines.base import restore_option_problems

log = logging.getLogger(__name__)

_options_decoder = msgspec.json.Decoder(RestoreOptionsOut)


def to_out(row: RestoreExecution, database_name: str | None) -> RestoreOut:
    """The REST view of a restore row."""
    options: RestoreOptionsOut | None = None
    if row.restore_options:
        try:
            options = _options_decoder.decode(row.restore_options)
        except msgspec.DecodeError:
            options = None
    return RestoreOut(
        id=row.id,
        database_config_id=row.database_config_id,
        database_name=database_name,
        backup_execution_id=row.backup_execution_id,
        status=cast("ExecutionStatus", row.status),
        source_type=row.source_type,
        source_path=row.source_path,
        s3_bucket=row.s3_bucket,
        s3_key=row.s3_key,
        restore_options=options,
        safety_backup_id=row.safety_backup_id,
        started_at=row.started_at,
        completed_at=row.completed_at,
        duration_seconds=row.duration_seconds,
        error_message=row.error_message,
        initiated_by=row.initiated_by,
        progress_bytes=row.progress_bytes,
        attempt=row.attempt,
        executor_id=row.executor_id,
        queue=row.queue,
        created_at=row.created_at,
    )


async def load_restore(session: AsyncSession, restore_id: str) -> RestoreExecution:
    """A restore, or NotFoundError."""
    row = await session.get(RestoreExecution, restore_id)
    if row is None:
        raise NotFoundError(f"restore {restore_id} not found", details={"id": restore_id})
    return row


@dataclass(frozen=True, kw_only=True)
class RestoreFilters:
    """Query filters of GET /api/restores."""

    database_id: str | None = None
    status: ExecutionStatus | None = None
    source: RestoreSource | None = None
    start: datetime | None = None
    end: datetime | None = None


def _restore_conditions(filters: RestoreFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if filters.database_id is not None:
        conds.append(RestoreExecution.database_config_id == filters.database_id)
    if filters.status is not None:
        conds.append(RestoreExecution.status == filters.status)
    if filters.source is not None:
        conds.append(RestoreExecution.source_type == filters.source)
    if filters.start is not None:
        conds.append(RestoreExecution.started_at >= as_utc(filters.start))
    if filters.end is not None:
        conds.append(RestoreExecution.started_at <= as_utc(filters.end))
    return conds


def _restore_ordering(sort: RestoreSort, order: SortOrder) -> list[ColumnElement[Any]]:
    tie = RestoreExecution.id.asc() if order == "asc" else RestoreExecution.id.desc()
    if sort == "startedAt":
        started = RestoreExecution.started_at
        return [started.asc() if order == "asc" else started.desc(), tie]
    duration = RestoreExecution.duration_seconds
    key = duration.asc() if order == "asc" else duration.desc()
    return [key.nulls_last(), RestoreExecution.started_at.desc(), tie]


async def list_restores(
    ctx: ApiContext,
    filters: RestoreFilters,
    *,
    page: int,
    limit: int,
    sort: RestoreSort = "startedAt",
    order: SortOrder = "desc",
) -> tuple[list[RestoreOut], int]:
    """One page of restores matching `filters` and the total, newest first by default
    (restores without a duration yet come last when sorted by it)."""
    if filters.start and filters.end and as_utc(filters.start) > as_utc(filters.end):
        raise ValidationError(
            "startDate must not be after endDate",
            details=[{"field": "startDate", "message": "after endDate", "source": "query"}],
        )
    conds = _restore_conditions(filters)
    async with ctx.db.read() as session:
        total = await session.scalar(select(func.count(RestoreExecution.id)).where(*conds)) or 0
        rows = (
            await session.execute(
                select(RestoreExecution, DatabaseConfig.name)
                .join(DatabaseConfig, DatabaseConfig.id == RestoreExecution.database_config_id)
                .where(*conds)
                .order_by(*_restore_ordering(sort, order))
                .offset((page - 1) * limit)
                .limit(limit)
            )
        ).all()
    return [to_out(row, name) for row, name in rows], total


async def get_restore(ctx: ApiContext, restore_id: str) -> RestoreDetailOut:
    """A restore with its log."""
    async with ctx.db.read() as session:
        row = await load_restore(session, restore_id)
        name = await session.scalar(
            select(DatabaseConfig.name).where(DatabaseConfig.id == row.database_config_id)
        )
        logs = await logs_of(session, restore_id)
    out = to_out(row, name)
    return RestoreDetailOut(**{f: getattr(out, f) for f in out.__struct_fields__}, logs=logs)


async def restore_logs(
    ctx: ApiContext, restore_id: str, level: LogLevelName | None
) -> list[LogOut]:
    """Log lines of a restore at `level` and above."""
    async with ctx.db.read() as session:
        await load_restore(session, restore_id)
        return await logs_of(session, restore_id, level=level)


def _check_options(opts: RestoreOptionsIn) -> None:
    # The engines' one set of rules, so a restore the executor would refuse is refused here.
    problems = restore_option_problems(opts)
    if problems:
        raise ValidationError(
            "; ".join(_camel_text(p.message, p.fields) for p in problems),
            details=[
                {
                    "field": f"options.{_camel(name)}",
                    "message": "conflicts with "
                    + " and ".join(_camel(o) for o in p.fields if o != name),
                }
                for p in problems
                for name in p.fields
            ],
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _camel_text(message: str, names: tuple[str, ...]) -> str:
    for name in names:
        message = message.replace(name, _camel(name))
    return message


def _check_request(data: RestoreCreate, *, is_admin: bool) -> None:
    _check_options(data.options)
    if (data.backup_id is None) == (data.s3_object is None):
        raise ValidationError(
            "give exactly one of backupId and s3Object",
            details=[
                {"field": "backupId", "message": "exactly one of backupId and s3Object"},
                {"field": "s3Object", "message": "exactly one of backupId and s3Object"},
            ],
        )
    if data.s3_object is None:
        if data.allow_unverified:
            raise ValidationError(
                "allowUnverified only applies to s3Object",
                details=[{"field": "allowUnverified", "message": "only with s3Object"}],
            )
        return
    if data.source == "local":
        raise ValidationError(
            "an s3Object is read from S3, not from local storage",
            details=[{"field": "source", "message": "must be auto or s3 with s3Object"}],
        )
    if data.allow_unverified and not is_admin:
        raise ForbiddenError("only an admin may restore an object no manifest vouches for")


async def _backup_artifact(
    ctx: ApiContext, session: AsyncSession, data: RestoreCreate, restore_id: str
) -> Artifact:
    assert data.backup_id is not None
    backup = await session.get(BackupExecution, data.backup_id)
    if backup is None or backup.deleted_at is not None:
        raise NotFoundError(
            f"backup {data.backup_id} not found", details={"backupId": data.backup_id}
        )
    if backup.status != "completed":
        raise ValidationError(
            f"backup {backup.id} is {backup.status}; only completed backups can be restored",
            details={"backupId": backup.id, "status": backup.status},
        )
    if not backup.checksum or backup.file_size_bytes is None:
        raise ValidationError(
            "the backup has no artifact with a known checksum",
            details={"backupId": backup.id},
        )
    s3_source = await s3_source_for(ctx, session, backup, restore_id, data.source)
    source = await load(session, backup.database_config_id)
    return Artifact(
        engine=engine_of(source),
        compression="gzip" if backup.compression_used == "gzip" else "zstd",
        sha256=backup.checksum,
        size=backup.file_size_bytes,
        backup_id=backup.id,
        local_path=None if s3_source is not None else (backup.local_path or ""),
        s3=s3_source,
    )


async def request_restore(
    ctx: ApiContext, data: RestoreCreate, *, is_admin: bool, initiated_by: str | None = None
) -> RestoreOut:
    """Validate, record a pending restore and queue its job for the target's executors.

    The artifact is a recorded backup (`backupId`) or any object of a configured bucket
    (`s3Object`), whose manifest gives the sha256 the executor verifies; an object without
    one needs ``allowUnverified`` from an admin (`is_admin`).
    """
    _check_request(data, is_admin=is_admin)
    restore_id = new_id()
    from_object: Artifact | None = None
    if data.s3_object is not None:
        async with ctx.db.read() as session:
            await load(session, data.database_id)  # an unknown target fails before S3 calls
        from_object = await object_artifact(
            ctx, data.s3_object, allow_unverified=data.allow_unverified, restore_id=restore_id
        )

    async def resolve(session: AsyncSession, target: DatabaseConfig) -> Artifact:
        return from_object or await _backup_artifact(ctx, session, data, restore_id)

    row, name = await queue_restore(
        ctx,
        restore_id=restore_id,
        database_id=data.database_id,
        opts=data.options,
        initiated_by=initiated_by,
        resolve=resolve,
    )
    return to_out(row, name)


async def request_upload_restore(
    ctx: ApiContext,
    request: Request[Any, Any, Any],
    *,
    is_admin: bool,
    initiated_by: str | None = None,
) -> tuple[RestoreOut, dict[str, Any]]:
    """Receive an uploaded file (multipart form, see :mod:`.uploads`) and queue its restore.

    With a ``manifest`` part whose size and sha256 match the file, it is verified like a
    recorded backup; without one only an admin's ``confirmUnverified`` lets it through (then
    the executor restores it as unverified: size checked, decompression capped, log warning).
    Returns the restore and what the audit trail records of the upload.

    Raises:
        ValidationError, ForbiddenError, NotFoundError, ConflictError, PayloadTooLargeError:
            the upload is refused (and its file removed).
        UnavailableError: the job could not be queued (the record is kept as failed).
    """
    await uploads.sweep(ctx)
    restore_id = new_id()
    received = await uploads.receive(
        ctx, request, restore_id, precheck=functools.partial(_precheck_upload_target, ctx)
    )
    try:
        form = uploads.parse_form(received)
        _check_options(form.options)

        async def resolve(session: AsyncSession, target: DatabaseConfig) -> Artifact:
            return await upload_artifact(
                session,
                received,
                target_engine=engine_of(target),
                engine=form.engine,
                compression=form.compression,
                confirm_unverified=form.confirm_unverified,
                is_admin=is_admin,
            )

        row, name = await queue_restore(
            ctx,
            restore_id=restore_id,
            database_id=form.database_id,
            opts=form.options,
            initiated_by=initiated_by,
            resolve=resolve,
        )
    except BaseException:
        received.discard()
        raise
    return to_out(row, name), _upload_audit_details(form, received)


async def _precheck_upload_target(ctx: ApiContext, fields: dict[str, str]) -> None:
    """Refuse an upload into an unknown, disabled or busy database before its file is read."""
    database_id = fields.get("databaseId")
    if database_id:
        async with ctx.db.read() as session:
            await check_target_free(session, await load(session, database_id))


def _upload_audit_details(form: uploads.UploadForm, received: uploads.Received) -> dict[str, Any]:
    """What the audit trail records of an uploaded restore."""
    return {
        "databaseId": form.database_id,
        "options": msgspec.to_builtins(form.options),
        "fileName": received.filename,
        "sizeBytes": received.size,
        "sha256": received.sha256,
        "verified": received.manifest is not None,
    }
