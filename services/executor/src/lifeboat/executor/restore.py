"""Running one restore job: verify the artifact, then load it into the target.

An artifact in S3 is first downloaded into a private temporary directory and verified (see
:mod:`lifeboat.executor.s3` for why), then restored like a local one and removed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from lifeboat.core.errors import LifeboatError
from lifeboat.core.logs import scrub
from lifeboat.engines.common import Connection
from lifeboat.engines.credentials import private_dir
from lifeboat.engines.pipeline import RestorePlan, restore_database
from lifeboat.engines.probe import restore_tool, tool_version
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.s3 import download_verified, open_store, temp_base
from lifeboat.wire.messages import RestoreFinished, RestoreJob

log = logging.getLogger(__name__)


def failed_restore(
    job: RestoreJob, *, attempt: int, started_at: datetime, message: str
) -> RestoreFinished:
    """The result of a restore that did not complete."""
    return RestoreFinished(
        execution_id=job.execution_id,
        attempt=attempt,
        ok=False,
        started_at=started_at,
        finished_at=now(),
        error_message=scrub(message),
    )


async def run_restore(
    ctx: Context, job: RestoreJob, rep: Reporter, *, started_at: datetime
) -> RestoreFinished:
    """Restore ``job.source_path`` (relative to the storage root) into ``job.target``.

    Never raises (except on cancellation, after its children were killed): failures come
    back as ``ok=False``. Nothing touches the target before the checksum matched.
    """
    try:
        with ctx.connection(job.target, bound_to=job.execution_id) as conn:
            try:
                return await _restore(ctx, job, rep, conn, started_at=started_at)
            except Exception as exc:
                return await _failed(job, rep, exc, started_at=started_at)
    except Exception as exc:  # the sealed password did not open
        return await _failed(job, rep, exc, started_at=started_at)


async def _failed(
    job: RestoreJob, rep: Reporter, exc: Exception, *, started_at: datetime
) -> RestoreFinished:
    if isinstance(exc, LifeboatError):
        message = scrub(exc.message)
        await rep.log("error", f"Restore failed: {message}", {"code": exc.code})
    else:  # a bug must still end as a failed execution, not a stuck one
        log.error("restore %s failed unexpectedly", job.execution_id, exc_info=exc)
        message = scrub(f"internal error: {type(exc).__name__}: {exc}")
        await rep.log("error", f"Restore failed: {message}")
    return failed_restore(job, attempt=rep.attempt, started_at=started_at, message=message)


async def _restore(
    ctx: Context, job: RestoreJob, rep: Reporter, conn: Connection, *, started_at: datetime
) -> RestoreFinished:
    if job.s3 is None:
        return await _restore_from(
            ctx, job, rep, conn, ctx.storage.path_of(job.source_path), started_at=started_at
        )
    source = job.s3
    with private_dir(temp_base(ctx)) as directory:
        artifact = directory / "artifact"
        async with open_store(ctx, source, bound_to=job.execution_id) as store:
            await rep.log(
                "info",
                f"Downloading s3://{source.bucket}/{source.key} ({job.expected_size} bytes)"
                " to verify it before restoring",
            )
            rep.bytes_total = job.expected_size
            await download_verified(
                store,
                source.key,
                artifact,
                expected_sha256=job.expected_sha256,
                expected_size=job.expected_size,
                on_progress=rep.progress,
            )
        await rep.log("info", "Downloaded; checksum and size match the manifest")
        return await _restore_from(ctx, job, rep, conn, artifact, started_at=started_at)


async def _restore_from(
    ctx: Context,
    job: RestoreJob,
    rep: Reporter,
    conn: Connection,
    artifact: Path,
    *,
    started_at: datetime,
) -> RestoreFinished:
    target = job.target
    where = job.source_path or (
        f"s3://{job.s3.bucket}/{job.s3.key}" if job.s3 is not None else "the artifact"
    )
    await rep.log(
        "info",
        f"Starting restore of {where} into {target.engine} database"
        f" {target.database} on {target.host}:{target.port}",
    )
    version = await tool_version(ctx.toolbox, restore_tool(conn.engine), base_env=ctx.base_env)
    await rep.log("info", f"Using {version}")
    rep.bytes_total = job.expected_size
    opts = job.options
    result = await restore_database(
        conn,
        artifact=artifact,
        source_engine=job.source_engine,
        compression=job.compression,
        expected_sha256=job.expected_sha256,
        expected_size=job.expected_size,
        plan=RestorePlan(
            drop_and_recreate=opts.drop_and_recreate,
            clean=opts.clean,
            schema_only=opts.schema_only,
            data_only=opts.data_only,
            no_owner=opts.no_owner,
            exit_on_error=opts.exit_on_error,
        ),
        toolbox=ctx.toolbox,
        base_env=ctx.base_env,
        tmp_dir=ctx.settings.tmp_dir,
        on_progress=rep.progress,
        on_log=lambda message: rep.log("info", message),
    )
    for warning in result.warnings:
        await rep.log("warn", f"Errors were ignored as requested: {warning}")
    await rep.log("info", "Restore completed")
    return RestoreFinished(
        execution_id=job.execution_id,
        attempt=rep.attempt,
        ok=True,
        started_at=started_at,
        finished_at=now(),
    )
