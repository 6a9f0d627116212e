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
from lifeboat.api.domain.verifications.schemas import VerificationStatus


class BackupCreate(Input):
    """Body of POST /api/backups: back a database up now."""

    database_id: Id
    upload_to_s3: bool = False
    s3_config_id: Id | None = None
    """The S3 configuration to upload to (default: the default one)."""
    store_locally: bool = True
    """Keep a local copy; false with uploadToS3 makes an S3-only backup."""
    retention_policy_id: Id | None = None
    compression: CompressionName = "zstd"


class UploadToS3In(Input):
    """Optional body of POST /api/backups/:id/upload-to-s3."""

    s3_config_id: Id | None = None
    """The S3 configuration to upload to (default: the default one)."""


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
    scheduled_for: datetime | None = None
    """The schedule slot this run is for (scheduled backups)."""
    retry_number: int = 0
    """0 for a slot's first run, n for its n-th retry."""
    retry_of: str | None = None
    """The failed execution this one retries."""
    retention_policy_id: str | None = None
    """The policy given with a manual backup (scheduled ones follow their schedule's)."""
    local_status: str | None = None
    """The local copy: pending | completed | failed | deleted (None: not asked for)."""
    s3_status: str | None = None
    """The S3 copy: pending | completed | failed | deleted (None: not asked for)."""
    s3_error: str | None = None
    """Why the S3 copy failed."""
    s3_config_id: str | None = None
    """The S3 configuration the copy went to."""
    imported_at: datetime | None = None
    """When this record was rebuilt from a manifest (None: recorded by this install)."""
    verification_status: VerificationStatus = "unverified"
    """unverified | running | verified | failed: the latest verification restore's verdict."""
    verified_at: datetime | None = None
    """When the backup last passed a verification."""
    verification_summary: str | None = None
    """``verified 2026-12-02: 42 tables, 1,234,567 rows, 38 s``."""
    verification_error: str | None = None
    """Why the latest verification failed."""
    verification_id: str | None = None
    """The latest verification (GET /api/verifications/{id} for its progress and log)."""
    recorded_tables: int | None = None
    """Tables whose rows were counted at backup time (None: not counted, cannot be verified)."""
    recorded_rows: int | None = None
    """Rows counted at backup time."""


class BackupDetailOut(BackupOut, kw_only=True):
    """A backup execution record with its log."""

    logs: list[LogOut]
