"""Backup schedules: CRUD, validation of cron and zone, next runs, and publication to the
scheduler through the schedules KV bucket.

SQLite is the source of truth. Every change is mirrored into the KV bucket right away (an
enabled schedule is put, a disabled or deleted one removed), so the schedulers watching it
apply edits within a second; :func:`resync` rewrites the whole bucket at start-up and then
periodically, which also repairs what a NATS outage during an edit left behind.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import cast

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupSchedule,
    DatabaseConfig,
    RetentionPolicy,
    S3Config,
    utcnow,
)
from lifeboat.api.domain.common import CompressionName
from lifeboat.api.domain.databases.service import load as load_database
from lifeboat.api.domain.schedules.schemas import (
    NextRunsOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleType,
    ScheduleUpdate,
)
from lifeboat.api.domain.verifications.schemas import VerifyEvery
from lifeboat.core.errors import LifeboatError, NotFoundError, ValidationError
from lifeboat.policy.cron import PREDEFINED, next_runs, validate_cron, validate_timezone
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import ScheduleEntry

log = logging.getLogger(__name__)

MAX_NEXT_RUNS = 100

# One KV writer at a time per API: a resync (read all, write all) must not put back a schedule
# that an edit committed meanwhile withdrew.
_kv_locks: dict[int, asyncio.Lock] = {}


def _kv_lock(ctx: ApiContext) -> asyncio.Lock:
    return _kv_locks.setdefault(id(ctx), asyncio.Lock())


def next_run(row: BackupSchedule, now: datetime) -> datetime | None:
    """The next fire time of an enabled schedule after `now` (in its zone), else None."""
    if not row.enabled:
        return None
    runs = next_runs(row.cron_expression, row.timezone, now, 1)
    return runs[0] if runs else None


def to_out(row: BackupSchedule, database_name: str | None) -> ScheduleOut:
    """The REST view of a schedule row (next run computed now, in the schedule's zone)."""
    return ScheduleOut(
        id=row.id,
        database_config_id=row.database_config_id,
        database_name=database_name,
        schedule_type=cast("ScheduleType", row.schedule_type),
        cron_expression=row.cron_expression,
        timezone=row.timezone,
        enabled=row.enabled,
        s3_upload_enabled=row.s3_upload_enabled,
        s3_config_id=row.s3_config_id,
        store_locally=row.store_locally,
        retention_policy_id=row.retention_policy_id,
        compression=cast("CompressionName", row.compression),
        retry_count=row.retry_count,
        retry_delay_seconds=row.retry_delay_seconds,
        last_fired_at=row.last_fired_at,
        next_run_at=next_run(row, utcnow()),
        created_at=row.created_at,
        updated_at=row.updated_at,
        verify_every=cast("VerifyEvery", row.verify_every),
    )


def entry_of(row: BackupSchedule) -> ScheduleEntry:
    """What the scheduler needs to know about an enabled schedule."""
    return ScheduleEntry(
        schedule_id=row.id,
        cron_expression=row.cron_expression,
        timezone=row.timezone,
        active_since=row.active_since or row.created_at,
        last_fired_at=row.last_fired_at,
    )


async def load(session: AsyncSession, schedule_id: str) -> BackupSchedule:
    """The schedule `schedule_id`, or NotFoundError."""
    row = await session.get(BackupSchedule, schedule_id)
    if row is None:
        raise NotFoundError(f"schedule {schedule_id} not found", details={"id": schedule_id})
    return row


async def _database_name(session: AsyncSession, config_id: str) -> str | None:
    return await session.scalar(select(DatabaseConfig.name).where(DatabaseConfig.id == config_id))


def resolve_cron(schedule_type: str, cron_expression: str | None) -> str:
    """The cron expression of a schedule: the predefined one of its type, or the given one
    (required and validated for ``custom``). ValidationError saying what is wrong."""
    if schedule_type == "custom":
        if cron_expression is None:
            raise ValidationError(
                "cronExpression is required for a custom schedule",
                details=[{"field": "cronExpression", "message": "required for custom"}],
            )
        return validate_cron(cron_expression)
    predefined = PREDEFINED[schedule_type]
    if cron_expression is not None and validate_cron(cron_expression) != predefined:
        raise ValidationError(
            f"a {schedule_type} schedule runs at {predefined!r}; use scheduleType 'custom' "
            "for another cron expression",
            details=[{"field": "cronExpression", "message": f"must be {predefined!r} or omitted"}],
        )
    return predefined


def _zone(name: str) -> str:
    validate_timezone(name)
    return name


async def _check_policy(session: AsyncSession, policy_id: str | None) -> None:
    if policy_id is not None and await session.get(RetentionPolicy, policy_id) is None:
        raise ValidationError(
            f"retention policy {policy_id} not found",
            details=[{"field": "retentionPolicyId", "message": "unknown retention policy"}],
        )


async def _check_storage(
    session: AsyncSession, *, s3_upload: bool, s3_config_id: str | None, store_locally: bool
) -> None:
    """Refuse a schedule that would store nothing, or names an unknown S3 configuration."""
    if not store_locally and not s3_upload:
        raise ValidationError(
            "a schedule must keep a local copy, an S3 copy or both",
            details=[{"field": "storeLocally", "message": "false needs s3UploadEnabled"}],
        )
    if s3_config_id is not None and await session.get(S3Config, s3_config_id) is None:
        raise ValidationError(
            f"S3 configuration {s3_config_id} not found",
            details=[{"field": "s3ConfigId", "message": "unknown S3 configuration"}],
        )


async def _check_database(session: AsyncSession, config_id: str) -> None:
    try:
        await load_database(session, config_id)
    except NotFoundError:
        raise ValidationError(
            f"database {config_id} not found",
            details=[{"field": "databaseConfigId", "message": "unknown database"}],
        ) from None


async def list_schedules(
    ctx: ApiContext, *, database_id: str | None = None, enabled: bool | None = None
) -> list[ScheduleOut]:
    """Every schedule (oldest first), optionally of one database and/or enabled state."""
    query = select(BackupSchedule, DatabaseConfig.name).join(
        DatabaseConfig, DatabaseConfig.id == BackupSchedule.database_config_id
    )
    if database_id is not None:
        query = query.where(BackupSchedule.database_config_id == database_id)
    if enabled is not None:
        query = query.where(BackupSchedule.enabled == enabled)
    async with ctx.db.read() as session:
        rows = (
            await session.execute(query.order_by(BackupSchedule.created_at, BackupSchedule.id))
        ).all()
    return [to_out(row, name) for row, name in rows]


async def get_schedule(ctx: ApiContext, schedule_id: str) -> ScheduleOut:
    """One schedule."""
    async with ctx.db.read() as session:
        row = await load(session, schedule_id)
        return to_out(row, await _database_name(session, row.database_config_id))


async def create_schedule(ctx: ApiContext, data: ScheduleCreate) -> ScheduleOut:
    """Validate and save a schedule, then publish it to the schedulers if enabled."""
    cron = resolve_cron(data.schedule_type, data.cron_expression)
    zone = _zone(data.timezone or ctx.settings.tz)
    now = utcnow()
    async with ctx.db.write() as session:
        await _check_database(session, data.database_config_id)
        await _check_policy(session, data.retention_policy_id)
        await _check_storage(
            session,
            s3_upload=data.s3_upload_enabled,
            s3_config_id=data.s3_config_id,
            store_locally=data.store_locally,
        )
        row = BackupSchedule(
            database_config_id=data.database_config_id,
            schedule_type=data.schedule_type,
            cron_expression=cron,
            timezone=zone,
            enabled=data.enabled,
            s3_upload_enabled=data.s3_upload_enabled,
            s3_config_id=data.s3_config_id,
            store_locally=data.store_locally,
            retention_policy_id=data.retention_policy_id,
            compression=data.compression,
            retry_count=data.retry_count,
            retry_delay_seconds=data.retry_delay_seconds,
            verify_every=data.verify_every,
            active_since=now,
            created_at=now,
            updated_at=now,
        )
        row.next_run_at = next_run(row, now)
        session.add(row)
        await session.flush()
        name = await _database_name(session, row.database_config_id)
    await publish(ctx, row)
    log.info("schedule %s created (%s %s)", row.id, cron, zone)
    return to_out(row, name)


async def update_schedule(ctx: ApiContext, schedule_id: str, data: ScheduleUpdate) -> ScheduleOut:
    """Partial update; a change of timing (type, cron, zone) counts from now: no slot from
    before the edit fires because of it."""
    now = utcnow()
    async with ctx.db.write() as session:
        row = await load(session, schedule_id)
        schedule_type = (
            row.schedule_type
            if isinstance(data.schedule_type, msgspec.UnsetType)
            else data.schedule_type
        )
        given_cron = (
            None if isinstance(data.cron_expression, msgspec.UnsetType) else (data.cron_expression)
        )
        if schedule_type == "custom" and given_cron is None:
            given_cron = row.cron_expression
        cron = resolve_cron(schedule_type, given_cron)
        zone = (
            row.timezone if isinstance(data.timezone, msgspec.UnsetType) else _zone(data.timezone)
        )
        if not isinstance(data.database_config_id, msgspec.UnsetType):
            await _check_database(session, data.database_config_id)
            row.database_config_id = data.database_config_id
        if not isinstance(data.retention_policy_id, msgspec.UnsetType):
            await _check_policy(session, data.retention_policy_id)
            row.retention_policy_id = data.retention_policy_id
        timing_changed = (cron, zone) != (row.cron_expression, row.timezone)
        row.schedule_type, row.cron_expression, row.timezone = schedule_type, cron, zone
        if not isinstance(data.enabled, msgspec.UnsetType):
            if data.enabled and not row.enabled:
                timing_changed = True
            row.enabled = data.enabled
        if not isinstance(data.s3_upload_enabled, msgspec.UnsetType):
            row.s3_upload_enabled = data.s3_upload_enabled
        if not isinstance(data.s3_config_id, msgspec.UnsetType):
            row.s3_config_id = data.s3_config_id
        if not isinstance(data.store_locally, msgspec.UnsetType):
            row.store_locally = data.store_locally
        await _check_storage(
            session,
            s3_upload=row.s3_upload_enabled,
            s3_config_id=row.s3_config_id,
            store_locally=row.store_locally,
        )
        if not isinstance(data.compression, msgspec.UnsetType):
            row.compression = data.compression
        if not isinstance(data.retry_count, msgspec.UnsetType):
            row.retry_count = data.retry_count
        if not isinstance(data.retry_delay_seconds, msgspec.UnsetType):
            row.retry_delay_seconds = data.retry_delay_seconds
        if not isinstance(data.verify_every, msgspec.UnsetType):
            row.verify_every = data.verify_every
        if timing_changed:
            row.active_since = now
        row.next_run_at = next_run(row, now)
        row.updated_at = now
        name = await _database_name(session, row.database_config_id)
    await publish(ctx, row)
    return to_out(row, name)


async def set_enabled(ctx: ApiContext, schedule_id: str, enabled: bool) -> ScheduleOut:
    """Enable (counting from now: missed slots of the disabled time never fire) or disable."""
    now = utcnow()
    async with ctx.db.write() as session:
        row = await load(session, schedule_id)
        if enabled and not row.enabled:
            row.active_since = now
        row.enabled = enabled
        row.next_run_at = next_run(row, now)
        row.updated_at = now
        name = await _database_name(session, row.database_config_id)
    await publish(ctx, row)
    log.info("schedule %s %s", schedule_id, "enabled" if enabled else "disabled")
    return to_out(row, name)


async def delete_schedule(ctx: ApiContext, schedule_id: str) -> None:
    """Delete a schedule (its executions stay, no longer linked) and withdraw it."""
    async with ctx.db.write() as session:
        row = await load(session, schedule_id)
        await session.delete(row)
    await _withdraw(ctx, schedule_id)


async def upcoming(ctx: ApiContext, schedule_id: str, count: int) -> NextRunsOut:
    """The next `count` fire times of a schedule (whether or not it is enabled)."""
    async with ctx.db.read() as session:
        row = await load(session, schedule_id)
    return NextRunsOut(
        cron_expression=row.cron_expression,
        timezone=row.timezone,
        runs=next_runs(row.cron_expression, row.timezone, utcnow(), count),
    )


def preview(cron_expression: str, timezone: str, count: int) -> NextRunsOut:
    """The next `count` fire times of an unsaved cron expression in `timezone`."""
    cron = validate_cron(cron_expression)
    return NextRunsOut(
        cron_expression=cron,
        timezone=timezone,
        runs=next_runs(cron, _zone(timezone), utcnow(), count),
    )


# --- publication to the schedulers (schedules KV bucket) --------------------------------------


async def publish(ctx: ApiContext, row: BackupSchedule) -> None:
    """Mirror one schedule into the KV bucket: put if enabled, remove otherwise.

    Never fails the caller: while NATS is unreachable the change waits for :func:`resync`.
    """
    if not row.enabled:
        await _withdraw(ctx, row.id)
        return
    bus = ctx.nats.bus
    if bus is None or not bus.connected:
        log.warning("NATS not connected: schedule %s will be published on resync", row.id)
        return
    try:
        async with _kv_lock(ctx):
            await bus.kv_put(subjects.SCHEDULES_KV, row.id, encode(entry_of(row)))
    except LifeboatError as exc:
        log.warning("could not publish schedule %s (%s); resync will", row.id, exc.message)


async def _withdraw(ctx: ApiContext, schedule_id: str) -> None:
    bus = ctx.nats.bus
    if bus is None or not bus.connected:
        log.warning("NATS not connected: schedule %s will be withdrawn on resync", schedule_id)
        return
    try:
        async with _kv_lock(ctx):
            await bus.kv_delete(subjects.SCHEDULES_KV, schedule_id)
    except LifeboatError as exc:
        log.warning("could not withdraw schedule %s (%s); resync will", schedule_id, exc.message)


async def resync(ctx: ApiContext, bus: Bus) -> int:
    """Make the KV bucket hold exactly the enabled schedules; returns how many there are."""
    async with _kv_lock(ctx):
        async with ctx.db.read() as session:
            rows = (
                await session.scalars(
                    select(BackupSchedule).where(BackupSchedule.enabled.is_(True))
                )
            ).all()
        wanted = {row.id: row for row in rows}
        for key in await bus.kv_keys(subjects.SCHEDULES_KV):
            if key not in wanted:
                await bus.kv_delete(subjects.SCHEDULES_KV, key)
        for row in wanted.values():
            await bus.kv_put(subjects.SCHEDULES_KV, row.id, encode(entry_of(row)))
    return len(wanted)
