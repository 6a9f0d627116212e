"""Recording a restore and queueing its job: validate the target and the artifact, build the
job and its record, persist, queue (see :func:`lifeboat.api.domain.queueing.queue_job`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    ACTIVE_STATUSES,
    BackupExecution,
    DatabaseConfig,
    RestoreExecution,
    utcnow,
)
from lifeboat.api.domain.databases.service import engine_of, load, sealed_target
from lifeboat.api.domain.notifications import hooks
from lifeboat.api.domain.queueing import fail_if_pending, queue_job
from lifeboat.api.domain.restores import uploads
from lifeboat.api.domain.restores.safety import SafetyBackup, safety_backup_for
from lifeboat.api.domain.restores.schemas import RestoreOptionsIn, RestoreOptionsOut
from lifeboat.api.domain.restores.sources import Artifact
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.core.errors import ConflictError, ValidationError
from lifeboat.wire.messages import RestoreJob, RestoreOptions

log = logging.getLogger(__name__)

Resolve = Callable[[AsyncSession, DatabaseConfig], Awaitable[Artifact]]
"""The artifact of a restore, found inside the transaction that records it."""


async def check_target_free(session: AsyncSession, target: DatabaseConfig) -> None:
    """Refuse a disabled target, or one a restore is already pending or running into."""
    if not target.enabled:
        raise ValidationError(
            f"database {target.name!r} is disabled", details={"databaseId": target.id}
        )
    active = await session.scalar(
        select(RestoreExecution.id)
        .where(
            RestoreExecution.database_config_id == target.id,
            RestoreExecution.status.in_(ACTIVE_STATUSES),
        )
        .limit(1)
    )
    if active is not None:
        raise ConflictError(
            f"a restore into {target.name!r} is already pending or running",
            details={"executionId": active},
        )


async def queue_restore(
    ctx: ApiContext,
    *,
    restore_id: str,
    database_id: str,
    opts: RestoreOptionsIn,
    initiated_by: str | None,
    resolve: Resolve,
) -> tuple[RestoreExecution, str]:
    """Record a pending restore of what `resolve` finds (with its safety backup, if asked)
    and queue its job; the record and the target's name.

    Raises:
        ValidationError, NotFoundError, ConflictError: the restore is refused.
        UnavailableError: the job could not be queued (the record is kept as failed).
    """
    now = utcnow()
    safety: SafetyBackup | None = None
    async with ctx.db.write() as session:
        target, artifact = await _target_and_artifact(session, database_id, resolve)
        if opts.safety_backup:
            safety = safety_backup_for(ctx, target, now=now)
            session.add(safety.row)
        job = _restore_job(ctx, target, artifact, opts, safety, restore_id=restore_id, now=now)
        row = _pending_restore_row(target, artifact, opts, job, initiated_by=initiated_by)
        session.add(row)
        queue, name = target.queue, target.name
    await queue_job(
        ctx,
        queue,
        job,
        what="restore",
        details={"executionId": restore_id},
        compensate=functools.partial(
            _fail_unqueued_restore, ctx, restore_id, safety, uploaded=artifact.uploaded
        ),
    )
    _announce_queued(ctx, restore_id, safety)
    log.info(
        "restore %s into %s queued on %s%s",
        restore_id,
        name,
        queue,
        f" (safety backup {safety.row.id} first)" if safety is not None else "",
    )
    return row, name


async def _target_and_artifact(
    session: AsyncSession, database_id: str, resolve: Resolve
) -> tuple[DatabaseConfig, Artifact]:
    """The target database and the artifact to restore into it, once both are checked: same
    engine, target enabled and not already being restored into."""
    target = await load(session, database_id)
    artifact = await resolve(session, target)
    if artifact.engine != engine_of(target):
        raise ValidationError(
            f"a {artifact.engine} backup cannot be restored into a {target.type} database",
            details={"sourceType": artifact.engine, "targetType": target.type},
        )
    await check_target_free(session, target)
    return target, artifact


def _restore_job(
    ctx: ApiContext,
    target: DatabaseConfig,
    artifact: Artifact,
    opts: RestoreOptionsIn,
    safety: SafetyBackup | None,
    *,
    restore_id: str,
    now: datetime,
) -> RestoreJob:
    """The job an executor runs: the sealed target, the artifact and what it must verify."""
    return RestoreJob(
        execution_id=restore_id,
        target=sealed_target(ctx, target, bound_to=restore_id),
        source_path=artifact.local_path or "",
        source_engine=artifact.engine,
        compression=artifact.compression,
        expected_sha256=artifact.sha256 or "",
        expected_size=artifact.size,
        options=RestoreOptions(
            drop_and_recreate=opts.drop_and_recreate,
            clean=opts.clean,
            schema_only=opts.schema_only,
            data_only=opts.data_only,
            no_owner=opts.no_owner,
            exit_on_error=opts.exit_on_error,
        ),
        requested_at=now,
        s3=artifact.s3,
        unverified=artifact.sha256 is None,
        uploaded=artifact.uploaded,
        safety_backup=safety.job if safety is not None else None,
    )


def _pending_restore_row(
    target: DatabaseConfig,
    artifact: Artifact,
    opts: RestoreOptionsIn,
    job: RestoreJob,
    *,
    initiated_by: str | None,
) -> RestoreExecution:
    """The record of `job`, pending until the executor's first event."""
    s3 = artifact.s3
    return RestoreExecution(
        id=job.execution_id,
        database_config_id=target.id,
        backup_execution_id=artifact.backup_id,
        initiated_by=initiated_by,
        status="pending",
        queue=target.queue,
        source_type="upload" if artifact.uploaded else "s3" if s3 is not None else "local",
        source_path=artifact.local_path,
        s3_bucket=s3.bucket if s3 is not None else None,
        s3_key=s3.key if s3 is not None else None,
        restore_options=_options_json(opts),
        safety_backup_id=job.safety_backup.execution_id if job.safety_backup else None,
        started_at=job.requested_at,
        created_at=job.requested_at,
    )


def _options_json(opts: RestoreOptionsIn) -> str:
    """The options as the restore record stores them (and :func:`to_out` reads them)."""
    return msgspec.json.encode(
        RestoreOptionsOut(
            drop_and_recreate=opts.drop_and_recreate,
            clean=opts.clean,
            schema_only=opts.schema_only,
            data_only=opts.data_only,
            no_owner=opts.no_owner,
            exit_on_error=opts.exit_on_error,
            safety_backup=opts.safety_backup,
        )
    ).decode()


async def _fail_unqueued_restore(
    ctx: ApiContext, restore_id: str, safety: SafetyBackup | None, reason: str, *, uploaded: bool
) -> None:
    """Compensation of a restore job that could not be queued: the restore and its safety
    backup end failed, an uploaded file is removed."""
    async with ctx.db.write() as session:
        row = await session.get(RestoreExecution, restore_id)
        if fail_if_pending(row, reason):
            assert row is not None
            await hooks.execution_finished(ctx, session, row)  # restore.failed
        if safety is not None:
            backup = await session.get(BackupExecution, safety.row.id)
            if fail_if_pending(backup, reason):
                assert backup is not None
                backup.local_status = "failed"
    if uploaded:
        uploads.remove_upload(ctx, restore_id)


def _announce_queued(ctx: ApiContext, restore_id: str, safety: SafetyBackup | None) -> None:
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type="restore", execution_id=restore_id, event="created", status="pending"
        )
    )
    if safety is not None:
        ctx.hub.publish(
            ExecutionUpdate(
                execution_type="backup",
                execution_id=safety.row.id,
                event="created",
                status="pending",
            )
        )
