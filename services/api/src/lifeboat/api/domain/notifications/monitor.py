"""The API's periodic checks that notify (every ``WATCH_INTERVAL_SECONDS``):

* overdue backups (:mod:`lifeboat.api.domain.notifications.overdue`);
* ``executor.missing``: a queue in use (an enabled database with an enabled schedule) has no
  live executor — once per queue until one is back (after a start-up grace period, so that the
  executors' heartbeats have arrived);
* ``disk.low``: the backup storage has less free space than ``MIN_FREE_DISK_BYTES`` — once
  until it has enough again;
* the delivery history: finished deliveries older than 90 days are deleted.

The last two keep their state in memory: after an API restart a condition that still holds is
reported again, once.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupSchedule, DatabaseConfig
from lifeboat.api.db.notify_models import NotificationDelivery
from lifeboat.api.domain.executors.registry import ExecutorRegistry
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.api.domain.notifications.overdue import check_overdue

log = logging.getLogger(__name__)

STARTUP_GRACE_S = 90.0
GIB = 1024**3
KEEP_DELIVERIES = timedelta(days=90)


@dataclass
class MonitorState:
    """What was already reported (so each condition notifies once)."""

    missing_queues: set[str] = field(default_factory=set[str])
    disk_low: bool = False


async def queues_in_use(ctx: ApiContext) -> set[str]:
    """Queues of enabled databases that have an enabled schedule."""
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(DatabaseConfig.queue)
            .join(BackupSchedule, BackupSchedule.database_config_id == DatabaseConfig.id)
            .where(DatabaseConfig.enabled.is_(True), BackupSchedule.enabled.is_(True))
            .distinct()
        )
        return set(rows)


async def check_executors(
    ctx: ApiContext, executors: ExecutorRegistry, state: MonitorState
) -> list[str]:
    """Emit ``executor.missing`` for each queue in use that just lost its last executor."""
    if ctx.uptime_seconds < STARTUP_GRACE_S:
        return []
    missing = await queues_in_use(ctx) - executors.live_queues()
    state.missing_queues &= missing  # a queue served again may alert again later
    new = sorted(missing - state.missing_queues)
    for queue in new:
        await emit(
            ctx,
            "executor.missing",
            title=f"No executor for queue {queue!r}",
            body=f"Scheduled backups on queue {queue!r} cannot run: no live executor serves it.",
            details={"queue": queue},
        )
    state.missing_queues |= set(new)
    return new


async def check_disk(ctx: ApiContext, state: MonitorState) -> bool:
    """Emit ``disk.low`` once when the backup storage runs short; True if emitted."""
    path = ctx.settings.backup_storage_path
    try:
        free = (await asyncio.to_thread(shutil.disk_usage, path)).free
    except OSError:
        return False
    low = free < ctx.settings.min_free_disk_bytes
    emitted = low and not state.disk_low
    state.disk_low = low
    if emitted:
        await emit(
            ctx,
            "disk.low",
            title="Backup storage is low on space",
            body=f"{free / GIB:.1f} GiB free in {path} (minimum "
            f"{ctx.settings.min_free_disk_bytes / GIB:.1f} GiB): backups may fail.",
            details={"path": str(path), "freeBytes": free},
        )
    return emitted


async def prune_deliveries(ctx: ApiContext) -> int:
    """Delete delivered or failed deliveries (and their tries) older than 90 days."""
    async with ctx.db.write() as session:
        result = await session.execute(
            delete(NotificationDelivery).where(
                NotificationDelivery.status != "pending",
                NotificationDelivery.created_at < ctx.clock() - KEEP_DELIVERIES,
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def run_monitor(ctx: ApiContext, executors: ExecutorRegistry) -> None:
    """Run the checks forever, one pass every ``WATCH_INTERVAL_SECONDS``."""
    state = MonitorState()
    while True:
        await asyncio.sleep(ctx.settings.watch_interval_seconds)
        for check in (
            lambda: check_overdue(ctx),
            lambda: check_executors(ctx, executors, state),
            lambda: check_disk(ctx, state),
            lambda: prune_deliveries(ctx),
        ):
            try:
                await check()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep checking; the next pass tries again
                log.exception("notification check failed")
