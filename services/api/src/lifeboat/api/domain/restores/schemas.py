"""DTOs of /api/restores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from lifeboat.api.domain.common import (
    CompressionName,
    EngineName,
    ExecutionStatus,
    Id,
    Input,
    LogOut,
    Output,
)


class RestoreOptionsIn(Input):
    """SPEC §5.3.3 restore options."""

    drop_and_recreate: bool = False
    clean: bool = False
    schema_only: bool = False
    data_only: bool = False
    no_owner: bool = False
    exit_on_error: bool = True
    safety_backup: bool = False
    """First take a full backup of the target (type ``pre-restore``, stored locally); if it
    fails the restore fails without touching the target."""


class S3ObjectIn(Input):
    """An object of a configured bucket to restore from, recorded as a backup or not.

    ``engine`` and ``compression`` are only used for an object without a manifest (else the
    manifest says, and they must agree with it); when omitted they are read from the key's
    suffix (``.dump.zst``, ``.sql.gz``...).
    """

    s3_config_id: Id
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    engine: EngineName | None = None
    compression: CompressionName | None = None


class RestoreCreate(Input):
    """Body of POST /api/restores: load backup `backupId`, or the object `s3Object`, into
    database `databaseId` (exactly one of the two)."""

    database_id: Id
    backup_id: Id | None = None
    s3_object: S3ObjectIn | None = None
    options: RestoreOptionsIn = msgspec.field(default_factory=RestoreOptionsIn)
    source: Literal["auto", "local", "s3"] = "auto"
    """Which copy of a backup to restore from: ``auto`` takes the local one when recorded, else
    S3. With `s3Object` only ``auto`` or ``s3``."""
    allow_unverified: bool = False
    """Admins only: restore an `s3Object` that has no Lifeboat manifest, so no checksum can
    be verified (Lifeboat cannot know where it came from)."""


class RestoreOptionsOut(Output):
    """The options a restore ran with."""

    drop_and_recreate: bool
    clean: bool
    schema_only: bool
    data_only: bool
    no_owner: bool
    exit_on_error: bool
    safety_backup: bool = False


class RestoreOut(Output):
    """A restore execution record."""

    id: str
    database_config_id: str
    database_name: str | None
    backup_execution_id: str | None
    status: ExecutionStatus
    source_type: str
    source_path: str | None
    s3_bucket: str | None
    s3_key: str | None
    restore_options: RestoreOptionsOut | None
    safety_backup_id: str | None
    """The ``pre-restore`` backup of the target this restore takes first (``safetyBackup``)."""
    started_at: datetime
    completed_at: datetime | None
    duration_seconds: int | None
    error_message: str | None
    initiated_by: str | None
    progress_bytes: int
    attempt: int
    executor_id: str | None
    queue: str
    created_at: datetime


class RestoreDetailOut(RestoreOut):
    """A restore execution record with its log."""

    logs: list[LogOut]


UPLOAD_FORM_FIELDS = {
    "file": "The backup file (binary), e.g. a Lifeboat artifact or `pg_dump -Fc | zstd`.",
    "manifest": "Optional: the Lifeboat `<file>.manifest.json` of the file. When its size and"
    " sha256 match the upload, the restore is verified like a recorded backup's.",
    "databaseId": "The database to restore into.",
    "options": "Optional: the restore options as JSON, as in POST /api/restores.",
    "engine": "Optional hint without a manifest: postgresql or mysql (default: the target's).",
    "compression": "Optional hint without a manifest: zstd or gzip (default: from the bytes).",
    "confirmUnverified": "Admins only, required without a manifest: `true` to restore a file"
    " nothing vouches for (no checksum can be verified).",
}
"""The parts of the multipart form of POST /api/restores/upload (documented in OpenAPI)."""
