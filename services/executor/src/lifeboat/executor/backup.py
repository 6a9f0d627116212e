"""Running one backup job: probe, dump, compress, store (local file, S3 object, or both from
the same stream), manifest beside each copy.

With both copies the compressed stream goes through a :class:`~lifeboat.storage.tee.TeeSink`:
a failed S3 upload (after the S3 sink's retries) is aborted (no orphan parts) and reported in
``s3_ok``/``s3_error`` while the local copy completes; the backup is completed when at least
one copy and its manifest were stored.

Fencing (``lifeboat.wire.lease``): delivery attempt n writes its own names (``-a<n>`` for
n ≥ 2, locally and in S3), first removes what older attempts of the execution left under
theirs, and holds the lease right before each copy is published and before the manifests are
written. A fenced or cancelled attempt removes every copy it published and reports nothing
(fenced) or ``cancelled``.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AsyncExitStack
from datetime import datetime

from lifeboat.core.errors import (
    BackupError,
    DatabaseError,
    FencedError,
    JobCancelledError,
    LifeboatError,
)
from lifeboat.core.logs import scrub
from lifeboat.core.naming import attempt_file_name, attempt_s3_key
from lifeboat.engines.backup import BackupResult, dump_database
from lifeboat.engines.common import Connection
from lifeboat.engines.probe import dump_tool, probe, tool_version
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.s3 import open_store
from lifeboat.storage.local import LocalSink
from lifeboat.storage.manifest import Manifest
from lifeboat.storage.s3.multipart import S3Sink
from lifeboat.storage.s3.settings import backup_metadata
from lifeboat.storage.s3.store import S3Store
from lifeboat.storage.tee import Copy, TeeSink
from lifeboat.wire.lease import Fence
from lifeboat.wire.messages import BackupFinished, BackupJob

log = logging.getLogger(__name__)

FORMATS = {"postgresql": "pg_dump-custom", "mysql": "mysqldump-sql"}


def failed_backup(
    job: BackupJob, *, attempt: int, started_at: datetime, message: str
) -> BackupFinished:
    """The result of a backup that did not complete."""
    return BackupFinished(
        execution_id=job.execution_id,
        attempt=attempt,
        ok=False,
        started_at=started_at,
        finished_at=now(),
        compression=job.compression,
        error_message=scrub(message),
        local_ok=False if job.store_locally else None,
        s3_ok=False if job.s3 is not None else None,
        s3_bucket=job.s3.bucket if job.s3 is not None else None,
        s3_key=attempt_s3_key(job.s3.key, attempt) if job.s3 is not None else None,
    )


async def run_backup(
    ctx: Context, job: BackupJob, rep: Reporter, fence: Fence, *, started_at: datetime
) -> BackupFinished:
    """Back up ``job.target`` to ``<storage>/<relative_dir>/<file_name>`` plus its manifest.

    Never raises, except on cancellation (after its children were killed and the partial
    file removed) and for :class:`FencedError` / :class:`JobCancelledError` (after every copy
    it made was removed): failures come back as ``ok=False`` with the tool's stderr tail.
    """
    try:
        with ctx.connection(job.target, bound_to=job.execution_id) as conn:
            # Errors are turned into messages while the password is still registered, so
            # the redactor masks it wherever it might appear.
            try:
                return await _backup(ctx, job, rep, conn, fence, started_at=started_at)
            except (FencedError, JobCancelledError):
                raise
            except Exception as exc:
                return await _failed(job, rep, exc, started_at=started_at)
    except (FencedError, JobCancelledError):
        raise
    except Exception as exc:  # the sealed password did not open
        return await _failed(job, rep, exc, started_at=started_at)


async def remove_earlier_attempts(ctx: Context, job: BackupJob, rep: Reporter) -> None:
    """Remove what attempts before ``rep.attempt`` of `job` left (partial or complete files,
    manifests, S3 objects and unfinished multipart uploads): none of it was recorded, and
    none of those attempts can publish anything any more (this attempt holds the lease)."""
    removed: list[str] = []
    for earlier in range(1, rep.attempt):
        name = attempt_file_name(job.file_name, earlier)
        if job.store_locally:
            try:
                removed += ctx.storage.remove_leftovers(job.relative_dir, name)
            except (OSError, LifeboatError) as exc:
                await rep.log("warn", f"Could not remove what attempt {earlier} left: {exc}")
    if job.s3 is not None and rep.attempt > 1:
        try:
            async with open_store(ctx, job.s3, bound_to=job.execution_id) as store:
                for earlier in range(1, rep.attempt):
                    key = attempt_s3_key(job.s3.key, earlier)
                    sink = store.open_sink(key)
                    await sink.abort_leftovers()
                    removed += [w for w in sink.warnings if w.startswith("aborted")]
                    if await store.delete(key):
                        removed.append(f"s3://{job.s3.bucket}/{key}")
        except LifeboatError as exc:
            await rep.log("warn", f"Could not clean up earlier attempts in S3: {exc.message}")
    if removed:
        await rep.log(
            "info",
            f"Removed what {rep.attempt - 1} earlier attempt(s) left: {', '.join(removed)}",
        )


async def withdraw(ctx: Context, job: BackupJob, finished: BackupFinished) -> None:
    """Remove the copies a backup published but may not record (fenced or cancelled at the
    very end). Never raises."""
    if finished.relative_path:
        with contextlib.suppress(OSError, LifeboatError):
            ctx.storage.delete(finished.relative_path)
    if job.s3 is not None and finished.s3_ok and finished.s3_key:
        try:
            async with open_store(ctx, job.s3, bound_to=job.execution_id) as store:
                await store.delete(finished.s3_key)
        except LifeboatError as exc:
            log.warning("cannot withdraw s3 copy of %s: %s", job.execution_id, exc.message)


async def _failed(
    job: BackupJob, rep: Reporter, exc: Exception, *, started_at: datetime
) -> BackupFinished:
    if isinstance(exc, LifeboatError):
        message = scrub(exc.message)
        await rep.log("error", f"Backup failed: {message}", {"code": exc.code})
    else:  # a bug must still end as a failed execution, not a stuck one
        log.error("backup %s failed unexpectedly", job.execution_id, exc_info=exc)
        message = scrub(f"internal error: {type(exc).__name__}: {exc}")
        await rep.log("error", f"Backup failed: {message}")
    return failed_backup(job, attempt=rep.attempt, started_at=started_at, message=message)


async def _backup(
    ctx: Context,
    job: BackupJob,
    rep: Reporter,
    conn: Connection,
    fence: Fence,
    *,
    started_at: datetime,
) -> BackupFinished:
    target = job.target
    await rep.log(
        "info",
        f"Starting backup of {job.database_label} ({target.engine} database"
        f" {target.database} on {target.host}:{target.port})",
    )
    try:
        found = await probe(
            conn, toolbox=ctx.toolbox, base_env=ctx.base_env, tmp_dir=ctx.settings.tmp_dir
        )
    except DatabaseError as exc:
        raise DatabaseError(f"cannot connect to the database: {exc.message}") from exc
    await rep.log(
        "info",
        f"Connected: server {found.server_version},"
        f" database size {found.database_size_bytes} bytes",
    )
    version = await tool_version(ctx.toolbox, dump_tool(conn.engine), base_env=ctx.base_env)
    await rep.log("info", f"Running {version}")
    if rep.attempt > 1:
        await remove_earlier_attempts(ctx, job, rep)
    async with AsyncExitStack() as stack:
        return await _dump_and_store(
            ctx,
            job,
            rep,
            conn,
            fence,
            stack,
            started_at=started_at,
            server_version=found.server_version,
            database_size_bytes=found.database_size_bytes,
            tool=version,
        )


async def _open_s3(
    ctx: Context,
    job: BackupJob,
    rep: Reporter,
    fence: Fence,
    stack: AsyncExitStack,
    *,
    key: str,
    started_at: datetime,
) -> tuple[S3Store, S3Sink] | str:
    """The S3 store and sink of the job, or why they cannot be opened."""
    target = job.s3
    assert target is not None
    try:
        store = await stack.enter_async_context(open_store(ctx, target, bound_to=job.execution_id))
        sink = store.open_sink(
            key,
            backup_metadata(
                database=job.database_label, backup_type=job.backup_type, started_at=started_at
            ),
            guard=fence.hold,
        )
    except LifeboatError as exc:
        return scrub(exc.message)
    await rep.log("info", f"Streaming to s3://{target.bucket}/{key}")
    return store, sink


async def _dump_and_store(
    ctx: Context,
    job: BackupJob,
    rep: Reporter,
    conn: Connection,
    fence: Fence,
    stack: AsyncExitStack,
    *,
    started_at: datetime,
    server_version: str | None,
    database_size_bytes: int | None,
    tool: str,
) -> BackupFinished:
    target = job.target
    file_name = attempt_file_name(job.file_name, rep.attempt)
    key = attempt_s3_key(job.s3.key, rep.attempt) if job.s3 is not None else None
    copies: list[Copy] = []
    local: LocalSink | None = None
    s3: tuple[S3Store, S3Sink] | None = None
    s3_error: str | None = None
    if job.s3 is not None:
        assert key is not None
        opened = await _open_s3(ctx, job, rep, fence, stack, key=key, started_at=started_at)
        if isinstance(opened, str):
            s3_error = opened
            await rep.log("error", f"S3 copy unavailable: {opened}")
            if not job.store_locally:
                raise BackupError(f"cannot open the S3 upload: {opened}")
        else:
            s3 = opened
            copies.append(Copy(name="s3", sink=opened[1]))
    if job.store_locally:
        local = ctx.storage.open_sink(job.relative_dir, file_name, guard=fence.hold)
        copies.append(Copy(name="local", sink=local))
    if not copies:
        raise BackupError("the job asks for no copy at all")
    tee = TeeSink(copies) if len(copies) > 1 else None
    sink = tee if tee is not None else copies[0].sink
    result = await dump_database(
        conn,
        sink=sink,
        compression=job.compression,
        level=job.compression_level,
        toolbox=ctx.toolbox,
        base_env=ctx.base_env,
        tmp_dir=ctx.settings.tmp_dir,
        on_progress=rep.progress,
    )
    try:
        # The copies are published; the manifests make them backups: last proof first.
        await fence.hold()
    except (FencedError, JobCancelledError):
        for c in copies:
            with contextlib.suppress(Exception):
                await c.sink.abort()
        raise
    completed_at = now()
    manifest = Manifest(
        execution_id=job.execution_id,
        database_label=job.database_label,
        database_name=target.database,
        engine=target.engine,
        server_version=server_version,
        tool_version=tool,
        format=FORMATS[target.engine],
        compression=job.compression,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        backup_type=job.backup_type,
        schedule_id=job.schedule_id,
        file_name=file_name,
        started_at=started_at,
        completed_at=completed_at,
        row_counts=result.census.tables if result.census is not None else None,
        object_counts=result.census.objects if result.census is not None else None,
    )
    await _log_census(rep, result)
    local_ok: bool | None = None
    relative: str | None = None
    local_error: str | None = None
    if local is not None:
        local_ok = tee is None or tee.copy("local").ok
        if local_ok:
            relative = local.relative_path
            try:
                ctx.storage.write_manifest(relative, manifest)
            except BaseException as exc:
                # A copy without its manifest is not completed: remove the artifact too.
                ctx.storage.delete(relative)
                if tee is None:
                    if isinstance(exc, OSError):
                        raise BackupError(f"cannot write the manifest: {exc.strerror}") from exc
                    raise
                if not isinstance(exc, Exception):
                    raise
                local_ok, relative = False, None
                local_error = f"cannot write the manifest: {exc}"
        elif tee is not None:
            local_error = tee.copy("local").error
        if local_ok:
            await rep.log(
                "info",
                f"Wrote {result.size_bytes} bytes, sha256 {result.sha256}",
                {
                    "relativePath": relative,
                    "sizeBytes": result.size_bytes,
                    "sha256": result.sha256,
                },
            )
        else:
            await rep.log("error", f"Local copy failed: {local_error}")
    s3_ok: bool | None = None if job.s3 is None else False
    if s3 is not None and job.s3 is not None and key is not None:
        store, s3_sink = s3
        s3_ok = tee is None or tee.copy("s3").ok
        if s3_ok:
            try:
                await store.put_manifest(key, manifest)
            except LifeboatError as exc:
                s3_ok, s3_error = False, f"cannot write the manifest: {exc.message}"
                try:
                    await store.delete(key)
                except LifeboatError as cleanup:
                    await rep.log("warn", f"Could not remove the S3 object: {cleanup.message}")
        elif tee is not None:
            s3_error = tee.copy("s3").error
        for warning in s3_sink.warnings:
            await rep.log("warn", f"S3: {warning}")
        if s3_ok:
            await rep.log(
                "info",
                f"Uploaded {result.size_bytes} bytes to s3://{job.s3.bucket}/{key}"
                f" ({store.retry_count} retried requests)",
                {"s3Bucket": job.s3.bucket, "s3Key": key},
            )
        else:
            await rep.log("error", f"S3 copy failed: {s3_error}")
    if not local_ok and not s3_ok:
        reasons = "; ".join(r for r in (local_error, s3_error) if r)
        raise BackupError(f"no copy of the backup could be stored: {reasons}")
    return BackupFinished(
        execution_id=job.execution_id,
        attempt=rep.attempt,
        ok=True,
        started_at=started_at,
        finished_at=completed_at,
        file_name=file_name,
        relative_path=relative,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        compression=job.compression,
        server_version=server_version,
        tool_version=tool,
        database_size_bytes=database_size_bytes,
        local_ok=local_ok,
        s3_ok=s3_ok,
        s3_bucket=job.s3.bucket if job.s3 is not None else None,
        s3_key=key,
        s3_error=scrub(s3_error) if s3_error else None,
        row_counts=manifest.row_counts,
        object_counts=manifest.object_counts,
        census_error=scrub(result.census_error) if result.census_error else None,
    )


async def _log_census(rep: Reporter, result: BackupResult) -> None:
    """Say what the census counted, or why it could not (never silently missing)."""
    if result.census is not None:
        census = result.census
        await rep.log(
            "info",
            f"Counted {len(census.tables)} tables, {census.rows} rows (consistent with the dump)",
            {"objectCounts": census.objects},
        )
    elif result.census_error:
        await rep.log(
            "warn",
            f"Rows were not counted, this backup cannot be verified: {scrub(result.census_error)}",
        )
