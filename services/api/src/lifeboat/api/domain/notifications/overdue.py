"""The dead man's switch: a scheduled database whose last good backup is too old is overdue.

Expected max age of a database's last good (completed) backup: its ``maxBackupAgeHours``
override if set, else 1.5 times the longest gap between the next runs of its most frequent enabled
schedule (a daily schedule: 36 h). The age counts from the last good backup, or from when the
schedule became active if that is later (a re-enabled schedule does not alert at once).

Alerts are edge-triggered and stored in ``backup_watch``: one ``backup.overdue`` when a database
becomes overdue, a reminder every ``OVERDUE_REMINDER_HOURS`` while it stays so, and one
``backup.overdue.cleared`` when a backup succeeds again (at once, from the executor event, or at
the next check). Time is ``ctx.clock()``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, BackupSchedule, DatabaseConfig
from lifeboat.api.db.notify_models import BackupWatch
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.core.errors import LifeboatError
from lifeboat.policy.cron import next_runs

FACTOR = 1.5
_RUNS = 8


@dataclass(frozen=True)
class Watch:
    """What the switch knows of one database."""

    database_id: str
    name: str
    expected: timedelta | None
    last_good: datetime | None
    since: datetime | None
    override_seconds: int | None

    def overdue(self, now: datetime) -> bool:
        """Whether the last good backup (or the activation) is older than expected."""
        points = [d for d in (self.last_good, self.since) if d is not None]
        return self.expected is not None and bool(points) and now - max(points) > self.expected


def schedule_gap(schedule: BackupSchedule, now: datetime) -> timedelta | None:
    """The longest gap between the next runs of `schedule` (None: it never runs again)."""
    try:
        runs = next_runs(schedule.cron_expression, schedule.timezone, now, _RUNS)
    except LifeboatError:
        return None
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    return max(gaps) if gaps else None


async def watches(session: AsyncSession, now: datetime) -> dict[str, Watch]:
    """The switch's view of every enabled database, by id."""
    databases = (
        await session.execute(
            select(DatabaseConfig.id, DatabaseConfig.name).where(DatabaseConfig.enabled.is_(True))
        )
    ).all()
    schedules = (
        await session.scalars(select(BackupSchedule).where(BackupSchedule.enabled.is_(True)))
    ).all()
    overrides = {w.database_config_id: w for w in (await session.scalars(select(BackupWatch)))}
    good: dict[str, datetime] = {}
    for database_id, completed_at in await session.execute(
        select(BackupExecution.database_config_id, func.max(BackupExecution.completed_at))
        .where(BackupExecution.status == "completed")
        .group_by(BackupExecution.database_config_id)
    ):
        if completed_at is not None:
            good[database_id] = completed_at
    result: dict[str, Watch] = {}
    for database_id, name in databases:
        own = [s for s in schedules if s.database_config_id == database_id]
        gaps = [g for g in (schedule_gap(s, now) for s in own) if g is not None]
        starts = [s.active_since or s.created_at for s in own]
        row = overrides.get(database_id)
        override = row.max_age_seconds if row is not None else None
        expected = (
            timedelta(seconds=override)
            if override is not None
            else (min(gaps) * FACTOR if gaps else None)
        )
        result[database_id] = Watch(
            database_id=database_id,
            name=name,
            expected=expected,
            last_good=good.get(database_id),
            since=min(starts) if starts else None,
            override_seconds=override,
        )
    return result


async def _state(session: AsyncSession, database_id: str) -> BackupWatch:
    row = await session.get(BackupWatch, database_id)
    if row is None:
        row = BackupWatch(database_config_id=database_id)
        session.add(row)
    return row


async def set_override(session: AsyncSession, database_id: str, hours: int | None) -> None:
    """Set (or, with None, remove) the max age override of a database's last good backup."""
    row = await _state(session, database_id)
    row.max_age_seconds = hours * 3600 if hours is not None else None


def _age_text(watch: Watch, now: datetime) -> str:
    if watch.last_good is None:
        return "no successful backup yet"
    hours = (now - watch.last_good).total_seconds() / 3600
    return f"last successful backup {hours:.1f} h ago ({watch.last_good.isoformat()})"


async def _alert(
    ctx: ApiContext, session: AsyncSession, watch: Watch, now: datetime, *, reminder: bool
) -> None:
    expected_h = (watch.expected or timedelta()).total_seconds() / 3600
    await emit(
        ctx,
        "backup.overdue",
        database_id=watch.database_id,
        title=f"Backup overdue: {watch.name}" + (" (reminder)" if reminder else ""),
        body=f"{watch.name}: {_age_text(watch, now)}; expected at least every {expected_h:.1f} h.",
        details={
            "databaseName": watch.name,
            "lastGoodBackupAt": watch.last_good,
            "expectedMaxAgeSeconds": round(expected_h * 3600),
            "reminder": reminder,
        },
        session=session,
    )


async def clear(ctx: ApiContext, session: AsyncSession, database_id: str, name: str) -> bool:
    """Send the all-clear if `database_id` was overdue (after a good backup); True if sent."""
    row = await session.get(BackupWatch, database_id)
    if row is None or row.overdue_since is None:
        return False
    row.overdue_since, row.last_alert_at = None, None
    await emit(
        ctx,
        "backup.overdue.cleared",
        database_id=database_id,
        title=f"Backups back on track: {name}",
        body=f"{name} has a successful backup again.",
        details={"databaseName": name},
        session=session,
    )
    return True


async def check_overdue(ctx: ApiContext) -> list[tuple[str, str]]:
    """One pass of the switch; returns the ``(event, database id)`` pairs it emitted."""
    emitted: list[tuple[str, str]] = []
    reminder = timedelta(hours=ctx.settings.overdue_reminder_hours)
    async with ctx.db.write() as session:
        now = ctx.clock()
        for watch in (await watches(session, now)).values():
            row = await session.get(BackupWatch, watch.database_id)
            was = row is not None and row.overdue_since is not None
            if not watch.overdue(now):
                if was and await clear(ctx, session, watch.database_id, watch.name):
                    emitted.append(("backup.overdue.cleared", watch.database_id))
                continue
            row = await _state(session, watch.database_id)
            if row.overdue_since is None:
                row.overdue_since = row.last_alert_at = now
                await _alert(ctx, session, watch, now, reminder=False)
                emitted.append(("backup.overdue", watch.database_id))
            elif reminder and row.last_alert_at and now - row.last_alert_at >= reminder:
                row.last_alert_at = now
                await _alert(ctx, session, watch, now, reminder=True)
                emitted.append(("backup.overdue", watch.database_id))
    return emitted
