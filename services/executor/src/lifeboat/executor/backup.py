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
from dataclasses import dataclass, field
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
from lifeboat.engines.registry import engine_for
from lifeboat.engines.server_info import probe, tool_version
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.s3 import open_artifacts
from lifeboat.storage.base import join_name
from lifeboat.storage.local import LocalSink
from lifeboat.storage.manifest import Manifest
from lifeboat.storage.s3.artifacts import S3ArtifactSink, S3ArtifactStore
from lifeboat.storage.s3.settings import backup_metadata
from lifeboat.storage.sink import Sink
from lifeboat.storage.tee import Copy, TeeSink
from lifeboat.wire.lease import Fence
from lifeboat.wire.messages import BackupFinished, BackupJob

log = logging.getLogger(__name__)


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
                removed += await ctx.storage.remove_leftovers(join_name(job.relative_dir, name))
            except (OSError, LifeboatError) as exc:
                await rep.log("warn", f"Could not remove what attempt {earlier} left: {exc}")
    if job.s3 is not None and rep.attempt > 1:
        try:
            async with open_artifacts(ctx, job.s3, bound_to=job.execution_id) as store:
                for earlier in range(1, rep.attempt):
                    removed += await store.remove_leftovers(attempt_s3_key(job.s3.key, earlier))
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
            await ctx.storage.delete(finished.relative_path)
    if job.s3 is not None and finished.s3_ok and finished.s3_key:
        try:
            async with open_artifacts(ctx, job.s3, bound_to=job.execution_id) as store:
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
    version = await tool_version(
        ctx.toolbox, engine_for(conn.engine).dump_tool, base_env=ctx.base_env
    )
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
) -> tuple[S3ArtifactStore, S3ArtifactSink] | str:
    """The S3 store and sink of the job, or why they cannot be opened."""
    target = job.s3
    assert target is not None
    try:
        store = await stack.enter_async_context(
            open_artifacts(ctx, target, bound_to=job.execution_id)
        )
        sink = await store.open_sink(
            key,
            metadata=backup_metadata(
                database=job.database_label, backup_type=job.backup_type, started_at=started_at
            ),
            guard=fence.hold,
        )
    except LifeboatError as exc:
        return scrub(exc.message)
    await rep.log("info", f"Streaming to s3://{target.bucket}/{key}")
    return store, sink


@dataclass
class _Copies:
    """The copies one attempt writes (see :func:`_open_copies`) and how each one ended."""

    file_name: str
    key: str | None
    copies: list[Copy] = field(default_factory=list[Copy])
    local: LocalSink | None = None
    s3: tuple[S3ArtifactStore, S3ArtifactSink] | None = None
    s3_error: str | None = None
    tee: TeeSink | None = None

    @property
    def sink(self) -> Sink:
        """Where the dump is streamed: the tee over both copies, or the only one."""
        return self.tee if self.tee is not None else self.copies[0].sink

    def streamed(self, name: str) -> tuple[bool, str | None]:
        """Whether copy `name` received the whole stream, and why not."""
        if self.tee is None:
            return True, None
        return self.tee.copy(name).ok, self.tee.copy(name).error


async def _open_copies(
    ctx: Context,
    job: BackupJob,
    rep: Reporter,
    fence: Fence,
    stack: AsyncExitStack,
    *,
    started_at: datetime,
) -> _Copies:
    """Open this attempt's sinks (S3 first, then local), each publishing under `fence`.

    Raises:
        BackupError: no copy can be written at all.
    """
    out = _Copies(
        file_name=attempt_file_name(job.file_name, rep.attempt),
        key=attempt_s3_key(job.s3.key, rep.attempt) if job.s3 is not None else None,
    )
    if job.s3 is not None:
        assert out.key is not None
        opened = await _open_s3(ctx, job, rep, fence, stack, key=out.key, started_at=started_at)
        if isinstance(opened, str):
            out.s3_error = opened
            await rep.log("error", f"S3 copy unavailable: {opened}")
            if not job.store_locally:
                raise BackupError(f"cannot open the S3 upload: {opened}")
        else:
            out.s3 = opened
            out.copies.append(Copy(name="s3", sink=opened[1]))
    if job.store_locally:
        out.local = await ctx.storage.open_sink(
            join_name(job.relative_dir, out.file_name), guard=fence.hold
        )
        out.copies.append(Copy(name="local", sink=out.local))
    if not out.copies:
        raise BackupError("the job asks for no copy at all")
    out.tee = TeeSink(out.copies) if len(out.copies) > 1 else None
    return out


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
    out = await _open_copies(ctx, job, rep, fence, stack, started_at=started_at)
    result = await _dump(ctx, job, rep, conn, out)
    await _hold_before_manifests(fence, out)
    completed_at = now()
    manifest = _manifest(
        job,
        out,
        result,
        started_at=started_at,
        completed_at=completed_at,
        server_version=server_version,
        tool=tool,
    )
    await _log_census(rep, result)
    local_ok, relative, local_error = await _finish_local(ctx, rep, out, manifest, result)
    s3_ok, s3_error = await _finish_s3(job, rep, out, manifest, result)
    if not local_ok and not s3_ok:
        reasons = "; ".join(r for r in (local_error, s3_error) if r)
        raise BackupError(f"no copy of the backup could be stored: {reasons}")
    return BackupFinished(
        execution_id=job.execution_id,
        attempt=rep.attempt,
        ok=True,
        started_at=started_at,
        finished_at=completed_at,
        file_name=out.file_name,
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
        s3_key=out.key,
        s3_error=scrub(s3_error) if s3_error else None,
        row_counts=manifest.row_counts,
        object_counts=manifest.object_counts,
        census_error=scrub(result.census_error) if result.census_error else None,
    )


async def _dump(
    ctx: Context, job: BackupJob, rep: Reporter, conn: Connection, out: _Copies
) -> BackupResult:
    """Dump ``conn.database`` into the copies of `out`, counting its rows beside the dump."""
    return await dump_database(
        conn,
        sink=out.sink,
        compression=job.compression,
        level=job.compression_level,
        toolbox=ctx.toolbox,
        base_env=ctx.base_env,
        tmp_dir=ctx.settings.tmp_dir,
        on_progress=rep.progress,
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


async def _hold_before_manifests(fence: Fence, out: _Copies) -> None:
    """The copies are published; the manifests make them backups: last proof first. A fenced
    or cancelled attempt aborts its copies and re-raises."""
    try:
        await fence.hold()
    except (FencedError, JobCancelledError):
        for c in out.copies:
            with contextlib.suppress(Exception):
                await c.sink.abort()
        raise


def _manifest(
    job: BackupJob,
    out: _Copies,
    result: BackupResult,
    *,
    started_at: datetime,
    completed_at: datetime,
    server_version: str | None,
    tool: str,
) -> Manifest:
    """The manifest written beside each copy of this attempt."""
    return Manifest(
        execution_id=job.execution_id,
        database_label=job.database_label,
        database_name=job.target.database,
        engine=job.target.engine,
        server_version=server_version,
        tool_version=tool,
        format=engine_for(job.target.engine).artifact_format,
        compression=job.compression,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        backup_type=job.backup_type,
        schedule_id=job.schedule_id,
        file_name=out.file_name,
        started_at=started_at,
        completed_at=completed_at,
        row_counts=result.census.tables if result.census is not None else None,
        object_counts=result.census.objects if result.census is not None else None,
    )


async def _finish_local(
    ctx: Context, rep: Reporter, out: _Copies, manifest: Manifest, result: BackupResult
) -> tuple[bool | None, str | None, str | None]:
    """Write the local copy's manifest: ``(ok, relative path, error)``; ok is None without a
    local copy. A copy whose manifest cannot be written is removed."""
    local = out.local
    if local is None:
        return None, None, None
    local_ok, local_error = out.streamed("local")
    relative: str | None = None
    if local_ok:
        relative = local.relative_path
        try:
            await ctx.storage.write_manifest(relative, manifest)
        except BaseException as exc:
            # A copy without its manifest is not completed: remove the artifact too (a
            # failing clean-up must not hide why the manifest could not be written).
            with contextlib.suppress(OSError, LifeboatError):
                await ctx.storage.delete(relative)
            if out.tee is None:
                raise  # LocalStore reports an OSError as a BackupError saying what failed
            if not isinstance(exc, Exception):
                raise
            local_ok, relative = False, None
            local_error = exc.message if isinstance(exc, LifeboatError) else f"{exc}"
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
    return local_ok, relative, local_error


async def _finish_s3(
    job: BackupJob, rep: Reporter, out: _Copies, manifest: Manifest, result: BackupResult
) -> tuple[bool | None, str | None]:
    """Write the S3 copy's manifest: ``(ok, error)``; ok is None when the job wants no S3
    copy. An object whose manifest cannot be written is deleted."""
    if job.s3 is None:
        return None, None
    if out.s3 is None or out.key is None:
        return False, out.s3_error
    key = out.key
    store, s3_sink = out.s3
    s3_ok, s3_error = out.streamed("s3")
    if s3_ok:
        try:
            await store.write_manifest(key, manifest)
        except LifeboatError as exc:
            s3_ok, s3_error = False, f"cannot write the manifest: {exc.message}"
            try:
                await store.delete(key)
            except LifeboatError as cleanup:
                await rep.log("warn", f"Could not remove the S3 object: {cleanup.message}")
    for warning in s3_sink.warnings:
        await rep.log("warn", f"S3: {warning}")
    if s3_ok:
        await rep.log(
            "info",
            f"Uploaded {result.size_bytes} bytes to s3://{job.s3.bucket}/{key}"
            f" ({store.s3.retry_count} retried requests)",
            {"s3Bucket": job.s3.bucket, "s3Key": key},
        )
    else:
        await rep.log("error", f"S3 copy failed: {s3_error}")
    return s3_ok, s3_error
