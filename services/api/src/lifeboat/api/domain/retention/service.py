"""Retention policies: CRUD, validation (through lifeboat.policy.retention) and previews.

Besides what :class:`lifeboat.policy.retention.RetentionPolicy` checks, a policy saved through
the API may not set ``maxAgeDays`` above ``MAX_BACKUP_RETENTION_DAYS`` (in any mode, so that
switching modes later cannot exceed it either): 400 VALIDATION_ERROR naming ``maxAgeDays``.
Count tiers are not refused (a yearly tier necessarily reaches past a year): the cleanup, and
the preview, delete backups older than the limit whatever the tiers keep.
"""

from __future__ import annotations

import re
from typing import Any, cast

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, BackupSchedule, RetentionPolicy, utcnow
from lifeboat.api.domain.databases.service import load as load_database
from lifeboat.api.domain.retention.schemas import (
    PreviewItem,
    PreviewOut,
    RetentionPolicyCreate,
    RetentionPolicyOut,
    RetentionPolicyUpdate,
)
from lifeboat.core.errors import ConflictError, NotFoundError, ValidationError
from lifeboat.policy import retention

_SNAKE = re.compile(r"_([a-z0-9])")


def _camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def policy_of(row: RetentionPolicy) -> retention.RetentionPolicy:
    """The pure policy of a row (ValidationError naming wire fields when it cannot apply)."""
    try:
        return retention.RetentionPolicy(
            mode=cast("retention.RetentionMode", row.mode),
            keep_hourly=row.keep_hourly,
            keep_daily=row.keep_daily,
            keep_weekly=row.keep_weekly,
            keep_monthly=row.keep_monthly,
            keep_yearly=row.keep_yearly,
            max_age_days=row.max_age_days,
            max_total_bytes=row.max_total_bytes,
            timezone=row.timezone,
        )
    except ValidationError as exc:
        if not isinstance(exc.details, list):
            raise
        details = [
            {**item, "field": _camel(str(item.get("field", "")))}
            for item in cast("list[dict[str, Any]]", exc.details)
        ]
        summary = "; ".join(f"{d['field']} {d.get('message', '')}" for d in details)
        raise ValidationError(f"invalid retention policy: {summary}", details=details) from None


def check_hard_limit(row: RetentionPolicy, max_days: int) -> None:
    """Refuse a ``maxAgeDays`` above the hard limit (MAX_BACKUP_RETENTION_DAYS) of `max_days`."""
    if row.max_age_days is not None and row.max_age_days > max_days:
        message = f"must be at most {max_days} (MAX_BACKUP_RETENTION_DAYS)"
        raise ValidationError(
            f"invalid retention policy: maxAgeDays {message}",
            details=[{"field": "maxAgeDays", "message": message}],
        )


def to_out(row: RetentionPolicy, schedule_count: int) -> RetentionPolicyOut:
    """The REST view of a policy row."""
    return RetentionPolicyOut(
        id=row.id,
        name=row.name,
        description=row.description,
        mode=cast("retention.RetentionMode", row.mode),
        keep_hourly=row.keep_hourly,
        keep_daily=row.keep_daily,
        keep_weekly=row.keep_weekly,
        keep_monthly=row.keep_monthly,
        keep_yearly=row.keep_yearly,
        max_age_days=row.max_age_days,
        max_total_bytes=row.max_total_bytes,
        timezone=row.timezone,
        schedule_count=schedule_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def load(session: AsyncSession, policy_id: str) -> RetentionPolicy:
    """The policy `policy_id`, or NotFoundError."""
    row = await session.get(RetentionPolicy, policy_id)
    if row is None:
        raise NotFoundError(f"retention policy {policy_id} not found", details={"id": policy_id})
    return row


async def _schedule_count(session: AsyncSession, policy_id: str) -> int:
    return (
        await session.scalar(
            select(func.count(BackupSchedule.id)).where(
                BackupSchedule.retention_policy_id == policy_id
            )
        )
        or 0
    )


async def list_policies(ctx: ApiContext) -> list[RetentionPolicyOut]:
    """Every policy, by name."""
    async with ctx.db.read() as session:
        counts: dict[str | None, int] = {
            policy_id: count
            for policy_id, count in (
                await session.execute(
                    select(BackupSchedule.retention_policy_id, func.count(BackupSchedule.id))
                    .where(BackupSchedule.retention_policy_id.is_not(None))
                    .group_by(BackupSchedule.retention_policy_id)
                )
            ).all()
        }
        rows = (
            await session.scalars(
                select(RetentionPolicy).order_by(RetentionPolicy.name, RetentionPolicy.id)
            )
        ).all()
    return [to_out(row, counts.get(row.id, 0)) for row in rows]


async def get_policy(ctx: ApiContext, policy_id: str) -> RetentionPolicyOut:
    """One policy."""
    async with ctx.db.read() as session:
        row = await load(session, policy_id)
        return to_out(row, await _schedule_count(session, policy_id))


def _row_of(ctx: ApiContext, data: RetentionPolicyCreate) -> RetentionPolicy:
    """An unsaved, validated row for `data`."""
    now = utcnow()
    row = RetentionPolicy(
        name=data.name.strip(),
        description=data.description,
        mode=data.mode,
        keep_hourly=data.keep_hourly,
        keep_daily=data.keep_daily,
        keep_weekly=data.keep_weekly,
        keep_monthly=data.keep_monthly,
        keep_yearly=data.keep_yearly,
        max_age_days=data.max_age_days,
        max_total_bytes=data.max_total_bytes,
        timezone=data.timezone or ctx.settings.tz,
        created_at=now,
        updated_at=now,
    )
    policy_of(row)
    check_hard_limit(row, ctx.settings.max_backup_retention_days)
    return row


async def create_policy(ctx: ApiContext, data: RetentionPolicyCreate) -> RetentionPolicyOut:
    """Validate and save a policy."""
    row = _row_of(ctx, data)
    async with ctx.db.write() as session:
        session.add(row)
    return to_out(row, 0)


async def update_policy(
    ctx: ApiContext, policy_id: str, data: RetentionPolicyUpdate
) -> RetentionPolicyOut:
    """Partial update; the result must still be a valid policy."""
    async with ctx.db.write() as session:
        row = await load(session, policy_id)
        for field in data.__struct_fields__:
            value = getattr(data, field)
            if value is msgspec.UNSET:
                continue
            setattr(row, field, value.strip() if field == "name" else value)
        policy_of(row)  # raises before the commit when the result cannot apply
        check_hard_limit(row, ctx.settings.max_backup_retention_days)
        row.updated_at = utcnow()
        return to_out(row, await _schedule_count(session, policy_id))


async def delete_policy(ctx: ApiContext, policy_id: str) -> None:
    """Delete a policy no schedule uses (409 CONFLICT naming the schedules otherwise)."""
    async with ctx.db.write() as session:
        row = await load(session, policy_id)
        users = (
            await session.scalars(
                select(BackupSchedule.id).where(BackupSchedule.retention_policy_id == policy_id)
            )
        ).all()
        if users:
            raise ConflictError(
                f"retention policy {row.name!r} is used by {len(users)} schedule(s)",
                details={"scheduleIds": list(users)},
            )
        await session.delete(row)


def _item(row: BackupExecution, reasons: tuple[str, ...]) -> PreviewItem:
    return PreviewItem(
        backup_id=row.id,
        started_at=row.started_at,
        file_name=row.file_name,
        size_bytes=row.file_size_bytes,
        backup_type=row.backup_type,
        reasons=list(reasons),
    )


async def completed_backups(session: AsyncSession, database_id: str) -> list[BackupExecution]:
    """The completed, not deleted backups of a database (what retention looks at)."""
    return list(
        (
            await session.scalars(
                select(BackupExecution).where(
                    BackupExecution.database_config_id == database_id,
                    BackupExecution.status == retention.COMPLETED,
                    BackupExecution.deleted_at.is_(None),
                )
            )
        ).all()
    )


def infos_of(rows: list[BackupExecution]) -> list[retention.BackupInfo]:
    """What the planner needs of each backup row."""
    return [
        retention.BackupInfo(
            id=row.id,
            started_at=row.started_at,
            status=row.status,
            size_bytes=row.file_size_bytes or 0,
            backup_type=row.backup_type,
        )
        for row in rows
    ]


async def preview(ctx: ApiContext, policy_id: str, database_id: str) -> PreviewOut:
    """Which completed backups of `database_id` the policy would keep and delete right now."""
    async with ctx.db.read() as session:
        row = await load(session, policy_id)
    return await _preview(ctx, row, database_id, policy_id=policy_id)


async def preview_draft(
    ctx: ApiContext, data: RetentionPolicyCreate, database_id: str
) -> PreviewOut:
    """What a policy not saved yet would keep and delete (validated as if it were saved)."""
    return await _preview(ctx, _row_of(ctx, data), database_id, policy_id=None)


async def _preview(
    ctx: ApiContext, row: RetentionPolicy, database_id: str, *, policy_id: str | None
) -> PreviewOut:
    async with ctx.db.read() as session:
        try:
            await load_database(session, database_id)
        except NotFoundError:
            raise ValidationError(
                f"database {database_id} not found",
                details=[{"field": "databaseId", "message": "unknown database"}],
            ) from None
        backups = await completed_backups(session, database_id)
    result = retention.plan(
        infos_of(backups),
        policy_of(row),
        ctx.clock(),
        max_retention_days=ctx.settings.max_backup_retention_days,
    )
    by_id = {b.id: b for b in backups}
    return PreviewOut(
        policy_id=policy_id,
        database_id=database_id,
        keep=[_item(by_id[d.id], d.reasons) for d in result.keep],
        delete=[_item(by_id[d.id], d.reasons) for d in result.delete],
    )
