"""DTOs of /api/dashboard."""

from __future__ import annotations

from datetime import datetime

from lifeboat.api.domain.common import BackupType, Output


class BackupHistoryPoint(Output):
    """One completed backup: when it started, how large its file is, how long it took."""

    id: str
    database_config_id: str
    database_name: str | None
    backup_type: BackupType
    started_at: datetime
    file_size_bytes: int | None
    duration_seconds: int | None


class BackupHistoryOut(Output):
    """GET /api/dashboard/backup-history: completed backups of the last `days`, oldest first.

    `truncated` is true when there were more than `limit` of them (the newest are kept)."""

    days: int
    since: datetime
    points: list[BackupHistoryPoint]
    truncated: bool
