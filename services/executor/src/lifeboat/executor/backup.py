"""Running one backup job: probe, dump, compress, store, manifest."""

from __future__ import annotations

import logging
from datetime import datetime

from lifeboat.core.errors import BackupError, DatabaseError, LifeboatError
from lifeboat.core.logs import scrub
from lifeboat.engines.common import Connection
from lifeboat.engines.pipeline import dump_database
from lifeboat.engines.probe import dump_tool, probe, tool_version
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.storage.manifest import Manifest
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
    )


async def run_backup(
    ctx: Context, job: BackupJob, rep: Reporter, *, started_at: datetime
) -> BackupFinished:
    """Back up ``job.target`` to ``<storage>/<relative_dir>/<file_name>`` plus its manifest.

    Never raises (except on cancellation, after its children were killed and the partial
    file removed): failures come back as ``ok=False`` with the tool's stderr tail.
    """
    try:
        with ctx.connection(job.target, bound_to=job.execution_id) as conn:
            # Errors are turned into messages while the password is still registered, so
            # the redactor masks it wherever it might appear.
            try:
                return await _backup(ctx, job, rep, conn, started_at=started_at)
            except Exception as exc:
                return await _failed(job, rep, exc, started_at=started_at)
    except Exception as exc:  # the sealed password did not open
        return await _failed(job, rep, exc, started_at=started_at)


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
    ctx: Context, job: BackupJob, rep: Reporter, conn: Connection, *, started_at: datetime
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
    sink = ctx.storage.open_sink(job.relative_dir, job.file_name)
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
    relative = sink.relative_path
    completed_at = now()
    manifest = Manifest(
        execution_id=job.execution_id,
        database_label=job.database_label,
        database_name=target.database,
        engine=target.engine,
        server_version=found.server_version,
        tool_version=version,
        format=FORMATS[target.engine],
        compression=job.compression,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        backup_type=job.backup_type,
        schedule_id=job.schedule_id,
        file_name=job.file_name,
        started_at=started_at,
        completed_at=completed_at,
    )
    try:
        ctx.storage.write_manifest(relative, manifest)
    except BaseException as exc:
        # A backup without its manifest is not completed: remove the artifact too.
        ctx.storage.delete(relative)
        if isinstance(exc, OSError):
            raise BackupError(f"cannot write the manifest: {exc.strerror}") from exc
        raise
    await rep.log(
        "info",
        f"Wrote {result.size_bytes} bytes, sha256 {result.sha256}",
        {"relativePath": relative, "sizeBytes": result.size_bytes, "sha256": result.sha256},
    )
    return BackupFinished(
        execution_id=job.execution_id,
        attempt=rep.attempt,
        ok=True,
        started_at=started_at,
        finished_at=completed_at,
        file_name=job.file_name,
        relative_path=relative,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        compression=job.compression,
        server_version=found.server_version,
        tool_version=version,
        database_size_bytes=found.database_size_bytes,
    )
