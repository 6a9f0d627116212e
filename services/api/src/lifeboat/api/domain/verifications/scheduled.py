"""Per-schedule verification (``verifyEvery`` on a schedule): after a scheduled backup completed,
queue a verification of it when the schedule asks for one now.

``each`` verifies every completed backup of the schedule; ``daily`` / ``weekly`` verify the
latest completed backup when the schedule's last verification started more than a day / a week
ago (less a few minutes, so a daily schedule at a fixed time verifies every day). Runs as a
follow-up of the stored result: a redelivered result finds the backup already has a
verification and queues nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupExecution,
    BackupSchedule,
    VerificationExecution,
    utcnow,
)
from lifeboat.api.domain.verifications.service import request_verification
from lifeboat.core.errors import LifeboatError
from lifeboat.wire.messages import BackupFinished

log = logging.getLogger(__name__)

PERIODS: dict[str, timedelta] = {  # by VerifyEvery ("none": absent)
    "each": timedelta(0),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
}
SLACK = timedelta(minutes=10)
"""A backup that fires at the same time every day verifies every day despite run-time jitter."""


def verification_due(every: str, last_started: datetime | None, now: datetime) -> bool:
    """Whether a schedule set to `every` verifies a backup completed at `now`, its previous
    verification having started at `last_started` (None: never)."""
    period = PERIODS.get(every)
    if period is None:
        return False
    if period == timedelta(0) or last_started is None:
        return True
    return now - last_started >= period - SLACK


async def _candidate(ctx: ApiContext, backup_id: str) -> tuple[BackupExecution, str] | None:
    """The completed scheduled backup and its schedule id, when a verification is due."""
    async with ctx.db.read() as session:
        backup = await session.get(BackupExecution, backup_id)
        if (
            backup is None
            or backup.status != "completed"
            or backup.backup_schedule_id is None
            or backup.verification_id is not None
            or backup.row_counts is None
        ):
            return None
        schedule = await session.get(BackupSchedule, backup.backup_schedule_id)
        if schedule is None or schedule.verify_every == "none":
            return None
        last = await session.scalar(
            select(func.max(VerificationExecution.started_at))
            .join(BackupExecution, BackupExecution.id == VerificationExecution.backup_execution_id)
            .where(BackupExecution.backup_schedule_id == schedule.id)
        )
        if not verification_due(schedule.verify_every, last, utcnow()):
            return None
        return backup, schedule.id


async def verify_after_backup(ctx: ApiContext, event: BackupFinished) -> None:
    """Queue the verification a schedule asks for after backup ``event`` (never raises)."""
    if not event.ok:
        return
    try:
        found = await _candidate(ctx, event.execution_id)
        if found is None:
            return
        backup, schedule_id = found
        out = await request_verification(ctx, backup.id, initiated_by=f"schedule:{schedule_id}")
        log.info("schedule %s: verification %s of backup %s queued", schedule_id, out.id, backup.id)
    except LifeboatError as exc:
        log.warning("could not queue the verification of backup %s: %s", event.execution_id, exc)
    except Exception:
        log.exception("scheduled verification of backup %s failed", event.execution_id)
