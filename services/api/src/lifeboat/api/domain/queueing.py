"""Handing a job to the executors of a queue, and what happens when that cannot be done.

Every job the API creates (backup, restore, S3 upload) is recorded first, in its own committed
transaction, and published afterwards: a record without a job is recoverable, a job without a
record is not (its result events would name an unknown execution). So when publishing fails the
record must not stay ``pending`` forever: :func:`queue_job` runs the caller's compensation
(usually :func:`fail_if_pending`) and raises UnavailableError (503) naming the execution.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, RestoreExecution, utcnow
from lifeboat.core.errors import UnavailableError
from lifeboat.wire.messages import Job

log = logging.getLogger(__name__)

Compensation = Callable[[str], Awaitable[None]]
"""Undoes what a job that could not be queued left behind; called with the reason."""


async def queue_job(
    ctx: ApiContext,
    queue: str,
    job: Job,
    *,
    what: str,
    details: Mapping[str, object],
    compensate: Compensation,
) -> None:
    """Publish `job` for the executors of `queue`, or compensate and raise UnavailableError.

    The job is signed with the API's job MAC (executors refuse unsigned jobs); the bus retries
    the publish while NATS elects a leader or fails over, and its de-duplication id (one per
    execution) makes a retried publish land once. When it still cannot be published,
    ``compensate(reason)`` runs, with ``reason`` = "could not queue the `what` job: ...", then
    UnavailableError(reason, details) is raised.
    """
    try:
        await ctx.nats.require().publish_job(queue, job, sign=ctx.sealer.mac)
    except UnavailableError as exc:
        reason = f"could not queue the {what} job: {exc.message}"
        log.warning("%s job %s not queued on %s: %s", what, job.execution_id, queue, exc.message)
        await compensate(reason)
        raise UnavailableError(reason, details=dict(details)) from exc


def fail_if_pending(row: BackupExecution | RestoreExecution | None, reason: str) -> bool:
    """Mark `row` failed with `reason` unless an event already moved it on (or it is gone).

    Returns whether it was marked.
    """
    if row is None or row.status != "pending":
        return False
    row.status = "failed"
    row.error_message = reason
    row.completed_at = utcnow()
    return True
