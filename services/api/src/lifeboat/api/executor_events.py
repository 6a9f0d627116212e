"""Executor events (wire messages on the events stream) applied by the API: JetStream → SQLite →
execution updates for the live-updates hub (SSE).

Rules, all idempotent under JetStream's at-least-once delivery:

* an event for an unknown execution is acknowledged and dropped;
* an event whose ``attempt`` is older than the attempt recorded for the execution comes from a
  stale executor (its lease expired and the job was redelivered) and is ignored (its log lines
  are still kept, tagged with their attempt in the metadata);
* a finished execution is final: a redelivered or late result does not change it (except a
  record the API itself failed because queueing looked like it failed, see below);
* log lines get an id derived from the event bytes, so a redelivered line is stored once;
* a result naming a file or key other than the ones its attempt may write (a forged or broken
  event: ``../../x``, another backup's key) changes nothing;
* a restore declared interrupted by a newer attempt (its older attempt went silent while
  changing the target) takes the real outcome of that older attempt if it ever reports one:
  the record describes what happened to the target;
* a cancelled result ends the execution as ``cancelled``.

Each delivery is acknowledged only after its transaction committed; a database error naks it
for a retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

import msgspec
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    TERMINAL_STATUSES,
    BackupExecution,
    ExecutionLog,
    RestoreExecution,
    VerificationExecution,
)
from lifeboat.api.domain.notifications import hooks
from lifeboat.api.domain.schedules.firing import after_backup_finished
from lifeboat.api.domain.verifications.outcome import finish_verification, record_census
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.core import naming
from lifeboat.wire.bus import Bus, Delivery
from lifeboat.wire.codec import executor_event_decoder
from lifeboat.wire.messages import (
    BackupFinished,
    ExecutionLogLine,
    ExecutionProgress,
    ExecutionStarted,
    ExecutorEvent,
    RestoreFinished,
    S3UploadFinished,
    VerifyFinished,
)

log = logging.getLogger(__name__)

_LOG_ID_NAMESPACE = uuid.UUID("6f1c8f0e-3b7a-4c55-9d8e-4c1b0d6a7e21")
RETRY_DELAY_S = 2.0

Execution = BackupExecution | RestoreExecution | VerificationExecution
Kind = Literal["backup", "restore", "verify"]
_MODELS: dict[Kind, type[Execution]] = {
    "backup": BackupExecution,
    "restore": RestoreExecution,
    "verify": VerificationExecution,
}


def _kind_of(event: ExecutorEvent) -> Kind:
    if isinstance(event, BackupFinished | S3UploadFinished):
        return "backup"
    if isinstance(event, RestoreFinished):
        return "restore"
    if isinstance(event, VerifyFinished):
        return "verify"
    return event.kind


async def _load(session: AsyncSession, kind: Kind, execution_id: str) -> Execution | None:
    return await session.get(_MODELS[kind], execution_id)


def _final(row: Execution) -> bool:
    """Whether a row no longer changes.

    The exception: a row the API marked failed because publishing the job raised (attempt 0,
    no executor yet) — the publish may have reached the server anyway, and the executor's
    real outcome is then better than our guess.
    """
    if row.status not in TERMINAL_STATUSES:
        return False
    return not (row.status == "failed" and row.attempt == 0 and row.executor_id is None)


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds()))


async def apply_event(ctx: ApiContext, event: ExecutorEvent, raw: bytes) -> ExecutionUpdate | None:
    """Apply one event to SQLite; returns the update to broadcast, or None if ignored."""
    kind = _kind_of(event)
    async with ctx.db.write() as session:
        row = await _load(session, kind, event.execution_id)
        if row is None:
            log.debug("event for unknown %s %s ignored", kind, event.execution_id)
            return None
        update = await _apply(ctx, session, row, event, raw, kind)
        if update is not None and update.event == "finished":
            await _notify(ctx, session, row, event)
        return update


async def _notify(
    ctx: ApiContext, session: AsyncSession, row: Execution, event: ExecutorEvent
) -> None:
    """Notifications of a result that changed the record (in the same transaction)."""
    if isinstance(event, S3UploadFinished):
        if isinstance(row, BackupExecution) and row.s3_status == "failed":
            await hooks.s3_failed(ctx, session, row)
    elif isinstance(row, VerificationExecution):
        return  # a failed verification is announced where it is recorded (outcome.py)
    elif row.status in TERMINAL_STATUSES:
        await hooks.execution_finished(ctx, session, row)


async def _apply(
    ctx: ApiContext,
    session: AsyncSession,
    row: Execution,
    event: ExecutorEvent,
    raw: bytes,
    kind: Kind,
) -> ExecutionUpdate | None:
    """The change `event` makes to `row` (None: ignored)."""
    if isinstance(event, S3UploadFinished):
        # An upload job of a completed backup: its own attempts, never stale for the row.
        return _finish_upload(row, event) if isinstance(row, BackupExecution) else None
    if _late_toucher(row, event):
        assert isinstance(event, RestoreFinished) and isinstance(row, RestoreExecution)
        return _finish_restore(row, event, late=True)
    if _is_stale(row, event, kind) and not isinstance(event, ExecutionLogLine):
        return None
    match event:
        case ExecutionLogLine():
            return await _log_line(session, event, raw)
        case ExecutionStarted():
            return None if _final(row) else _start(row, event, kind)
        case ExecutionProgress():
            return None if _final(row) else _progress(row, event, kind)
        case BackupFinished():
            if _final(row) or not isinstance(row, BackupExecution):
                return None
            return _backup_result(row, event)
        case RestoreFinished():
            if _final(row) or not isinstance(row, RestoreExecution):
                return None
            return _finish_restore(row, event, late=False)
        case VerifyFinished():
            if _final(row) or not isinstance(row, VerificationExecution):
                return None
            return await finish_verification(ctx, session, row, event)


def _is_stale(row: Execution, event: ExecutorEvent, kind: str) -> bool:
    """Whether `event` comes from an attempt older than the row's (its log lines are still
    kept; nothing else of it is applied)."""
    if event.attempt >= row.attempt:
        return False
    log.info(
        "stale event from attempt %s of %s %s (now at attempt %s) ignored",
        event.attempt,
        kind,
        row.id,
        row.attempt,
    )
    return True


def _start(row: Execution, event: ExecutionStarted, kind: Kind) -> ExecutionUpdate:
    if row.status == "pending" or event.attempt > row.attempt:
        row.started_at = event.at
        row.progress_bytes = 0
    row.status = "running"
    row.attempt = event.attempt
    row.executor_id = event.executor_id
    row.error_message = None
    row.completed_at = None
    return ExecutionUpdate(
        execution_type=kind, execution_id=row.id, event="started", status="running", at=event.at
    )


def _progress(row: Execution, event: ExecutionProgress, kind: Kind) -> ExecutionUpdate:
    row.status = "running"
    row.attempt = event.attempt
    row.progress_bytes = event.bytes_done
    return ExecutionUpdate(
        execution_type=kind,
        execution_id=row.id,
        event="progress",
        status="running",
        progress_bytes=event.bytes_done,
        bytes_total=event.bytes_total,
        at=event.at,
    )


def _backup_result(row: BackupExecution, event: BackupFinished) -> ExecutionUpdate | None:
    """Store a backup's result, unless it names files or keys that are not this backup's."""
    if (problem := _forged_paths(row, event)) is not None:
        log.warning("result of backup %s ignored: %s (attempt %s)", row.id, problem, event.attempt)
        return None
    _finish_backup(row, event)
    return ExecutionUpdate(
        execution_type="backup",
        execution_id=row.id,
        event="finished",
        status=row.status,
        progress_bytes=row.progress_bytes,
        message=row.error_message,
        at=event.finished_at,
    )


def _late_toucher(row: Execution, event: ExecutorEvent) -> bool:
    """Whether `event` is the real outcome of the restore attempt a newer attempt declared
    interrupted (it was changing the target when it went silent, and has now finished)."""
    return (
        isinstance(event, RestoreFinished)
        and isinstance(row, RestoreExecution)
        and row.status == "failed"
        and row.interrupted_attempt is not None
        and row.interrupted_attempt == event.attempt
        and event.interrupted_attempt is None
    )


def _finish_restore(
    row: RestoreExecution, event: RestoreFinished, *, late: bool
) -> ExecutionUpdate:
    if not late:
        row.attempt = event.attempt
        row.started_at = event.started_at
        row.interrupted_attempt = event.interrupted_attempt
    else:
        row.interrupted_attempt = None
        log.info(
            "restore %s: attempt %s, declared interrupted, finished after all (ok=%s)",
            row.id,
            event.attempt,
            event.ok,
        )
    if event.ok:
        row.status = "completed"
    else:
        row.status = "cancelled" if event.cancelled else "failed"
    row.completed_at = event.finished_at
    row.duration_seconds = _seconds(row.started_at, event.finished_at)
    row.error_message = None if event.ok else (event.error_message or "restore failed")
    return ExecutionUpdate(
        execution_type="restore",
        execution_id=row.id,
        event="finished",
        status=row.status,
        message=row.error_message,
        at=event.finished_at,
    )


def _forged_paths(row: BackupExecution, event: BackupFinished) -> str | None:
    """Why the file or key a backup result names cannot be this backup's (None: they can).

    An attempt writes only ``attempt_file_name(file_name, n)`` under a relative directory, and
    ``attempt_s3_key(key, n)``; a safety backup may name an earlier attempt's artifact. The
    path must also stay inside the storage root (no ``..``, not absolute).
    """
    allowed = range(1, max(event.attempt, 1) + 1)
    if event.relative_path is not None:
        path = PurePosixPath(event.relative_path)
        if path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
            return f"relative path {event.relative_path!r} leaves the storage root"
        canonical = row.file_name or ""
        if path.name not in {naming.attempt_file_name(canonical, n) for n in allowed}:
            return f"file {path.name!r} is not this backup's"
    keys: set[str] = (
        {naming.attempt_s3_key(row.s3_key, n) for n in allowed} if row.s3_key else set()
    )
    if event.s3_key is not None and row.s3_key is not None and event.s3_key not in keys:
        return f"S3 key {event.s3_key!r} is not this backup's"
    if event.s3_bucket not in (None, row.s3_bucket) and row.s3_bucket is not None:
        return f"S3 bucket {event.s3_bucket!r} is not this backup's"
    return None


def _finish_backup(row: BackupExecution, event: BackupFinished) -> None:
    row.attempt = event.attempt
    row.started_at = event.started_at
    row.completed_at = event.finished_at
    row.duration_seconds = _seconds(event.started_at, event.finished_at)
    row.server_version = event.server_version or row.server_version
    row.tool_version = event.tool_version or row.tool_version
    row.database_size_bytes = event.database_size_bytes
    if event.ok:
        row.status = "completed"
        row.file_name = event.file_name or row.file_name
        row.file_size_bytes = event.size_bytes
        row.local_path = event.relative_path
        row.checksum = event.sha256
        row.compression_used = event.compression or row.compression_used
        row.progress_bytes = event.size_bytes or row.progress_bytes
        row.error_message = None
    else:
        row.status = "cancelled" if event.cancelled else "failed"
        row.error_message = event.error_message or "backup failed"
    _copies(row, event)
    record_census(row, event)


def _copies(row: BackupExecution, event: BackupFinished) -> None:
    """Per-copy status of a finished backup (older executors send no per-copy fields)."""
    if event.local_ok is not None:
        row.local_status = "completed" if event.local_ok else "failed"
    elif row.local_status == "pending":
        row.local_status = "completed" if event.ok and event.relative_path else "failed"
    if event.s3_ok is not None:
        row.s3_uploaded = event.s3_ok
        row.s3_status = "completed" if event.s3_ok else "failed"
        row.s3_bucket = event.s3_bucket or row.s3_bucket
        row.s3_key = event.s3_key or row.s3_key
        row.s3_upload_at = event.finished_at if event.s3_ok else None
        row.s3_error = None if event.s3_ok else (event.s3_error or "the S3 upload failed")
    elif row.s3_status == "pending":
        row.s3_status = "failed"
        row.s3_error = event.error_message or "the S3 upload did not run"


def _finish_upload(row: BackupExecution, event: S3UploadFinished) -> ExecutionUpdate | None:
    if row.s3_status == "completed":
        return None  # a redelivered result of an upload that already succeeded
    row.s3_bucket, row.s3_key = event.s3_bucket, event.s3_key
    if event.ok:
        row.s3_uploaded, row.s3_status, row.s3_error = True, "completed", None
        row.s3_upload_at = event.finished_at
    else:
        row.s3_uploaded, row.s3_status = False, "failed"
        row.s3_error = event.error_message or "the S3 upload failed"
    return ExecutionUpdate(
        execution_type="backup",
        execution_id=row.id,
        event="finished",
        status=row.status,
        message=None if event.ok else row.s3_error,
        at=event.finished_at,
    )


async def _log_line(session: AsyncSession, event: ExecutionLogLine, raw: bytes) -> ExecutionUpdate:
    metadata = dict(event.metadata or {})
    metadata.setdefault("attempt", event.attempt)
    log_id = str(uuid.uuid5(_LOG_ID_NAMESPACE, raw.decode("utf-8", "replace")))
    await session.execute(
        insert(ExecutionLog)
        .values(
            id=log_id,
            execution_id=event.execution_id,
            execution_type=event.kind,
            log_level=event.level,
            message=event.message,
            metadata_json=json.dumps(metadata, default=str),
            timestamp=event.at,
        )
        .on_conflict_do_nothing(index_elements=[ExecutionLog.id])
    )
    return ExecutionUpdate(
        execution_type=event.kind,
        execution_id=event.execution_id,
        event="log",
        level=event.level,
        message=event.message,
        at=event.at,
    )


async def handle_delivery(ctx: ApiContext, delivery: Delivery) -> None:
    """Decode, apply, acknowledge, broadcast one delivery."""
    try:
        event = executor_event_decoder.decode(delivery.data)
    except msgspec.DecodeError as exc:
        log.warning("unreadable event dropped: %s", exc)
        await delivery.term()
        return
    try:
        update = await apply_event(ctx, event, delivery.data)
    except Exception:
        log.exception("could not store event for %s; will retry", event.execution_id)
        await delivery.nak(delay=RETRY_DELAY_S)
        return
    if isinstance(event, BackupFinished):
        # Retention after a completed backup, retry of a failed scheduled one (idempotent, never
        # raises); before the ack so that a crash here replays it.
        await after_backup_finished(ctx, event)
    await delivery.ack()
    if update is not None:
        ctx.hub.publish(update)


async def consume_executor_events(ctx: ApiContext, bus: Bus) -> None:
    """Run forever: pull events with the API's durable consumer and apply them."""
    while True:
        try:
            async for delivery in bus.events():
                await handle_delivery(ctx, delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS hiccup: the durable consumer resumes where we were
            log.warning("events consumer interrupted (%s); resuming", exc)
            await asyncio.sleep(1.0)
