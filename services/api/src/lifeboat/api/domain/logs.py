"""Execution logs shared by backups and restores."""

from __future__ import annotations

import json
from typing import Literal, cast

from sqlalchemy import literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.db.models import LOG_LEVELS, ExecutionLog
from lifeboat.api.domain.common import LogLevelName, LogOut


def levels_from(level: LogLevelName | None) -> tuple[str, ...]:
    """`level` and every more severe level (debug < info < warn < error)."""
    if level is None:
        return LOG_LEVELS
    return LOG_LEVELS[LOG_LEVELS.index(level) :]


def to_out(row: ExecutionLog) -> LogOut:
    """The REST view of a log row."""
    metadata: dict[str, object] | None = None
    if row.metadata_json:
        try:
            decoded = json.loads(row.metadata_json)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            metadata = cast("dict[str, object]", decoded)
    return LogOut(
        id=row.id,
        execution_id=row.execution_id,
        execution_type=cast("Literal['backup', 'restore']", row.execution_type),
        log_level=cast("LogLevelName", row.log_level),
        message=row.message,
        metadata=metadata,
        timestamp=row.timestamp,
    )


async def logs_of(
    session: AsyncSession, execution_id: str, *, level: LogLevelName | None = None
) -> list[LogOut]:
    """Log lines of one execution in time order, at `level` and above."""
    query = (
        select(ExecutionLog)
        .where(ExecutionLog.execution_id == execution_id)
        # Lines of one instant keep the order they arrived in (stream order): SQLite's rowid.
        .order_by(ExecutionLog.timestamp, literal_column("execution_logs.rowid"))
    )
    if level is not None:
        query = query.where(ExecutionLog.log_level.in_(levels_from(level)))
    return [to_out(row) for row in (await session.scalars(query)).all()]
