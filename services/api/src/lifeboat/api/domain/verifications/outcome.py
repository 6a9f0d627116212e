"""What a verification's result does to its record and to the backup it verified.

Also records the census a finished backup reports (:func:`record_census`), and holds the one
place a failed verification is announced (:func:`on_verification_failed`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TypedDict, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, DatabaseConfig, VerificationExecution
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.api.domain.verifications.schemas import VerificationStatus
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.wire.messages import BackupFinished, VerifyFinished

log = logging.getLogger(__name__)


def record_census(row: BackupExecution, event: BackupFinished) -> None:
    """Keep the row counts and object counts a completed backup reports (or why it has none)."""
    if not event.ok:
        return
    row.row_counts = json.dumps(event.row_counts) if event.row_counts is not None else None
    row.object_counts = json.dumps(event.object_counts) if event.object_counts is not None else None
    row.census_error = event.census_error


class VerificationFields(TypedDict):
    """The verification fields of ``BackupOut``."""

    verification_status: VerificationStatus
    verified_at: datetime | None
    verification_summary: str | None
    verification_error: str | None
    verification_id: str | None
    recorded_tables: int | None
    recorded_rows: int | None


def verification_fields(row: BackupExecution) -> VerificationFields:
    """What the REST view of backup `row` says about its census and verification."""
    tables: dict[str, int] | None = json.loads(row.row_counts) if row.row_counts else None
    return VerificationFields(
        verification_status=cast("VerificationStatus", row.verification_status),
        verified_at=row.verified_at,
        verification_summary=row.verification_summary,
        verification_error=row.verification_error,
        verification_id=row.verification_id,
        recorded_tables=len(tables) if tables is not None else None,
        recorded_rows=sum(tables.values()) if tables is not None else None,
    )


def summary_of(at: datetime, *, tables: int, rows: int, seconds: int) -> str:
    """``verified 2026-12-02: 42 tables, 1,234,567 rows, 38 s``."""
    return f"verified {at:%Y-%m-%d}: {tables:,} tables, {rows:,} rows, {seconds} s"


async def on_verification_failed(
    ctx: ApiContext,
    session: AsyncSession,
    backup: BackupExecution,
    verification: VerificationExecution,
    reason: str,
) -> None:
    """A verification failed (mismatch, failed restore, or the job could not run): the
    ``verification.failed`` notification, queued in `session` (the write transaction that
    records the failure, so both commit together)."""
    log.warning(
        "verification.failed: backup %s (database config %s), verification %s: %s",
        backup.id,
        backup.database_config_id,
        verification.id,
        reason,
    )
    config = await session.get(DatabaseConfig, backup.database_config_id)
    name = config.name if config is not None else backup.database_config_id
    await emit(
        ctx,
        "verification.failed",
        database_id=backup.database_config_id,
        title=f"Verification failed: {name}",
        body=f"{name}: the verification restore of backup {backup.id} failed: {reason}",
        details={
            "executionId": verification.id,
            "backupId": backup.id,
            "databaseName": name,
            "error": reason,
        },
        session=session,
    )


async def fail_verification(
    ctx: ApiContext,
    session: AsyncSession,
    row: VerificationExecution,
    reason: str,
    *,
    at: datetime,
) -> None:
    """End `row` failed with `reason` (no executor result: e.g. the job was never queued)."""
    row.status = "failed"
    row.error_message = reason
    row.completed_at = at
    backup = await session.get(BackupExecution, row.backup_execution_id)
    if backup is not None and backup.verification_id == row.id:
        backup.verification_status = "failed"
        backup.verification_error = reason
        await on_verification_failed(ctx, session, backup, row, reason)


async def finish_verification(
    ctx: ApiContext, session: AsyncSession, row: VerificationExecution, event: VerifyFinished
) -> ExecutionUpdate:
    """Store a verification's result on its record and on the backup (if it is the backup's
    latest verification)."""
    seconds = max(0, round((event.finished_at - event.started_at).total_seconds()))
    row.attempt = event.attempt
    row.started_at = event.started_at
    row.completed_at = event.finished_at
    row.duration_seconds = seconds
    row.mismatches = json.dumps(event.mismatches) if event.mismatches else None
    if event.ok:
        row.status = "completed"
        row.error_message = None
        row.summary = summary_of(
            event.finished_at, tables=event.tables, rows=event.rows, seconds=seconds
        )
    else:
        row.status = "cancelled" if event.cancelled else "failed"
        row.error_message = event.error_message or "verification failed"
    backup = await session.get(BackupExecution, row.backup_execution_id)
    if backup is not None and backup.verification_id == row.id:
        await _onto_backup(ctx, session, backup, row, event)
    return ExecutionUpdate(
        execution_type="verify",
        execution_id=row.id,
        event="finished",
        status=row.status,
        message=row.error_message,
        at=event.finished_at,
    )


async def _onto_backup(
    ctx: ApiContext,
    session: AsyncSession,
    backup: BackupExecution,
    row: VerificationExecution,
    event: VerifyFinished,
) -> None:
    if event.ok:
        backup.verification_status = "verified"
        backup.verified_at = event.finished_at
        backup.verification_summary = row.summary
        backup.verification_error = None
    elif event.cancelled:
        await _back_to_earlier_verdict(session, backup, row)
    else:
        backup.verification_status = "failed"
        backup.verification_error = row.error_message
        await on_verification_failed(
            ctx, session, backup, row, row.error_message or "verification failed"
        )


async def _back_to_earlier_verdict(
    session: AsyncSession, backup: BackupExecution, cancelled: VerificationExecution
) -> None:
    """A cancelled verification proves nothing either way: the backup shows what the latest
    verification that ended before it found (unverified if none did)."""
    earlier = await session.scalar(
        select(VerificationExecution.status)
        .where(
            VerificationExecution.backup_execution_id == backup.id,
            VerificationExecution.id != cancelled.id,
            VerificationExecution.status.in_(("completed", "failed")),
        )
        .order_by(VerificationExecution.started_at.desc())
        .limit(1)
    )
    verdicts = {"completed": "verified", "failed": "failed"}
    backup.verification_status = verdicts.get(earlier or "", "unverified")


async def settle_cancelled(session: AsyncSession, row: VerificationExecution) -> None:
    """A verification cancelled before an executor took it: the backup's earlier verdict."""
    backup = await session.get(BackupExecution, row.backup_execution_id)
    if backup is not None and backup.verification_id == row.id:
        await _back_to_earlier_verdict(session, backup, row)
