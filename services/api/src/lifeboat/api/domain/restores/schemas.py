"""DTOs of /api/restores."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from lifeboat.api.domain.common import ExecutionStatus, Id, Input, LogOut, Output


class RestoreOptionsIn(Input):
    """SPEC §5.3.3 restore options."""

    drop_and_recreate: bool = False
    clean: bool = False
    schema_only: bool = False
    data_only: bool = False
    no_owner: bool = False
    exit_on_error: bool = True


class RestoreCreate(Input):
    """Body of POST /api/restores: load backup `backupId` into database `databaseId`."""

    database_id: Id
    backup_id: Id
    options: RestoreOptionsIn = msgspec.field(default_factory=RestoreOptionsIn)
    source: Literal["auto", "local", "s3"] = "auto"
    """Which copy to restore from: ``auto`` takes the local one when recorded, else S3."""


class RestoreOptionsOut(Output):
    """The options a restore ran with."""

    drop_and_recreate: bool
    clean: bool
    schema_only: bool
    data_only: bool
    no_owner: bool
    exit_on_error: bool


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
