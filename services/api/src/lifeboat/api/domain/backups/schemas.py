"""DTOs of /api/backups."""

from __future__ import annotations

from datetime import datetime

from lifeboat.api.domain.common import (
    BackupType,
    CompressionName,
    ExecutionStatus,
    Id,
    Input,
    LogOut,
    Output,
)


class BackupCreate(Input):
    """Body of POST /api/backups: back a database up now."""

    database_id: Id
    upload_to_s3: bool = False
    retention_policy_id: Id | None = None
    compression: CompressionName = "zstd"


class BackupOut(Output):
    """A backup execution record."""

    id: str
    database_config_id: str
    database_name: str | None
    backup_schedule_id: str | None
    backup_type: BackupType
    status: ExecutionStatus
    file_name: str | None
    file_size_bytes: int | None
    local_path: str | None
    s3_uploaded: bool
    s3_bucket: str | None
    s3_key: str | None
    s3_upload_at: datetime | None
    started_at: datetime
    completed_at: datetime | None
    duration_seconds: int | None
    error_message: str | None
    database_size_bytes: int | None
    compression_used: str | None
    checksum: str | None
    progress_bytes: int
    attempt: int
    executor_id: str | None
    queue: str
    server_version: str | None
    tool_version: str | None
    created_at: datetime


class BackupDetailOut(BackupOut):
    """A backup execution record with its log."""

    logs: list[LogOut]
