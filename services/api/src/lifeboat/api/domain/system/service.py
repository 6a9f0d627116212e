"""System status, statistics, settings and maintenance."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import time
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, RestoreExecution, SystemSetting, utcnow
from lifeboat.api.domain.databases.service import count_databases
from lifeboat.api.domain.retention.cleanup import cleanup_all
from lifeboat.api.domain.system.schemas import (
    DatabaseCountsOut,
    DatabaseFileOut,
    DiskOut,
    MaintenanceOut,
    MaintenanceTask,
    NatsOut,
    SettingOut,
    SettingType,
    StatsOut,
    SystemStatusOut,
    VerifyProblem,
    WindowCountsOut,
)
from lifeboat.api.link import redact_url
from lifeboat.core.errors import ValidationError
from lifeboat.core.paths import contained
from lifeboat.engines.registry import ENGINE_NAMES

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
_CHUNK = 1024 * 1024


def api_version() -> str:
    """The installed version of the API package."""
    try:
        return version("lifeboat-api")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def disk_usage(path: Path) -> DiskOut:
    """Space of the file system holding `path` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return DiskOut(
        path=str(path), total_bytes=usage.total, free_bytes=usage.free, used_bytes=usage.used
    )


def status(ctx: ApiContext) -> SystemStatusOut:
    """Version, uptime, disk, NATS and database facts."""
    db_path = ctx.settings.database_path
    size = sum(p.stat().st_size for p in (db_path, Path(f"{db_path}-wal")) if p.exists())
    disk = disk_usage(ctx.settings.backup_storage_path)
    healthy = ctx.nats.connected and disk.free_bytes >= ctx.settings.min_free_disk_bytes
    return SystemStatusOut(
        status="ok" if healthy else "degraded",
        version=api_version(),
        started_at=ctx.started_at,
        uptime_seconds=int(ctx.uptime_seconds),
        disk=disk,
        nats=NatsOut(connected=ctx.nats.connected, url=redact_url(ctx.settings.nats_url)),
        database=DatabaseFileOut(path=str(db_path), size_bytes=size),
        timezone=ctx.settings.tz,
    )


async def stats(ctx: ApiContext) -> StatsOut:
    """Backup and database totals for the dashboard."""
    live = BackupExecution.deleted_at.is_(None)
    since = utcnow() - timedelta(hours=24)
    async with ctx.db.read() as session:
        by_status = {
            status_: count
            for status_, count in (
                await session.execute(
                    select(BackupExecution.status, func.count())
                    .where(live)
                    .group_by(BackupExecution.status)
                )
            ).all()
        }
        total_size = await session.scalar(
            select(func.coalesce(func.sum(BackupExecution.file_size_bytes), 0)).where(
                live, BackupExecution.status == "completed"
            )
        )
        recent = {
            status_: count
            for status_, count in (
                await session.execute(
                    select(BackupExecution.status, func.count())
                    .where(live, BackupExecution.started_at >= since)
                    .group_by(BackupExecution.status)
                )
            ).all()
        }
        restores = await session.scalar(select(func.count(RestoreExecution.id))) or 0
        databases = await count_databases(session)
    return StatsOut(
        total_backups=sum(by_status.values()),
        backups_by_status=by_status,
        total_size_bytes=int(total_size or 0),
        databases=DatabaseCountsOut(
            total=databases["total"],
            enabled=databases["enabled"],
            # One count per engine (the schema has a field for each).
            **{name: databases[name] for name in ENGINE_NAMES},
        ),
        last_24h=WindowCountsOut(
            total=sum(recent.values()),
            completed=recent.get("completed", 0),
            failed=recent.get("failed", 0),
        ),
        total_restores=restores,
    )


def _decode_value(raw: str, value_type: str) -> Any:
    if value_type == "boolean":
        return raw == "true"
    if value_type == "number":
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    if value_type == "json":
        return json.loads(raw)
    return raw


INTERNAL_PREFIX = "internal."
BOOLEAN_SETTINGS = frozenset({"allow_private_endpoints"})


def _encode_value(value: Any) -> tuple[str, SettingType]:
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int | float):
        return repr(value), "number"
    if isinstance(value, str):
        return value, "string"
    return json.dumps(value), "json"


def _setting_out(row: SystemSetting) -> SettingOut:
    return SettingOut(
        key=row.key,
        value=_decode_value(row.value, row.value_type),
        value_type=cast("SettingType", row.value_type),
        description=row.description,
        updated_at=row.updated_at,
    )


async def get_settings(ctx: ApiContext) -> list[SettingOut]:
    """Every stored setting, by key."""
    async with ctx.db.read() as session:
        rows = (await session.scalars(select(SystemSetting).order_by(SystemSetting.key))).all()
    # internal.* rows (key check, key version) belong to the API itself.
    return [_setting_out(row) for row in rows if not row.key.startswith(INTERNAL_PREFIX)]


async def put_settings(ctx: ApiContext, values: dict[str, Any]) -> list[SettingOut]:
    """Create or replace settings from ``{key: value}`` (type taken from the JSON value)."""
    problems = [
        {"field": key, "message": "keys are 1-100 letters, digits, '_', '.', '-'"}
        for key in values
        if not _KEY.match(key)
    ] + [
        {"field": key, "message": "null is not a setting value"}
        for key, value in values.items()
        if value is None
    ]
    problems += [
        {"field": key, "message": "this setting is managed by Lifeboat itself"}
        for key in values
        if key.startswith(INTERNAL_PREFIX)
    ]
    problems += [
        {"field": key, "message": "must be true or false"}
        for key, value in values.items()
        if key in BOOLEAN_SETTINGS and not isinstance(value, bool)
    ]
    if problems:
        raise ValidationError("invalid settings", details=problems)
    async with ctx.db.write() as session:
        for key, value in values.items():
            raw, value_type = _encode_value(value)
            row = await session.get(SystemSetting, key)
            if row is None:
                session.add(SystemSetting(key=key, value=raw, value_type=value_type))
            else:
                row.value, row.value_type = raw, value_type
    return await get_settings(ctx)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_one(root: Path, row: BackupExecution) -> VerifyProblem | None:
    def problem(kind: Any, detail: str) -> VerifyProblem:
        return VerifyProblem(id=row.id, file_name=row.file_name, problem=kind, detail=detail)

    try:
        path = contained(root, row.local_path or "")
    except ValidationError:
        return problem("path", "the recorded path is outside the storage root")
    if not path.is_file():
        return problem("missing", f"{row.local_path} does not exist")
    size = path.stat().st_size
    if row.file_size_bytes is not None and size != row.file_size_bytes:
        return problem("size", f"{size} bytes on disk, {row.file_size_bytes} recorded")
    actual = _sha256(path)
    if row.checksum and actual != row.checksum.lower().removeprefix("sha256:"):
        return problem("checksum", f"sha256 {actual} on disk, {row.checksum} recorded")
    return None


async def maintenance(ctx: ApiContext, task: MaintenanceTask) -> MaintenanceOut:
    """Run a maintenance task: cleanup (retention), vacuum (SQLite), verify (re-hash files)."""
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    if task == "vacuum":
        await ctx.db.vacuum()
        return MaintenanceOut(task=task, message="database vacuumed", duration_ms=elapsed())
    if task == "cleanup":
        report = await cleanup_all(ctx, trigger="maintenance")
        return MaintenanceOut(
            task=task,
            message=f"retention deleted {len(report.deleted)} backups"
            + (f", {len(report.failed)} could not be deleted" if report.failed else ""),
            duration_ms=elapsed(),
        )
    async with ctx.db.read() as session:
        rows = (
            await session.scalars(
                select(BackupExecution).where(
                    BackupExecution.status == "completed",
                    BackupExecution.deleted_at.is_(None),
                    BackupExecution.local_path.is_not(None),
                )
            )
        ).all()
    root = ctx.settings.backup_storage_path
    problems: list[VerifyProblem] = []
    for row in rows:
        found = await asyncio.to_thread(_verify_one, root, row)
        if found is not None:
            problems.append(found)
    return MaintenanceOut(
        task=task,
        message=f"verified {len(rows)} backups, {len(problems)} problems",
        duration_ms=elapsed(),
        checked=len(rows),
        ok=len(rows) - len(problems),
        problems=problems,
    )
