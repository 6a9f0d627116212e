"""Types shared by the DTOs of several domains."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from lifeboat.core.naming import Engine

# The engines' names are spelled once, in lifeboat.core.naming (the registry's keys).
EngineName = Engine
ExecutionStatus = Literal["pending", "running", "completed", "failed", "cancelled", "skipped"]
BackupType = Literal["hourly", "daily", "weekly", "monthly", "custom", "manual", "pre-restore"]
LogLevelName = Literal["debug", "info", "warn", "error"]
CompressionName = Literal["zstd", "gzip"]
SortOrder = Literal["asc", "desc"]
BackupSort = Literal["startedAt", "size", "duration"]
"""What GET /api/backups may be sorted by (a whitelist: each maps to one column)."""
RestoreSort = Literal["startedAt", "duration"]
"""What GET /api/restores may be sorted by."""
StorageLocation = Literal["local", "s3", "local-only"]
"""Where a backup has a completed copy (GET /api/backups?storage=): `local-only` is a local copy
and none on S3 (not uploaded, or its upload failed or is pending)."""
RestoreSource = Literal["local", "s3", "upload"]

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_PAGE = 1_000_000  # beyond this an offset overflows SQLite's integers


class Input(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """Base of request bodies: camelCase on the wire, unknown fields refused."""


class Output(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of response bodies: camelCase on the wire."""


class LogOut(Output):
    """One execution log line."""

    id: str
    execution_id: str
    execution_type: Literal["backup", "restore"]
    log_level: LogLevelName
    message: str
    metadata: dict[str, object] | None
    timestamp: datetime
