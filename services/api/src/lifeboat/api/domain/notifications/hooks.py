"""Notifications of execution outcomes, emitted in the transaction that stores the outcome.

Called by :func:`lifeboat.api.events.apply_event` when an executor's result changed a record
(so a redelivered result, which changes nothing, notifies nothing), and by the API's own
failure paths (a job whose deliveries ran out).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, DatabaseConfig, RestoreExecution
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.api.domain.notifications.overdue import clear


async def _name(session: AsyncSession, database_id: str) -> str:
    config = await session.get(DatabaseConfig, database_id)
    return config.name if config is not None else database_id


async def backup_finished(ctx: ApiContext, session: AsyncSession, row: BackupExecution) -> None:
    """``backup.completed`` / ``backup.failed`` (and ``s3.failed``, the all-clear) for `row`."""
    name = await _name(session, row.database_config_id)
    details = {
        "executionId": row.id,
        "databaseName": name,
        "backupType": row.backup_type,
        "status": row.status,
    }
    if row.status == "completed":
        size = row.file_size_bytes or 0
        await emit(
            ctx,
            "backup.completed",
            database_id=row.database_config_id,
            title=f"Backup completed: {name}",
            body=f"{name}: {row.backup_type} backup completed ({size} bytes, "
            f"{row.duration_seconds or 0} s).",
            details={**details, "sizeBytes": size, "durationSeconds": row.duration_seconds},
            session=session,
        )
        if row.s3_status == "failed":
            await s3_failed(ctx, session, row)
        await clear(ctx, session, row.database_config_id, name)
    elif row.status == "failed":
        await emit(
            ctx,
            "backup.failed",
            database_id=row.database_config_id,
            title=f"Backup failed: {name}",
            body=f"{name}: {row.backup_type} backup failed: {row.error_message or 'unknown error'}",
            details={**details, "error": row.error_message},
            session=session,
        )


async def s3_failed(ctx: ApiContext, session: AsyncSession, row: BackupExecution) -> None:
    """``s3.failed``: the S3 copy of a backup failed."""
    name = await _name(session, row.database_config_id)
    await emit(
        ctx,
        "s3.failed",
        database_id=row.database_config_id,
        title=f"S3 copy failed: {name}",
        body=f"{name}: the S3 copy of backup {row.id} failed: {row.s3_error or 'unknown error'}",
        details={"executionId": row.id, "databaseName": name, "error": row.s3_error},
        session=session,
    )


async def restore_finished(ctx: ApiContext, session: AsyncSession, row: RestoreExecution) -> None:
    """``restore.completed`` / ``restore.failed`` for `row` (a cancelled one notifies nothing)."""
    if row.status not in ("completed", "failed"):
        return
    name = await _name(session, row.database_config_id)
    ok = row.status == "completed"
    await emit(
        ctx,
        "restore.completed" if ok else "restore.failed",
        database_id=row.database_config_id,
        title=f"Restore {'completed' if ok else 'failed'}: {name}",
        body=f"{name}: restore {'completed' if ok else 'failed'}"
        + ("." if ok else f": {row.error_message or 'unknown error'}"),
        details={"executionId": row.id, "databaseName": name, "error": row.error_message},
        session=session,
    )


async def execution_finished(
    ctx: ApiContext, session: AsyncSession, row: BackupExecution | RestoreExecution
) -> None:
    """The notifications of a backup or restore that just reached its final status."""
    if isinstance(row, BackupExecution):
        await backup_finished(ctx, session, row)
    else:
        await restore_finished(ctx, session, row)
