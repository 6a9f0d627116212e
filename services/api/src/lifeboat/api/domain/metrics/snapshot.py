"""What ``/metrics`` reports, read at scrape time from the database, NATS and the registries.

Nothing here counts in memory: every value is recomputed from the recorded history on each
scrape, so an API restart loses nothing and two API replicas report the same numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupExecution,
    BackupSchedule,
    DatabaseConfig,
    RestoreExecution,
    utcnow,
)
from lifeboat.api.domain.executors.registry import ExecutorRegistry
from lifeboat.api.domain.schedulers.registry import SchedulerRegistry
from lifeboat.api.domain.schedules.service import next_run

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """Labels of one configured database."""

    id: str
    name: str
    engine: str
    queue: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class LastSuccess:
    """The newest completed backup of one database."""

    completed_at: datetime
    size_bytes: int | None
    duration_seconds: int | None


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """One enabled schedule and when it runs next (None: not planned yet)."""

    id: str
    database_id: str
    schedule_type: str
    next_run_at: datetime | None


@dataclass(kw_only=True)
class Snapshot:
    """Everything one scrape reports."""

    databases: dict[str, DatabaseInfo] = field(default_factory=dict[str, DatabaseInfo])
    last_success: dict[str, LastSuccess] = field(default_factory=dict[str, LastSuccess])
    backups: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])
    """(database id, status) → backups not deleted."""
    verifications: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])
    """(database id, verification status) → completed backups not deleted (``unverified``,
    ``running``, ``verified``, ``failed``)."""
    restores: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])
    s3_copies: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])
    """(database id, S3 copy status) → backups that asked for an S3 copy, deleted ones too."""
    schedules: list[ScheduleInfo] = field(default_factory=list[ScheduleInfo])
    queue_depth: dict[str, tuple[int, int]] = field(default_factory=dict[str, tuple[int, int]])
    """queue → (waiting, in flight); a queue whose depth NATS could not tell is absent."""
    live_executors: dict[str, int] = field(default_factory=dict[str, int])
    live_schedulers: int = 0
    scheduler_heartbeat_age: float | None = None
    nats_connected: bool = False


async def take_snapshot(
    ctx: ApiContext, executors: ExecutorRegistry, schedulers: SchedulerRegistry
) -> Snapshot:
    """Read the current values (database first, then NATS; NATS down: no queue depths)."""
    snap = Snapshot()
    await _read_database(ctx, snap)
    now = executors.now()
    live = [s for s in executors.states() if s.live(now)]
    queues = {d.queue for d in snap.databases.values()} | {s.beat.queue for s in live}
    snap.live_executors = {q: sum(1 for s in live if s.beat.queue == q) for q in sorted(queues)}
    states = schedulers.states()
    snap.live_schedulers = schedulers.live_count()
    if states:
        snap.scheduler_heartbeat_age = states[0].age_seconds(schedulers.now())
    snap.nats_connected = ctx.nats.connected
    bus = ctx.nats.bus
    if bus is not None and bus.connected:
        for queue in sorted(queues):
            try:
                snap.queue_depth[queue] = await bus.queue_depth(queue)
            except Exception as exc:  # a scrape reports what it can
                log.warning("metrics: depth of queue %s unknown: %s", queue, exc)
    return snap


async def _read_database(ctx: ApiContext, snap: Snapshot) -> None:
    be, re = BackupExecution, RestoreExecution
    latest = (
        select(be.database_config_id, func.max(be.completed_at).label("at"))
        .where(be.status == "completed", be.completed_at.is_not(None))
        .group_by(be.database_config_id)
        .subquery()
    )
    now = utcnow()
    async with ctx.db.read() as session:
        for row in (await session.execute(select(DatabaseConfig))).scalars():
            snap.databases[row.id] = DatabaseInfo(
                id=row.id, name=row.name, engine=row.type, queue=row.queue, enabled=row.enabled
            )
        rows = await session.execute(
            select(be.database_config_id, be.completed_at, be.file_size_bytes, be.duration_seconds)
            .join(
                latest,
                and_(
                    be.database_config_id == latest.c.database_config_id,
                    be.completed_at == latest.c.at,
                ),
            )
            .where(be.status == "completed")
        )
        for db_id, completed_at, size, duration in rows.all():
            if completed_at is not None:
                snap.last_success[db_id] = LastSuccess(completed_at, size, duration)
        snap.backups = await _counts(
            session, be.database_config_id, be.status, be.deleted_at.is_(None)
        )
        snap.verifications = await _counts(
            session,
            be.database_config_id,
            be.verification_status,
            and_(be.status == "completed", be.deleted_at.is_(None)),
        )
        snap.restores = await _counts(session, re.database_config_id, re.status, None)
        snap.s3_copies = await _counts(
            session, be.database_config_id, be.s3_status, be.s3_status.is_not(None)
        )
        schedules = await session.execute(
            select(BackupSchedule).where(BackupSchedule.enabled.is_(True))
        )
        snap.schedules = [
            ScheduleInfo(s.id, s.database_config_id, s.schedule_type, next_run(s, now))
            for s in schedules.scalars()
        ]


async def _counts(
    session: AsyncSession,
    db_column: InstrumentedAttribute[str],
    label: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    where: ColumnElement[bool] | None,
) -> dict[tuple[str, str], int]:
    """Row counts by (database id, `label`)."""
    query = select(db_column, label, func.count()).group_by(db_column, label)
    if where is not None:
        query = query.where(where)
    return {(str(a), str(b)): int(n) for a, b, n in (await session.execute(query)).all()}
