"""How an attempt of a job ends: the result it records in its lease, publishes and reports.

The lease (``lifeboat.wire.lease``) is the commit point: :func:`record` stores the result
there before it is published, so a redelivery publishes the stored result (see
:func:`stored_result`) instead of redoing the work; a fenced attempt records and reports
nothing, and a backup that may not be recorded withdraws the copies it published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

import msgspec

from lifeboat.core.errors import FencedError, JobCancelledError, UnavailableError
from lifeboat.executor.backup import failed_backup, withdraw
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.restore import failed_restore
from lifeboat.executor.s3 import failed_upload
from lifeboat.executor.verification import failed_verify
from lifeboat.wire.bus import Delivery
from lifeboat.wire.codec import encode, executor_event_decoder
from lifeboat.wire.lease import Fence
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    Job,
    RestoreFinished,
    RestoreJob,
    S3UploadFinished,
    VerifyFinished,
    VerifyJob,
)

log = logging.getLogger(__name__)

Finished = BackupFinished | RestoreFinished | S3UploadFinished | VerifyFinished

SHUTDOWN_MESSAGE = "the executor shut down before the job finished"

PARTLY = "; the target may be partly restored"
"""Added to the message of a restore stopped after it started changing its target."""


def stored_result(stored: bytes) -> Finished:
    """The result event an earlier delivery stored in the lease."""
    event = executor_event_decoder.decode(stored)
    if not isinstance(event, BackupFinished | RestoreFinished | S3UploadFinished | VerifyFinished):
        raise TypeError(f"stored result is a {type(event).__name__}")
    return event


async def report(delivery: Delivery, rep: Reporter, result: Finished, *, done: bool) -> None:
    """Publish `result`, then acknowledge (`done`) or terminate the job. If the result cannot
    be published the job stays unacknowledged: its redelivery finds the lease finished and
    publishes the stored result."""
    try:
        await rep.finished(result)
    except Exception as exc:
        log.error("cannot publish the result of %s: %s", rep.execution_id, exc)
        return
    with contextlib.suppress(Exception):
        await (delivery.ack() if done else delivery.term())


async def cancel_requested(fence: Fence) -> bool:
    """Whether the user cancelled; when NATS cannot say, no (every hold asks again)."""
    try:
        return await fence.cancel_requested(patient=False) is not None
    except UnavailableError:
        return False


def is_cancelled(finished: Finished) -> bool:
    """Whether `finished` records a cancellation."""
    return not isinstance(finished, S3UploadFinished) and finished.cancelled


def stopped_result(
    job: Job,
    rep: Reporter,
    started_at: datetime,
    *,
    cancelled: bool = False,
    message: str | None = None,
    touched: bool = False,
) -> Finished:
    """The result of a job that did not run to its end (cancelled, shut down, crashed)."""
    if message is None:
        message = "cancelled by the user" + (PARTLY if touched else "")
    if isinstance(job, BackupJob):
        failed = failed_backup(job, attempt=rep.attempt, started_at=started_at, message=message)
        return msgspec.structs.replace(failed, cancelled=cancelled)
    if isinstance(job, RestoreJob):
        failed_r = failed_restore(job, attempt=rep.attempt, started_at=started_at, message=message)
        return msgspec.structs.replace(failed_r, cancelled=cancelled, touched=touched)
    if isinstance(job, VerifyJob):
        failed_v = failed_verify(job, attempt=rep.attempt, started_at=started_at, message=message)
        return msgspec.structs.replace(failed_v, cancelled=cancelled)
    return failed_upload(job, attempt=rep.attempt, message=message)


async def record(
    ctx: Context, job: Job, fence: Fence, rep: Reporter, finished: Finished
) -> Finished | None:
    """Store the result in the lease (the commit point); None when fenced. A cancellation
    that came first wins: a backup's copies are then withdrawn."""
    try:
        await fence.finish(encode(finished), cancellable=not is_cancelled(finished))
        return finished
    except JobCancelledError:
        if isinstance(job, BackupJob) and isinstance(finished, BackupFinished):
            await withdraw(ctx, job, finished)
        began = finished.finished_at if isinstance(finished, S3UploadFinished) else None
        stopped = stopped_result(
            job, rep, began or getattr(finished, "started_at", now()), cancelled=True
        )
    except FencedError as exc:
        log.warning("%s", exc)
        if isinstance(job, BackupJob) and isinstance(finished, BackupFinished):
            await withdraw(ctx, job, finished)
        return None
    except UnavailableError as exc:
        # Not recorded: leave the delivery unacknowledged; whoever gets it next decides.
        log.error("cannot record the result of %s: %s", job.execution_id, exc)
        return None
    await rep.log("warn", "Cancelled")
    try:
        await fence.finish(encode(stopped), cancellable=False)
    except (FencedError, UnavailableError):
        return None
    return stopped


async def outcome(
    job: Job,
    op: asyncio.Task[Finished],
    rep: Reporter,
    fence: Fence,
    started_at: datetime,
    *,
    stop_reason: str | None,
) -> Finished | None:
    """The result to record for the ended `op`, or None when this attempt was fenced (report
    nothing). `stop_reason` is why the job's heartbeat stopped it (``fenced``, ``cancelled``;
    None: a shutdown)."""
    touched = fence.lease is not None and fence.lease.touched_by == rep.attempt
    if op.cancelled():
        if stop_reason == "fenced":
            log.warning("%s: attempt %d lost its lease; stopped", job.execution_id, rep.attempt)
            return None
        if stop_reason == "cancelled":
            await rep.log("warn", "Cancelled" + (PARTLY if touched else ""))
            return stopped_result(job, rep, started_at, cancelled=True, touched=touched)
        message = SHUTDOWN_MESSAGE + (PARTLY if touched else "")
        await rep.log("error", f"Failed: {message}")
        return stopped_result(job, rep, started_at, message=message, touched=touched)
    exc = op.exception()
    if exc is None:
        return op.result()
    if isinstance(exc, FencedError):
        log.warning("%s", exc)
        return None
    if isinstance(exc, JobCancelledError):
        await rep.log("warn", "Cancelled" + (PARTLY if touched else ""))
        return stopped_result(job, rep, started_at, cancelled=True, touched=touched)
    log.error("job %s crashed", job.execution_id, exc_info=exc)
    message = f"internal error: {type(exc).__name__}"
    return stopped_result(job, rep, started_at, message=message, touched=touched)
