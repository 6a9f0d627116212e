"""Retention cleanup: apply a database's policy and delete what it does not keep.

Which policy: a scheduled backup follows its schedule's ``retentionPolicyId``, a manual one
the ``retentionPolicyId`` it was requested with. After a backup completes, that backup's policy
is applied to every completed backup of its database (SPEC §5.5.2: "for each database").
The periodic run (``RETENTION_CLEANUP_INTERVAL``, cron in ``TZ``, default ``0 3 * * *``) and the
``cleanup`` maintenance task apply, per database, the policy of its newest completed backup that
has one. A database none of whose backups has a policy is never cleaned up.

"Now" is ``ctx.clock()`` (the wall clock in production, a fake one in tests). On top of the
policy, the hard limit ``MAX_BACKUP_RETENTION_DAYS`` applies: a backup older than that many days
is deleted whatever the policy's tiers keep (a yearly tier, or 12 monthly ones, would otherwise
keep backups past it), with the reason ``"older than MAX_BACKUP_RETENTION_DAYS (365 d)"``; the
newest completed backup is kept even then. Policies cannot set ``maxAgeDays`` above the limit
(see :mod:`lifeboat.api.domain.retention.service`).

Guarantees: only completed backups are ever deleted; the newest completed one is always kept
(:func:`lifeboat.policy.retention.plan`); nothing runs after a failed backup. Each deletion goes
through :func:`lifeboat.api.domain.backups.removal.remove_backup` (the local file and its
manifest, the soft delete, then the S3 object and its manifest), and is recorded with its
reasons and what was removed in the backup's execution log and in the audit trail.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from lifeboat.api.auth.audit import record_audit
from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupExecution,
    BackupSchedule,
    DatabaseConfig,
    ExecutionLog,
    RetentionPolicy,
    utcnow,
)
from lifeboat.api.domain.backups.removal import remove_backup
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.api.domain.retention.service import completed_backups, infos_of, policy_of
from lifeboat.core.errors import LifeboatError
from lifeboat.policy import retention
from lifeboat.policy.cron import next_runs, validate_timezone

log = logging.getLogger(__name__)

ACTOR = "system:retention"


@dataclass
class CleanupReport:
    """What one cleanup deleted (backup id → reasons) and what it could not."""

    deleted: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    failed: dict[str, str] = field(default_factory=dict[str, str])

    def merge(self, other: CleanupReport) -> None:
        """Add `other`'s outcome to this one."""
        self.deleted.update(other.deleted)
        self.failed.update(other.failed)


async def _effective_policy_id(ctx: ApiContext, row: BackupExecution) -> str | None:
    schedule_policy_id: str | None = None
    if row.backup_schedule_id is not None:
        async with ctx.db.read() as session:
            schedule = await session.get(BackupSchedule, row.backup_schedule_id)
        if schedule is not None:
            schedule_policy_id = schedule.retention_policy_id
    return retention.effective_policy_id(schedule_policy_id, row.retention_policy_id)


async def apply_policy(
    ctx: ApiContext, database_id: str, policy_id: str, *, trigger: str
) -> CleanupReport:
    """Plan `policy_id` over the completed backups of `database_id` and delete the rest."""
    report = CleanupReport()
    async with ctx.db.read() as session:
        policy_row = await session.get(RetentionPolicy, policy_id)
        if policy_row is None:
            return report
        backups = await completed_backups(session, database_id)
    policy = policy_of(policy_row)
    result = retention.plan(
        infos_of(backups),
        policy,
        ctx.clock(),
        max_retention_days=ctx.settings.max_backup_retention_days,
    )
    for decision in result.delete:
        reasons = list(decision.reasons)
        try:
            removal = await remove_backup(ctx, decision.id)
        except LifeboatError as exc:  # deleted or busy meanwhile: leave it to the next run
            report.failed[decision.id] = exc.message
            log.warning("retention could not delete backup %s: %s", decision.id, exc.message)
            continue
        details = {
            "policyId": policy_id,
            "policyName": policy_row.name,
            "databaseId": database_id,
            "reasons": reasons,
            "trigger": trigger,
            **removal.described(),
        }
        async with ctx.db.write() as session:
            session.add(
                ExecutionLog(
                    execution_id=decision.id,
                    execution_type="backup",
                    log_level="info",
                    message=f"deleted by retention policy {policy_row.name!r}: "
                    + "; ".join(reasons),
                    metadata_json=json.dumps(details),
                )
            )
            await record_audit(session, ACTOR, "backup.retention_delete", decision.id, details)
        report.deleted[decision.id] = reasons
    if report.deleted:
        await _notify_deleted(ctx, database_id, policy_row.name, report, trigger)
        log.info(
            "retention policy %s deleted %d backup(s) of database %s (%s)",
            policy_row.name,
            len(report.deleted),
            database_id,
            trigger,
        )
    return report


async def _notify_deleted(
    ctx: ApiContext, database_id: str, policy: str, report: CleanupReport, trigger: str
) -> None:
    """``retention.deleted``: one notification per cleanup of a database."""
    async with ctx.db.read() as session:
        config = await session.get(DatabaseConfig, database_id)
    name = config.name if config is not None else database_id
    count = len(report.deleted)
    await emit(
        ctx,
        "retention.deleted",
        database_id=database_id,
        title=f"Retention deleted {count} backup(s) of {name}",
        body=f"{name}: retention policy {policy!r} deleted {count} backup(s) ({trigger}).",
        details={"policyName": policy, "deleted": report.deleted, "trigger": trigger},
    )


async def after_backup_completed(ctx: ApiContext, execution_id: str) -> CleanupReport:
    """Retention's follow-up of a backup that just finished: apply its policy if it completed.

    Called for every stored backup result (see
    :func:`lifeboat.api.domain.schedules.firing.after_backup_finished`); whether retention runs
    is decided here (:func:`lifeboat.policy.retention.runs_after`), nothing happens otherwise.
    Idempotent: planning again over what was kept deletes nothing.
    """
    async with ctx.db.read() as session:
        row = await session.get(BackupExecution, execution_id)
    if row is None or not retention.runs_after(row.status, deleted=row.deleted_at is not None):
        return CleanupReport()
    policy_id = await _effective_policy_id(ctx, row)
    if policy_id is None:
        return CleanupReport()
    return await apply_policy(ctx, row.database_config_id, policy_id, trigger=f"backup {row.id}")


async def cleanup_all(ctx: ApiContext, *, trigger: str) -> CleanupReport:
    """Apply, to each database, the policy of its newest completed backup that has one."""
    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                select(
                    BackupExecution.database_config_id,
                    BackupExecution.retention_policy_id,
                    BackupSchedule.retention_policy_id,
                )
                .outerjoin(BackupSchedule, BackupSchedule.id == BackupExecution.backup_schedule_id)
                .where(
                    BackupExecution.status == retention.COMPLETED,
                    BackupExecution.deleted_at.is_(None),
                )
                .order_by(BackupExecution.started_at.desc())
            )
        ).all()
    chosen: dict[str, str] = {}
    for database_id, own_policy, schedule_policy in rows:
        policy_id = retention.effective_policy_id(schedule_policy, own_policy)
        if policy_id is not None and database_id not in chosen:
            chosen[database_id] = policy_id
    report = CleanupReport()
    for database_id, policy_id in chosen.items():
        report.merge(await apply_policy(ctx, database_id, policy_id, trigger=trigger))
    return report


async def run_periodic_cleanup(ctx: ApiContext) -> None:
    """Run :func:`cleanup_all` at every fire time of ``RETENTION_CLEANUP_INTERVAL`` (forever)."""
    cron, zone = ctx.settings.retention_cleanup_interval, ctx.settings.tz
    try:
        validate_timezone(zone)
    except LifeboatError:
        log.warning("TZ %r is not an IANA zone: retention cleanup runs on UTC", zone)
        zone = "UTC"
    while True:
        now = utcnow()
        upcoming = next_runs(cron, zone, now, 1)
        if not upcoming:
            return
        await asyncio.sleep(max(0.0, (upcoming[0] - now).total_seconds()))
        try:
            report = await cleanup_all(ctx, trigger="interval")
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the schedule alive; the next run tries again
            log.exception("periodic retention cleanup failed")
            continue
        log.info("periodic retention cleanup deleted %d backup(s)", len(report.deleted))
