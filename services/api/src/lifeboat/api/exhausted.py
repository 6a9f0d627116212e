"""Jobs no executor could finish: every one of their ``JOB_MAX_DELIVER`` deliveries died or went
silent (an executor crash-looping on it, an OOM kill per attempt...). JetStream stops
redelivering such a job; without this the record would say ``running`` for ever. The API ends
it as ``failed`` with that reason (a restore adds whether its target may be partly restored,
from the execution's lease) and the message leaves the jobs stream.
"""

from __future__ import annotations

import logging

import msgspec

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    ACTIVE_STATUSES,
    BackupExecution,
    RestoreExecution,
    VerificationExecution,
    utcnow,
)
from lifeboat.api.domain.notifications import hooks
from lifeboat.api.domain.verifications.outcome import fail_verification
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.core.errors import UnavailableError
from lifeboat.wire import subjects
from lifeboat.wire.bus import JOB_MAX_DELIVER, Bus
from lifeboat.wire.codec import job_decoder
from lifeboat.wire.lease import Lease
from lifeboat.wire.messages import RestoreJob, UploadJob, VerifyJob

log = logging.getLogger(__name__)


async def _touched(bus: Bus, execution_id: str) -> bool:
    """Whether an attempt of the restore started changing its target (unknown: assume so)."""
    try:
        entry = await bus.kv_get(subjects.LEASES_KV, execution_id)
    except UnavailableError:
        return True
    if entry is None:
        return False
    try:
        return msgspec.json.decode(entry.value, type=Lease).touched_by is not None
    except msgspec.DecodeError:
        return True


async def fail_exhausted(ctx: ApiContext, bus: Bus, raw: bytes) -> None:
    """End the execution of the exhausted job message `raw` as failed, if it is still active."""
    try:
        job = job_decoder.decode(raw)
    except msgspec.DecodeError:
        log.warning("an exhausted job message is unreadable; dropped")
        return
    reason = (
        f"no executor finished the job: all {JOB_MAX_DELIVER} deliveries stopped responding"
        " (an executor crashing on it?)"
    )
    if isinstance(job, VerifyJob):
        await _fail_verification(ctx, job.execution_id, reason)
        return
    if isinstance(job, RestoreJob) and await _touched(bus, job.execution_id):
        reason += "; the target may be partly restored"
    kind = "restore" if isinstance(job, RestoreJob) else "backup"
    model = RestoreExecution if kind == "restore" else BackupExecution
    async with ctx.db.write() as session:
        row = await session.get(model, job.execution_id)
        if row is None:
            return
        if isinstance(job, UploadJob):
            if not isinstance(row, BackupExecution) or row.s3_status != "pending":
                return
            row.s3_status, row.s3_error = "failed", f"the S3 copy failed: {reason}"
            status = row.status
            await hooks.s3_failed(ctx, session, row)
        else:
            if row.status not in ACTIVE_STATUSES:
                return
            row.status = status = "failed"
            row.error_message = reason
            row.completed_at = utcnow()
            if isinstance(row, BackupExecution):
                row.local_status = "failed" if row.local_status == "pending" else row.local_status
                row.s3_status = "failed" if row.s3_status == "pending" else row.s3_status
            await hooks.execution_finished(ctx, session, row)
    log.error("%s %s: %s", kind, job.execution_id, reason)
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type=kind,
            execution_id=job.execution_id,
            event="finished",
            status=status,
            message=reason,
            at=utcnow(),
        )
    )


async def _fail_verification(ctx: ApiContext, verification_id: str, reason: str) -> None:
    """End an exhausted verification as failed (its backup's verification failed too; a
    scratch database left behind is dropped by the next verification's sweep)."""
    async with ctx.db.write() as session:
        row = await session.get(VerificationExecution, verification_id)
        if row is None or row.status not in ACTIVE_STATUSES:
            return
        await fail_verification(ctx, session, row, reason, at=utcnow())
    log.error("verification %s: %s", verification_id, reason)
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type="verify",
            execution_id=verification_id,
            event="finished",
            status="failed",
            message=reason,
            at=utcnow(),
        )
    )
