"""From "schedule fired" to a backup: the API's consumer of the FIRED stream, retries of failed
scheduled backups, and what happens after a backup finishes (retry or retention).

A fire becomes a backup through :func:`lifeboat.api.domain.backups.service.request_backup`,
the code path of ``POST /api/backups``. Idempotent under at-least-once delivery and several
scheduler replicas: one execution per (schedule, slot, retry) — checked first, and enforced by a
unique index for the race. When the database already has a backup pending or running, or the
backup cannot be requested at all (database disabled, S3 not configured...), a ``skipped``
execution records why.

Retries: when a scheduled backup fails and its schedule has retries left
(``retryCount``, else ``SCHEDULE_RETRY_COUNT``), a retry fire is published into the FIRED stream
with ``not_before`` = now + ``retryDelaySeconds * 2**n`` (else ``SCHEDULE_RETRY_DELAY_SECONDS``).
The consumer leaves it there (nak with that delay) until it is due, so a retry survives an API
restart. The retry is a new execution linked to the failed one (``retryOf``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupExecution,
    BackupSchedule,
    DatabaseConfig,
    ExecutionLog,
    utcnow,
)
from lifeboat.api.domain.backups.service import request_backup
from lifeboat.api.domain.common import BackupType, CompressionName
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.api.domain.retention.cleanup import after_backup_completed
from lifeboat.api.domain.schedules.service import next_run, publish, resync
from lifeboat.api.domain.verifications.scheduled import verify_after_backup
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.core.errors import ClientError, UnavailableError
from lifeboat.wire.bus import Bus, Delivery
from lifeboat.wire.codec import schedule_fired_decoder
from lifeboat.wire.messages import BackupFinished, ScheduleFired

log = logging.getLogger(__name__)

RETRY_DELAY_S = 2.0
Outcome = Literal["created", "skipped", "duplicate", "ignored", "failed"]


def retry_delay(base_seconds: int, retry_number: int) -> float:
    """Seconds before retry ``retry_number`` (1, 2, ...): ``base * 2**(retry_number - 1)``."""
    return float(base_seconds * 2 ** max(0, retry_number - 1))


def _execution_id_of(details: Any) -> str | None:
    """The ``executionId`` in an error's details, if any."""
    if isinstance(details, dict):
        found: Any = cast("dict[str, Any]", details).get("executionId")
        return found if isinstance(found, str) else None
    return None


def _backup_type(schedule_type: str) -> BackupType:
    return cast("BackupType", schedule_type)


async def _already_handled(ctx: ApiContext, fired: ScheduleFired) -> str | None:
    async with ctx.db.read() as session:
        return await session.scalar(
            select(BackupExecution.id).where(
                BackupExecution.backup_schedule_id == fired.schedule_id,
                BackupExecution.scheduled_for == fired.slot,
                BackupExecution.retry_number == fired.retry,
            )
        )


async def _record_skip(
    ctx: ApiContext, schedule: BackupSchedule, fired: ScheduleFired, reason: str
) -> Outcome:
    """Store a ``skipped`` execution saying why the slot produced no backup."""
    now = utcnow()
    row = BackupExecution(
        database_config_id=schedule.database_config_id,
        backup_schedule_id=schedule.id,
        scheduled_for=fired.slot,
        retry_number=fired.retry,
        retry_of=fired.retry_of,
        backup_type=_backup_type(schedule.schedule_type),
        status="skipped",
        compression_used=schedule.compression,
        started_at=now,
        completed_at=now,
        duration_seconds=0,
        error_message=reason,
        created_at=now,
    )
    try:
        async with ctx.db.write() as session:
            config = await session.get(DatabaseConfig, schedule.database_config_id)
            if config is not None:
                row.queue = config.queue
            session.add(row)
            await session.flush()
            session.add(
                ExecutionLog(
                    execution_id=row.id,
                    execution_type="backup",
                    log_level="warn",
                    message=f"scheduled backup skipped: {reason}",
                    metadata_json=json.dumps(
                        {"scheduleId": schedule.id, "slot": fired.slot.isoformat()}
                    ),
                    timestamp=now,
                )
            )
            await _notify_missed(ctx, session, schedule, config, fired, reason)
    except IntegrityError:
        return "duplicate"
    log.info("schedule %s slot %s skipped: %s", schedule.id, fired.slot.isoformat(), reason)
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type="backup", execution_id=row.id, event="created", status="skipped"
        )
    )
    return "skipped"


async def _notify_missed(
    ctx: ApiContext,
    session: AsyncSession,
    schedule: BackupSchedule,
    config: DatabaseConfig | None,
    fired: ScheduleFired,
    reason: str,
) -> None:
    """``schedule.missed``: a slot of `schedule` produced no backup."""
    name = config.name if config is not None else schedule.database_config_id
    await emit(
        ctx,
        "schedule.missed",
        database_id=schedule.database_config_id,
        title=f"Scheduled backup skipped: {name}",
        body=f"{name}: the {fired.slot.isoformat()} run of its schedule was skipped: {reason}",
        details={"scheduleId": schedule.id, "slot": fired.slot, "reason": reason},
        session=session,
    )


async def _mark_fired(ctx: ApiContext, schedule_id: str, slot: datetime) -> None:
    """Remember the latest handled slot (also in the KV entry the schedulers read)."""
    async with ctx.db.write() as session:
        schedule = await session.get(BackupSchedule, schedule_id)
        if schedule is None:
            return
        if schedule.last_fired_at is None or schedule.last_fired_at < slot:
            schedule.last_fired_at = slot
        schedule.next_run_at = next_run(schedule, utcnow())
    await publish(ctx, schedule)


async def apply_fire(ctx: ApiContext, fired: ScheduleFired) -> Outcome:
    """Turn one fire into a backup (or a skip record); idempotent per (schedule, slot, retry)."""
    async with ctx.db.read() as session:
        schedule = await session.get(BackupSchedule, fired.schedule_id)
    if schedule is None or not schedule.enabled:
        log.info(
            "fire of %s schedule %s ignored",
            "unknown" if not schedule else "disabled",
            fired.schedule_id,
        )
        return "ignored"
    if await _already_handled(ctx, fired) is not None:
        return "duplicate"
    outcome: Outcome
    try:
        await request_backup(
            ctx,
            database_id=schedule.database_config_id,
            backup_type=_backup_type(schedule.schedule_type),
            compression=cast("CompressionName", schedule.compression),
            upload_to_s3=schedule.s3_upload_enabled,
            s3_config_id=schedule.s3_config_id if schedule.s3_upload_enabled else None,
            store_locally=schedule.store_locally,
            schedule_id=schedule.id,
            scheduled_for=fired.slot,
            retry_number=fired.retry,
            retry_of=fired.retry_of,
        )
        outcome = "created"
    except IntegrityError:
        outcome = "duplicate"
    except ClientError as exc:  # busy database, disabled database, S3 not configured...
        outcome = await _record_skip(ctx, schedule, fired, exc.message)
    except UnavailableError as exc:
        # request_backup kept a failed record: retry it like any failed scheduled backup.
        failed_id = _execution_id_of(exc.details)
        if failed_id is not None:
            await schedule_retry(ctx, failed_id)
        outcome = "failed"
    if fired.retry == 0:
        await _mark_fired(ctx, schedule.id, fired.slot)
    return outcome


async def schedule_retry(ctx: ApiContext, execution_id: str) -> ScheduleFired | None:
    """Publish the retry of a failed scheduled execution if its schedule allows one more.

    Returns the retry fire, or None when there is nothing to retry. Idempotent: the retry's
    message id and the per-slot unique index make a second call harmless.
    """
    async with ctx.db.read() as session:
        row = await session.get(BackupExecution, execution_id)
        if (
            row is None
            or row.status != "failed"
            or row.backup_schedule_id is None
            or row.scheduled_for is None
        ):
            return None
        schedule = await session.get(BackupSchedule, row.backup_schedule_id)
    if schedule is None or not schedule.enabled:
        return None
    limit = (
        schedule.retry_count
        if schedule.retry_count is not None
        else ctx.settings.schedule_retry_count
    )
    if row.retry_number >= limit:
        return None
    base = schedule.retry_delay_seconds or ctx.settings.schedule_retry_delay_seconds
    number = row.retry_number + 1
    now = utcnow()
    due = now + timedelta(seconds=retry_delay(base, number))
    fired = ScheduleFired(
        schedule_id=schedule.id,
        slot=row.scheduled_for,
        retry=number,
        not_before=due,
        retry_of=row.id,
        fired_at=now,
        scheduler_id="api",
    )
    try:
        await ctx.nats.require().publish_fired(fired)
    except UnavailableError as exc:
        log.error("could not schedule retry %d of %s: %s", number, row.id, exc.message)
        return None
    async with ctx.db.write() as session:
        session.add(
            ExecutionLog(
                execution_id=row.id,
                execution_type="backup",
                log_level="info",
                message=f"retry {number} of {limit} scheduled for {due.isoformat()}",
                metadata_json=json.dumps({"retry": number, "notBefore": due.isoformat()}),
                timestamp=now,
            )
        )
    log.info("retry %d/%d of backup %s due at %s", number, limit, row.id, due.isoformat())
    return fired


async def after_backup_finished(ctx: ApiContext, event: BackupFinished) -> None:
    """Follow-up of a stored result: retention (which decides whether it applies, see
    :func:`~lifeboat.api.domain.retention.cleanup.after_backup_completed`), then the retry of a
    failed scheduled backup (nothing unless it failed), then the verification its schedule asks
    for (:mod:`lifeboat.api.domain.verifications.scheduled`). All are idempotent, so
    redelivered results are harmless. Never raises."""
    try:
        await after_backup_completed(ctx, event.execution_id)
        await schedule_retry(ctx, event.execution_id)
        await verify_after_backup(ctx, event)
    except Exception:
        log.exception("follow-up of backup %s failed", event.execution_id)


async def handle_fired(ctx: ApiContext, delivery: Delivery) -> Outcome | None:
    """Decode, apply (or postpone a retry not yet due) and acknowledge one fire."""
    try:
        fired = schedule_fired_decoder.decode(delivery.data)
    except msgspec.DecodeError as exc:
        log.warning("unreadable schedule fire dropped: %s", exc)
        await delivery.term()
        return None
    if fired.not_before is not None:
        wait = (fired.not_before - utcnow()).total_seconds()
        if wait > 0:
            await delivery.nak(delay=wait)
            return None
    try:
        outcome = await apply_fire(ctx, fired)
    except Exception:
        log.exception("could not handle the fire of schedule %s; will retry", fired.schedule_id)
        await delivery.nak(delay=RETRY_DELAY_S)
        return None
    await delivery.ack()
    return outcome


async def consume_fired(ctx: ApiContext, bus: Bus) -> None:
    """Run forever: pull fires with the API's durable consumer and apply them."""
    while True:
        try:
            async for delivery in bus.fired():
                await handle_fired(ctx, delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS hiccup: the durable consumer resumes where we were
            log.warning("fired consumer interrupted (%s); resuming", exc)
            await asyncio.sleep(1.0)


async def keep_schedules_published(ctx: ApiContext, bus: Bus, *, every: float = 60.0) -> None:
    """Resync the schedules KV bucket now and every `every` seconds (forever)."""
    while True:
        try:
            count = await resync(ctx, bus)
            log.debug("schedules KV resynced (%d enabled)", count)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("schedules KV resync failed (%s); trying again later", exc)
        await asyncio.sleep(every)
