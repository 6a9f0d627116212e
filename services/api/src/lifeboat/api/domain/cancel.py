"""Cancelling a queued or running backup, restore or verification (SPEC §6.1.3).

The API records the request in the cancellations KV bucket (``lifeboat.wire.lease``), which
every attempt of the execution checks when it claims the job, before each irreversible step and
with each heartbeat: the executor kills the dump or restore processes, removes what it wrote
and reports the execution ``cancelled``. A job no executor has taken yet is marked cancelled at
once (whichever executor takes it later finds the request and drops it).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    ACTIVE_STATUSES,
    BackupExecution,
    ExecutionLog,
    RestoreExecution,
    VerificationExecution,
    utcnow,
)
from lifeboat.api.domain.verifications.outcome import settle_cancelled
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.core.errors import ConflictError, NotFoundError
from lifeboat.wire.lease import request_cancel

log = logging.getLogger(__name__)

Kind = Literal["backup", "restore", "verify"]
Execution = BackupExecution | RestoreExecution | VerificationExecution
_MODELS: dict[Kind, type[Execution]] = {
    "backup": BackupExecution,
    "restore": RestoreExecution,
    "verify": VerificationExecution,
}


async def cancel_execution(ctx: ApiContext, kind: Kind, execution_id: str, *, by: str) -> None:
    """Ask for `execution_id` to stop.

    Raises:
        NotFoundError: no such execution.
        ConflictError: it already ended.
        UnavailableError: NATS cannot take the request (nothing changed).
    """
    model = _MODELS[kind]
    async with ctx.db.read() as session:
        row = await session.get(model, execution_id)
        if row is None or (isinstance(row, BackupExecution) and row.deleted_at is not None):
            raise NotFoundError(f"{kind} {execution_id} not found")
        if row.status not in ACTIVE_STATUSES:
            raise ConflictError(
                f"the {kind} already ended ({row.status}); nothing to cancel",
                details={"status": row.status},
            )
    await request_cancel(ctx.nats.require(), execution_id, by=by)
    at = utcnow()
    async with ctx.db.write() as session:
        row = await session.get(model, execution_id)
        assert row is not None
        untaken = row.status == "pending" and row.executor_id is None
        message = (
            f"Cancelled by {by} before an executor took it"
            if untaken
            else f"Cancellation requested by {by}; the executor stops the job"
        )
        session.add(
            ExecutionLog(
                id=str(uuid.uuid4()),
                execution_id=execution_id,
                execution_type=kind,
                log_level="warn",
                message=message,
                metadata_json=json.dumps({"cancelledBy": by}),
                timestamp=at,
            )
        )
        if untaken:
            await _cancel_untaken(session, row, by=by, at=at)
    log.info("%s %s: %s", kind, execution_id, message)
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type=kind,
            execution_id=execution_id,
            event="finished" if untaken else "log",
            status="cancelled" if untaken else "running",
            level="warn",
            message=message,
            at=at,
        )
    )


async def _cancel_untaken(session: AsyncSession, row: Execution, *, by: str, at: datetime) -> None:
    """End a job no executor took yet as cancelled (and what depends on it)."""
    row.status = "cancelled"
    row.completed_at = at
    row.error_message = f"cancelled by {by}"
    if isinstance(row, BackupExecution):
        row.local_status = "failed" if row.local_status == "pending" else row.local_status
        row.s3_status = "failed" if row.s3_status == "pending" else row.s3_status
    if isinstance(row, VerificationExecution):
        await settle_cancelled(session, row)
