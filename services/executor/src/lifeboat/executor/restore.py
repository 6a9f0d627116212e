"""Running one restore job: verify the artifact, then load it into the target.

An artifact in S3 is first downloaded into a private temporary directory and verified (see
:mod:`lifeboat.executor.s3` for why), then restored like a local one and removed.

An ``unverified`` job (an S3 object or an uploaded file no manifest vouches for, confirmed by
an admin) has no checksum to verify: its size is checked, the log says so, and before the target
is touched the artifact is decompressed once, through the same capped decompressor, to prove it
stays under :func:`decompressed_cap` (a crafted file must not fill the target's disk).

An ``uploaded`` artifact (under ``UPLOADS_DIR``) is removed when the job ends, whatever the
outcome; a job with a ``safety_backup`` takes that backup first (:mod:`lifeboat.executor.safety`).

At most once (``lifeboat.wire.lease``): the attempt moves its lease to ``touching`` right
before the first change to the target; an attempt that lost its lease stops there, and no
other attempt ever touches a target once one did.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from datetime import datetime
from pathlib import Path

from lifeboat.core.errors import (
    FencedError,
    IntegrityError,
    JobCancelledError,
    LifeboatError,
    RestoreError,
)
from lifeboat.core.logs import scrub
from lifeboat.engines.common import Connection, child_env, decompressor_argv
from lifeboat.engines.credentials import private_dir
from lifeboat.engines.process import Child
from lifeboat.engines.registry import engine_for
from lifeboat.engines.restore import RestorePlan, restore_database
from lifeboat.engines.server_info import tool_version
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.s3 import CHUNK, download_verified, open_store, temp_base
from lifeboat.executor.safety import take_safety_backup
from lifeboat.wire.lease import Fence
from lifeboat.wire.messages import UPLOADS_DIR, RestoreFinished, RestoreJob, RestoreOptions

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
    ctx: Context, job: RestoreJob, rep: Reporter, fence: Fence, *, started_at: datetime
) -> RestoreFinished:
    """Restore ``job.source_path`` (relative to the storage root) into ``job.target``.

    Never raises, except on cancellation (after its children were killed) and for
    :class:`FencedError` / :class:`JobCancelledError`: failures come back as ``ok=False``.
    Nothing touches the target before the checksum matched and the lease moved to
    ``touching``.
    """
    try:
        with ctx.connection(job.target, bound_to=job.execution_id) as conn:
            try:
                return await _restore(ctx, job, rep, conn, fence, started_at=started_at)
            except (FencedError, JobCancelledError):
                raise
            except Exception as exc:
                return await _failed(job, rep, exc, started_at=started_at)
    except (FencedError, JobCancelledError):
        raise
    except Exception as exc:  # the sealed password did not open
        return await _failed(job, rep, exc, started_at=started_at)
    finally:
        if job.uploaded:
            _remove_upload(ctx, job)


def _remove_upload(ctx: Context, job: RestoreJob) -> None:
    """Remove the uploaded artifact of `job` (only ever a file directly under UPLOADS_DIR)."""
    parts = job.source_path.split("/")
    if len(parts) != 2 or parts[0] != UPLOADS_DIR or parts[1] in ("", ".", ".."):
        log.error("restore %s: not removing %r, not an upload", job.execution_id, job.source_path)
        return
    try:
        ctx.storage.path_of(job.source_path).unlink(missing_ok=True)
    except (OSError, LifeboatError) as exc:  # the API's sweep removes it later
        log.warning("restore %s: cannot remove the uploaded file: %s", job.execution_id, exc)


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
    ctx: Context,
    job: RestoreJob,
    rep: Reporter,
    conn: Connection,
    fence: Fence,
    *,
    started_at: datetime,
) -> RestoreFinished:
    if job.s3 is None:
        path = ctx.storage.path_of(job.source_path)
        sha256 = job.expected_sha256
        if job.unverified:
            where = "the uploaded file" if job.uploaded else job.source_path
            rep.bytes_total = job.expected_size
            await rep.log("info", f"Reading {where} ({job.expected_size} bytes)")
            sha256 = await _hash_unverified(path, job.expected_size)
            await _vouch_unverified(ctx, job, rep, path, where=where, sha256=sha256)
        return await _restore_from(
            ctx, job, rep, conn, fence, path, sha256=sha256, started_at=started_at
        )
    source = job.s3
    where = f"s3://{source.bucket}/{source.key}"
    with private_dir(temp_base(ctx)) as directory:
        artifact = directory / "artifact"
        async with open_store(ctx, source, bound_to=job.execution_id) as store:
            rep.bytes_total = job.expected_size
            await rep.log(
                "info",
                f"Downloading {where} ({job.expected_size} bytes)"
                + ("" if job.unverified else " to verify it before restoring"),
            )
            sha256 = await download_verified(
                store,
                source.key,
                artifact,
                expected_sha256=None if job.unverified else job.expected_sha256,
                expected_size=job.expected_size,
                on_progress=rep.progress,
            )
        if job.unverified:
            await _vouch_unverified(ctx, job, rep, artifact, where=where, sha256=sha256)
        else:
            await rep.log("info", "Downloaded; checksum and size match the manifest")
        return await _restore_from(
            ctx, job, rep, conn, fence, artifact, sha256=sha256, started_at=started_at
        )


async def _vouch_unverified(
    ctx: Context, job: RestoreJob, rep: Reporter, artifact: Path, *, where: str, sha256: str
) -> None:
    """Say that nothing vouches for `artifact`, and refuse it if it decompresses past the cap."""
    await rep.log(
        "warn",
        f"No checksum was verified: no Lifeboat manifest vouches for {where}, and an"
        f" admin confirmed restoring it anyway ({job.expected_size} bytes, sha256 {sha256})",
        {"unverified": True, "sha256": sha256},
    )
    size = await _check_decompressed_size(ctx, job, artifact)
    await rep.log("info", f"The artifact decompresses to {size} bytes, within the cap")


async def _hash_unverified(path: Path, expected_size: int) -> str:
    """The sha256 of the local file `path`, after checking it holds `expected_size` bytes.

    Raises:
        IntegrityError: the file is missing or its size is not the one the API recorded.
    """

    def run() -> str:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError as exc:
            raise IntegrityError("the artifact is gone (was the restore already run?)") from exc
        try:
            size = os.fstat(fd).st_size
            if size != expected_size:
                raise IntegrityError(f"the artifact holds {size} bytes, not {expected_size}")
            digest = hashlib.sha256()
            while chunk := os.read(fd, CHUNK):
                digest.update(chunk)
            return digest.hexdigest()
        finally:
            os.close(fd)

    return await asyncio.to_thread(run)


DECOMPRESSED_RATIO_CAP = 500
"""An unverified artifact may decompress to at most this many times its size..."""
DECOMPRESSED_FLOOR = 1 << 30
"""...or to this many bytes (1 GiB), whichever is more."""


def decompressed_cap(size: int) -> int:
    """The most bytes an unverified artifact of `size` bytes may decompress to."""
    return max(DECOMPRESSED_FLOOR, size * DECOMPRESSED_RATIO_CAP)


async def _check_decompressed_size(ctx: Context, job: RestoreJob, artifact: Path) -> int:
    """Decompress `artifact` (window-capped like the restore) and count what comes out.

    Raises:
        RestoreError: it does not decompress, or to more than :func:`decompressed_cap`.
    """
    cap = decompressed_cap(job.expected_size)
    argv = decompressor_argv(ctx.toolbox, job.compression)
    fd = os.open(artifact, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        child = await Child.spawn(
            argv,
            name=Path(argv[0]).name,
            env=child_env(ctx.base_env),
            stdin=fd,
            stdout=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(fd)
    total = 0
    try:
        stdout = child.proc.stdout
        assert stdout is not None
        while chunk := await stdout.read(CHUNK):
            total += len(chunk)
            if total > cap:
                raise RestoreError(
                    f"the artifact decompresses to more than {cap} bytes, the cap for an"
                    f" unverified artifact of {job.expected_size} bytes: refused"
                )
        code = await child.wait()
        if code != 0:
            raise RestoreError(f"cannot decompress the artifact: {child.failure(code)}")
    finally:
        await child.kill()
    return total


async def _touch(fence: Fence, rep: Reporter) -> None:
    """The point of no return: only the attempt whose lease moves to ``touching`` changes the
    target."""
    await fence.hold("touching")
    await rep.log("info", f"Attempt {rep.attempt} holds the job; changing the target now")


async def _log_step(job: RestoreJob, rep: Reporter, message: str) -> None:
    if job.unverified:
        # The pipeline compares the download with its own sha256: not a verification.
        if message.startswith("Checksum verified"):
            return
        if message.startswith("Verifying checksum"):
            message = "Checking that the download is intact (no manifest checksum to verify)"
    await rep.log("info", message)


def _source_label(job: RestoreJob) -> str:
    """What the job log calls the artifact being restored."""
    if job.uploaded:
        return "the uploaded file"
    if job.source_path:
        return job.source_path
    return f"s3://{job.s3.bucket}/{job.s3.key}" if job.s3 is not None else "the artifact"


def plan_of(options: RestoreOptions) -> RestorePlan:
    """The engines' form of a job's restore options."""
    return RestorePlan(
        drop_and_recreate=options.drop_and_recreate,
        clean=options.clean,
        schema_only=options.schema_only,
        data_only=options.data_only,
        no_owner=options.no_owner,
        exit_on_error=options.exit_on_error,
    )


async def _restore_from(
    ctx: Context,
    job: RestoreJob,
    rep: Reporter,
    conn: Connection,
    fence: Fence,
    artifact: Path,
    *,
    sha256: str,
    started_at: datetime,
) -> RestoreFinished:
    target = job.target
    await rep.log(
        "info",
        f"Starting restore of {_source_label(job)} into {target.engine} database"
        f" {target.database} on {target.host}:{target.port}",
    )
    if job.safety_backup is not None:
        await take_safety_backup(ctx, job.safety_backup, rep, fence)
    version = await tool_version(
        ctx.toolbox, engine_for(conn.engine).restore_tool, base_env=ctx.base_env
    )
    await rep.log("info", f"Using {version}")
    rep.bytes_total = job.expected_size
    result = await restore_database(
        conn,
        artifact=artifact,
        source_engine=job.source_engine,
        compression=job.compression,
        expected_sha256=sha256,
        expected_size=job.expected_size,
        plan=plan_of(job.options),
        toolbox=ctx.toolbox,
        base_env=ctx.base_env,
        tmp_dir=ctx.settings.tmp_dir,
        on_progress=rep.progress,
        on_log=lambda message: _log_step(job, rep, message),
        before_touch=lambda: _touch(fence, rep),
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
