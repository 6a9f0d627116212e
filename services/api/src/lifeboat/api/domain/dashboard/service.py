"""Queries behind the dashboard's charts."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, DatabaseConfig, utcnow
from lifeboat.api.domain.common import BackupType
from lifeboat.api.domain.dashboard.schemas import BackupHistoryOut, BackupHistoryPoint

HISTORY_MAX_POINTS = 5_000
"""The most backups one history answer carries (an hourly schedule on 7 databases for 30 days
stays under it)."""


async def backup_history(
    ctx: ApiContext, *, days: int, database_id: str | None = None
) -> BackupHistoryOut:
    """Completed backups started in the last `days` days (including those removed since by
    retention: the trend stays visible), oldest first."""
    since = utcnow() - timedelta(days=days)
    conds = [BackupExecution.status == "completed", BackupExecution.started_at >= since]
    if database_id is not None:
        conds.append(BackupExecution.database_config_id == database_id)
    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                select(BackupExecution, DatabaseConfig.name)
                .join(DatabaseConfig, DatabaseConfig.id == BackupExecution.database_config_id)
                .where(*conds)
                .order_by(BackupExecution.started_at.desc(), BackupExecution.id.desc())
                .limit(HISTORY_MAX_POINTS + 1)
            )
        ).all()
    truncated = len(rows) > HISTORY_MAX_POINTS
    points = [
        BackupHistoryPoint(
            id=row.id,
            database_config_id=row.database_config_id,
            database_name=name,
            backup_type=cast("BackupType", row.backup_type),
            started_at=row.started_at,
            file_size_bytes=row.file_size_bytes,
            duration_seconds=row.duration_seconds,
        )
        for row, name in rows[:HISTORY_MAX_POINTS]
    ]
    points.reverse()
    return BackupHistoryOut(days=days, since=since, points=points, truncated=truncated)
