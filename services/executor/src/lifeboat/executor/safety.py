"""The safety backup a restore may take of its target before touching it.

It is an ordinary backup execution (the API recorded it, type ``pre-restore``): it runs with
the normal backup code and reports under its own id (started, log, progress, finished), so the
API records it like any other backup. The restore goes on only once that result was published.

Robustness: a restore job redelivered after its executor died may find the safety backup
already completed by the earlier delivery (its artifact and manifest are in storage). Backing up
again would capture whatever the interrupted restore left in the target, so that artifact is
kept and its result published again (the API ignores a repeated result of a finished backup).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec

from lifeboat.core.errors import JobCancelledError, LifeboatError, RestoreError
from lifeboat.core.logs import scrub
from lifeboat.core.naming import attempt_file_name
from lifeboat.executor.backup import failed_backup, run_backup
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.wire.lease import Fence
from lifeboat.wire.messages import BackupFinished, BackupJob

log = logging.getLogger(__name__)

INTERRUPTED = "the executor stopped while taking the safety backup"


async def _taken_before(ctx: Context, job: BackupJob, attempt: int) -> BackupFinished | None:
    """The result of `job` if an earlier delivery completed it locally, else None."""
    for earlier in range(attempt - 1, 0, -1):
        found = await _taken_by(ctx, job, attempt_file_name(job.file_name, earlier), attempt)
        if found is not None:
            return found
    return None


async def _taken_by(
    ctx: Context, job: BackupJob, file_name: str, attempt: int
) -> BackupFinished | None:
    relative = f"{job.relative_dir}/{file_name}"
    try:
        info = await ctx.storage.stat(relative)
        if info is None:
            return None
        # No manifest (NotFoundError) or an unreadable one: not a completed backup.
        manifest = await ctx.storage.read_manifest(relative)
        size = info.size
    except (OSError, msgspec.DecodeError, LifeboatError):
        return None
    if manifest.execution_id != job.execution_id or manifest.size_bytes != size:
        return None
    return BackupFinished(
        execution_id=job.execution_id,
        attempt=attempt,
        ok=True,
        started_at=manifest.started_at,
        finished_at=manifest.completed_at,
        file_name=file_name,
        relative_path=relative,
        size_bytes=manifest.size_bytes,
        sha256=manifest.sha256,
        compression=manifest.compression,
        server_version=manifest.server_version,
        tool_version=manifest.tool_version,
        local_ok=True,
    )


async def take_safety_backup(
    ctx: Context, job: BackupJob, rep: Reporter, fence: Fence
) -> BackupFinished:
    """Back up the restore's target with `job`, reporting it as its own backup execution.

    `rep` is the restore's reporter: its log names the backup and its outcome. The backup's
    copies are published under the restore's `fence` (a fenced restore attempt stops here).

    Raises:
        RestoreError: the backup failed, or its result could not be published (the target
            was not touched).
    """
    backup_rep = Reporter(
        rep.bus,
        execution_id=job.execution_id,
        kind="backup",
        attempt=rep.attempt,
        executor_id=rep.executor_id,
    )
    result = await _taken_before(ctx, job, rep.attempt)
    if result is not None:
        await rep.log(
            "info",
            f"Safety backup {job.execution_id} was already taken by an earlier attempt;"
            " keeping it (the target may have changed since)",
            {"safetyBackupId": job.execution_id},
        )
    else:
        result = await _run_safety_backup(ctx, job, rep, backup_rep, fence)
    try:
        await backup_rep.finished(result)
    except Exception as exc:
        raise RestoreError(
            f"the result of safety backup {job.execution_id} could not be recorded ({exc});"
            " the target was not touched"
        ) from exc
    if not result.ok:
        raise RestoreError(
            f"safety backup {job.execution_id} failed: {scrub(result.error_message or '')};"
            " the target was not touched"
        )
    await rep.log(
        "info",
        f"Safety backup {job.execution_id} completed ({result.size_bytes} bytes,"
        f" sha256 {result.sha256}); restoring now",
        {"safetyBackupId": job.execution_id, "relativePath": result.relative_path},
    )
    return result


async def _run_safety_backup(
    ctx: Context, job: BackupJob, rep: Reporter, backup_rep: Reporter, fence: Fence
) -> BackupFinished:
    """Run the safety backup now; when it is interrupted or cancelled, say so under its own
    id before re-raising."""
    await rep.log(
        "info",
        f"Taking a safety backup of the target first: backup {job.execution_id}",
        {"safetyBackupId": job.execution_id},
    )
    started_at = now()
    await backup_rep.started()
    try:
        result = await run_backup(ctx, job, backup_rep, fence, started_at=started_at)
    except asyncio.CancelledError:
        # Best effort, so the backup does not stay "running"; a redelivery may redo it.
        failed = failed_backup(job, attempt=rep.attempt, started_at=started_at, message=INTERRUPTED)
        with contextlib.suppress(Exception):
            await asyncio.shield(backup_rep.finished(failed))
        raise
    except JobCancelledError:
        failed = failed_backup(
            job, attempt=rep.attempt, started_at=started_at, message="the restore was cancelled"
        )
        with contextlib.suppress(Exception):
            await backup_rep.finished(failed)
        raise
    return result
