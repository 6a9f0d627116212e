"""DTOs of /api/system."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from lifeboat.api.domain.common import Input, Output

SettingType = Literal["string", "number", "boolean", "json"]
MaintenanceTask = Literal["cleanup", "vacuum", "verify"]


class DiskOut(Output):
    """Space on the file system holding the backup storage."""

    path: str
    total_bytes: int
    free_bytes: int
    used_bytes: int


class NatsOut(Output):
    """The NATS connection."""

    connected: bool
    url: str


class DatabaseFileOut(Output):
    """The SQLite file."""

    path: str
    size_bytes: int


class SystemStatusOut(Output):
    """GET /api/system/status."""

    status: Literal["ok", "degraded"]
    version: str
    started_at: datetime
    uptime_seconds: int
    disk: DiskOut
    nats: NatsOut
    database: DatabaseFileOut
    timezone: str


class DatabaseCountsOut(Output):
    """How many databases are configured."""

    total: int
    enabled: int
    postgresql: int
    mysql: int


class WindowCountsOut(Output):
    """Backups started in a time window."""

    total: int
    completed: int
    failed: int


class StatsOut(Output):
    """GET /api/system/stats."""

    total_backups: int
    backups_by_status: dict[str, int]
    total_size_bytes: int
    databases: DatabaseCountsOut
    last_24h: WindowCountsOut = msgspec.field(name="last24h")
    total_restores: int


class SettingOut(Output):
    """One system setting with its typed value."""

    key: str
    value: Any
    value_type: SettingType
    description: str | None
    updated_at: datetime


class MaintenanceIn(Input):
    """Body of POST /api/system/maintenance."""

    task: MaintenanceTask


class VerifyProblem(Output):
    """A backup whose artifact does not match its record."""

    id: str
    file_name: str | None
    problem: Literal["missing", "size", "checksum", "path"]
    detail: str


class MaintenanceOut(Output):
    """Outcome of a maintenance task."""

    task: MaintenanceTask
    message: str
    duration_ms: int
    checked: int | None = None
    ok: int | None = None
    problems: list[VerifyProblem] | None = None
