"""Requesting and reading verification restores.

A verification restores a completed local backup into a new scratch database on the server of
the backup's database (:mod:`lifeboat.core.scratch` names it), compares the restored census with
the one recorded at backup time, and always drops the scratch database (the executor does all
of that, :mod:`lifeboat.executor.verification`). The outcome lands on the backup record
(:mod:`lifeboat.api.domain.verifications.outcome`).
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    ACTIVE_STATUSES,
    BackupExecution,
    DatabaseConfig,
    VerificationExecution,
    new_id,
    utcnow,
)
from lifeboat.api.domain.backups.service import load_backup
from lifeboat.api.domain.common import ExecutionStatus
from lifeboat.api.domain.databases.schemas import DatabaseOut
from lifeboat.api.domain.databases.service import engine_of, load, sealed_target
from lifeboat.api.domain.databases.service import to_out as database_out
from lifeboat.api.domain.logs import logs_of
from lifeboat.api.domain.queueing import queue_job
from lifeboat.api.domain.restores.sources import s3_source_for
from lifeboat.api.domain.verifications.outcome import fail_verification
from lifeboat.api.domain.verifications.schemas import VerificationDetailOut, VerificationOut
from lifeboat.api.hub import ExecutionUpdate, UpdateKind
from lifeboat.core.errors import ConflictError, NotFoundError, ValidationError
from lifeboat.core.naming import Compression
from lifeboat.core.scratch import scratch_name
from lifeboat.wire.messages import S3Target, VerifyJob

log = logging.getLogger(__name__)


def to_out(row: VerificationExecution) -> VerificationOut:
    """The REST view of a verification row."""
    mismatches: list[str] = json.loads(row.mismatches) if row.mismatches else []
    return VerificationOut(
        id=row.id,
        backup_id=row.backup_execution_id,
        database_config_id=row.database_config_id,
        status=cast("ExecutionStatus", row.status),
        scratch_database=row.scratch_database,
        queue=row.queue,
        attempt=row.attempt,
        executor_id=row.executor_id,
        progress_bytes=row.progress_bytes,
        started_at=row.started_at,
        completed_at=row.completed_at,
        duration_seconds=row.duration_seconds,
        summary=row.summary,
        error_message=row.error_message,
        mismatches=mismatches,
        initiated_by=row.initiated_by,
    )


def _census_of(row: BackupExecution) -> tuple[dict[str, int], dict[str, int]]:
    """The census recorded for `row`, or ConflictError saying why there is none."""
    if row.row_counts is None or row.object_counts is None:
        why = f" ({row.census_error})" if row.census_error else ""
        raise ConflictError(
            "this backup has no recorded row counts, so it cannot be verified: it was made"
            f" before verification existed or the count failed{why}",
            details={"backupId": row.id},
        )
    tables: dict[str, int] = json.loads(row.row_counts)
    objects: dict[str, int] = json.loads(row.object_counts)
    return tables, objects


async def _check_verifiable(session: AsyncSession, row: BackupExecution) -> None:
    """Refuse a backup that is not completed, has no local copy, or is being verified."""
    if row.status != "completed":
        raise ConflictError(
            f"only a completed backup can be verified (this one is {row.status})",
            details={"backupId": row.id, "status": row.status},
        )
    has_local = row.local_status == "completed" and bool(row.local_path)
    has_s3 = row.s3_status == "completed" and bool(row.s3_key)
    if not (has_local or has_s3) or not row.checksum:
        raise ConflictError(
            "only a backup with a stored copy (local or S3) can be verified",
            details={"backupId": row.id},
        )
    active = await session.scalar(
        select(VerificationExecution.id)
        .where(
            VerificationExecution.backup_execution_id == row.id,
            VerificationExecution.status.in_(ACTIVE_STATUSES),
        )
        .limit(1)
    )
    if active is not None:
        raise ConflictError(
            "a verification of this backup is already pending or running",
            details={"executionId": active},
        )


async def _verification_server(session: AsyncSession, config: DatabaseConfig) -> DatabaseConfig:
    """The configuration whose server the scratch database goes on: the configured
    verification database, or the backed-up database itself."""
    if config.verification_database_id is None:
        return config
    server = await session.get(DatabaseConfig, config.verification_database_id)
    if server is None or server.type != config.type:
        raise ConflictError(
            f"the verification database configured for {config.name!r} is gone or not a"
            f" {config.type} database; set another one or none",
            details={"verificationDatabaseId": config.verification_database_id},
        )
    return server


def _verify_job(
    ctx: ApiContext,
    backup: BackupExecution,
    config: DatabaseConfig,
    server: DatabaseConfig,
    s3: S3Target | None,
    *,
    verification_id: str,
    now: datetime,
) -> VerifyJob:
    tables, objects = _census_of(backup)
    assert backup.checksum is not None
    return VerifyJob(
        execution_id=verification_id,
        backup_id=backup.id,
        target=sealed_target(ctx, server, bound_to=verification_id),
        scratch_database=scratch_name(verification_id, now),
        source_path=backup.local_path if s3 is None and backup.local_path else "",
        s3=s3,
        source_engine=engine_of(config),
        compression=cast("Compression", backup.compression_used or "zstd"),
        expected_sha256=backup.checksum,
        expected_size=backup.file_size_bytes or 0,
        expected_tables=tables,
        expected_objects=objects,
        requested_at=now,
    )


async def request_verification(
    ctx: ApiContext, backup_id: str, *, initiated_by: str | None
) -> VerificationOut:
    """Record a pending verification of `backup_id` and queue its job.

    Raises:
        NotFoundError: no such backup.
        ConflictError: not verifiable now (see :func:`_check_verifiable`, :func:`_census_of`).
        UnavailableError: the job could not be queued (the record is kept as failed).
    """
    now = utcnow()
    verification_id = new_id()
    async with ctx.db.write() as session:
        backup = await load_backup(session, backup_id)
        await _check_verifiable(session, backup)
        config = await load(session, backup.database_config_id)
        server = await _verification_server(session, config)
        s3 = await s3_source_for(ctx, session, backup, verification_id, "auto")
        job = _verify_job(ctx, backup, config, server, s3, verification_id=verification_id, now=now)
        row = VerificationExecution(
            id=verification_id,
            backup_execution_id=backup.id,
            database_config_id=config.id,
            status="pending",
            queue=config.queue,
            scratch_database=job.scratch_database,
            initiated_by=initiated_by,
            started_at=now,
            created_at=now,
        )
        session.add(row)
        backup.verification_status = "running"
        backup.verification_id = verification_id
        out = to_out(row)
    await queue_job(
        ctx,
        config.queue,
        job,
        what="verification",
        details={"executionId": verification_id},
        compensate=functools.partial(_fail_unqueued, ctx, verification_id),
    )
    announce(ctx, verification_id, event="created", status="pending")
    log.info("verification %s of backup %s queued on %s", verification_id, backup_id, out.queue)
    return out


async def _fail_unqueued(ctx: ApiContext, verification_id: str, reason: str) -> None:
    """Compensation of a verification job that could not be queued."""
    async with ctx.db.write() as session:
        row = await session.get(VerificationExecution, verification_id)
        if row is not None and row.status == "pending":
            await fail_verification(ctx, session, row, reason, at=utcnow())
    announce(ctx, verification_id, event="finished", status="failed")


def announce(ctx: ApiContext, verification_id: str, *, event: UpdateKind, status: str) -> None:
    """Tell SSE subscribers a verification changed."""
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type="verify",
            execution_id=verification_id,
            event=event,
            status=status,
        )
    )


async def _load(session: AsyncSession, verification_id: str) -> VerificationExecution:
    row = await session.get(VerificationExecution, verification_id)
    if row is None:
        raise NotFoundError(
            f"verification {verification_id} not found", details={"id": verification_id}
        )
    return row


async def get_verification(ctx: ApiContext, verification_id: str) -> VerificationDetailOut:
    """A verification with its log."""
    async with ctx.db.read() as session:
        out = to_out(await _load(session, verification_id))
        logs = await logs_of(session, verification_id)
    return VerificationDetailOut(**{f: getattr(out, f) for f in out.__struct_fields__}, logs=logs)


async def list_for_backup(ctx: ApiContext, backup_id: str) -> list[VerificationOut]:
    """The verifications of a backup, newest first."""
    async with ctx.db.read() as session:
        await load_backup(session, backup_id)
        rows = await session.scalars(
            select(VerificationExecution)
            .where(VerificationExecution.backup_execution_id == backup_id)
            .order_by(VerificationExecution.started_at.desc())
        )
        return [to_out(row) for row in rows.all()]


async def set_verification_target(
    ctx: ApiContext, config_id: str, target_id: str | None
) -> DatabaseOut:
    """Make verifications of `config_id`'s backups restore on the server of `target_id` (None:
    on its own server).

    Raises:
        NotFoundError: either configuration does not exist.
        ValidationError: the target is the database itself or of another engine.
    """
    async with ctx.db.write() as session:
        config = await load(session, config_id)
        if target_id is not None:
            target = await load(session, target_id)
            if target.id == config.id:
                raise ValidationError(
                    "a database is verified on its own server by default: leave it null",
                    details={"verificationDatabaseId": target_id},
                )
            if target.type != config.type:
                raise ValidationError(
                    f"a {config.type} backup cannot be verified on a {target.type} server",
                    details={"verificationDatabaseId": target_id},
                )
        config.verification_database_id = target_id
        return database_out(config)
