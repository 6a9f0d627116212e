"""S3 in the executor: opening a job's sealed S3 target, uploading a local artifact, and
downloading an artifact for a restore.

Restoring from S3 downloads the object into a private temporary directory first (under
``EXECUTOR_TMP_DIR``, else ``<BACKUP_STORAGE_PATH>/.tmp``), hashing it on the way; the restore
starts only when size and sha256 match the manifest. DESIGN.md requires the checksum to be
verified before anything touches the target, and streaming twice (once to verify, once to
restore) would double the egress and still trust the second read blindly. Memory stays bounded
(one 1 MiB chunk at a time); the disk needs room for one compressed artifact.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from lifeboat.core.errors import IntegrityError, LifeboatError, S3Error
from lifeboat.core.logs import forget_secret, register_secret, scrub
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter, now
from lifeboat.storage.local import write_all
from lifeboat.storage.s3.artifacts import S3ArtifactStore
from lifeboat.storage.s3.settings import S3Settings, backup_metadata
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire.messages import S3Target, S3UploadFinished, UploadJob

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_INFLIGHT_BYTES = 32 * 1024 * 1024
"""Upload memory budget: parts in flight are capped so the executor stays under its 150 MB
bar (DESIGN.md) whatever concurrency a configuration asks for; the part being filled comes on
top (16 MiB parts: 2 in flight + 1 filling = 48 MiB). Parts reach the HTTP stack as
:class:`lifeboat.storage.part_body.PartBody`, so they are not copied again on the way out."""

ProgressFn = Callable[[int], Awaitable[None]]


def settings_for(ctx: Context, target: S3Target, *, bound_to: str) -> S3Settings:
    """The store settings of `target`, its keys opened (bound to the execution id).

    Raises:
        DecryptionError: the seal key differs or the keys were sealed for another job.
        ValidationError: the settings are invalid.
    """
    access = ctx.sealer.open(target.sealed_access_key_id, bound_to=bound_to)
    secret = ctx.sealer.open(target.sealed_secret_access_key, bound_to=bound_to)
    return S3Settings(
        bucket=target.bucket,
        access_key_id=access,
        secret_access_key=secret,
        region=target.region,
        endpoint_url=target.endpoint_url,
        path_prefix=target.path_prefix,
        addressing_style=target.addressing_style,
        part_size_bytes=target.part_size_bytes,
        concurrency=max(1, min(target.concurrency, MAX_INFLIGHT_BYTES // target.part_size_bytes)),
        storage_class=target.storage_class,
        sse=target.sse,
        sse_kms_key_id=target.sse_kms_key_id,
        checksum_mode=target.checksum_mode,
    )


@asynccontextmanager
async def open_store(
    ctx: Context, target: S3Target, *, bound_to: str
) -> AsyncGenerator[S3Store, None]:
    """An :class:`S3Store` for `target`; its secret key is masked in every log while open."""
    settings = settings_for(ctx, target, bound_to=bound_to)
    secret = settings.secret_access_key
    register_secret(secret)
    try:
        async with S3Store(settings) as store:
            yield store
    finally:
        forget_secret(secret)


@asynccontextmanager
async def open_artifacts(
    ctx: Context, target: S3Target, *, bound_to: str
) -> AsyncGenerator[S3ArtifactStore, None]:
    """The bucket of `target` as an artifact store (names checked, nothing replaced); its
    secret key is masked in every log while open."""
    async with open_store(ctx, target, bound_to=bound_to) as store:
        yield S3ArtifactStore(store)


def temp_base(ctx: Context) -> Path:
    """Where downloads for restores go (created 0700)."""
    base = ctx.settings.tmp_dir or ctx.settings.storage_path / ".tmp"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return base


async def download_verified(
    store: S3Store,
    key: str,
    dest: Path,
    *,
    expected_sha256: str | None,
    expected_size: int,
    on_progress: ProgressFn | None = None,
) -> str:
    """Stream object `key` into a new 0600 file `dest`, hashing it; check its size and, unless
    `expected_sha256` is None (an unverified artifact), its sha256. Returns the sha256.

    Raises:
        S3Error: the object cannot be read.
        IntegrityError: size or checksum differ from the manifest (the file is removed).
    """
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    digest = hashlib.sha256()
    size = 0
    last = 0.0
    try:
        try:
            async for chunk in store.stream(key, chunk_size=CHUNK):
                if size + len(chunk) > expected_size:
                    raise IntegrityError(
                        f"{store.location(key)} is larger than the recorded {expected_size} bytes"
                    )
                await asyncio.to_thread(_write_hash, fd, chunk, digest)
                size += len(chunk)
                loop_now = asyncio.get_running_loop().time()
                if on_progress is not None and loop_now - last >= 1.0:
                    last = loop_now
                    await on_progress(size)
            await asyncio.to_thread(os.fsync, fd)
        finally:
            os.close(fd)
        if size != expected_size:
            raise IntegrityError(
                f"artifact size mismatch: expected {expected_size} bytes, downloaded {size}",
                details={"expected_size": expected_size, "size": size},
            )
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256.lower():
            raise IntegrityError(
                "artifact checksum mismatch: the S3 object is not the backup that was recorded",
                details={"expected_sha256": expected_sha256, "sha256": digest.hexdigest()},
            )
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dest)
        raise
    return digest.hexdigest()


def _write_hash(fd: int, chunk: bytes, digest: Any) -> None:
    digest.update(chunk)
    write_all(fd, chunk)


def _read(fd: int) -> bytes:
    return os.read(fd, CHUNK)


async def upload_file(
    store: S3Store,
    path: Path,
    key: str,
    *,
    metadata: dict[str, str],
    expected_sha256: str,
    expected_size: int,
    on_progress: ProgressFn | None = None,
) -> list[str]:
    """Stream local file `path` to `key`, verifying its sha256 while reading; the upload is
    completed only if size and checksum match (otherwise aborted: no object, no parts).
    Returns what went wrong without failing the upload (the sink's warnings).

    Raises:
        IntegrityError: the local file is not the recorded artifact.
        S3Error: the upload failed (after retries).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise S3Error(f"cannot read the local backup file: {exc.strerror}") from None
    sink = store.open_sink(key, metadata)
    digest = hashlib.sha256()
    size = 0
    committed = False
    last = 0.0
    try:
        while chunk := await asyncio.to_thread(_read, fd):
            digest.update(chunk)
            size += len(chunk)
            await sink.write(chunk)
            loop_now = asyncio.get_running_loop().time()
            if on_progress is not None and loop_now - last >= 1.0:
                last = loop_now
                await on_progress(size)
        if size != expected_size or digest.hexdigest() != expected_sha256.lower():
            raise IntegrityError(
                "the local backup file does not match its recorded size and sha256;"
                " not uploading it",
                details={"size": size, "expected_size": expected_size},
            )
        await sink.commit(size=size, sha256=expected_sha256)
        committed = True
    finally:
        os.close(fd)
        if not committed:
            await sink.abort()
    return sink.warnings


async def run_upload(
    ctx: Context, job: UploadJob, rep: Reporter, *, started_at: datetime
) -> S3UploadFinished:
    """Copy a completed local artifact and its manifest to S3. Never raises (except on
    cancellation, after the multipart upload was aborted)."""
    del started_at
    target = job.s3
    try:
        async with open_store(ctx, target, bound_to=job.execution_id) as store:
            await rep.log(
                "info", f"Uploading {job.source_path} to s3://{target.bucket}/{target.key}"
            )
            path = ctx.storage.path_of(job.source_path)
            manifest = await ctx.storage.read_manifest(job.source_path)
            warnings = await upload_file(
                store,
                path,
                target.key,
                metadata=backup_metadata(
                    database=job.database_label,
                    backup_type=job.backup_type,
                    started_at=job.started_at,
                ),
                expected_sha256=job.expected_sha256,
                expected_size=job.expected_size,
                on_progress=rep.progress,
            )
            try:
                await store.put_manifest(target.key, manifest)
            except S3Error:
                await store.delete(target.key)
                raise
            for warning in warnings:
                await rep.log("warn", f"S3: {warning}")
            await rep.log(
                "info",
                f"Uploaded {job.expected_size} bytes to s3://{target.bucket}/{target.key}",
                {"s3Bucket": target.bucket, "s3Key": target.key},
            )
            ok, message = True, None
    except Exception as exc:
        if isinstance(exc, LifeboatError):
            message = scrub(exc.message)
        elif isinstance(exc, OSError):
            message = scrub(f"cannot read the local backup: {exc.strerror or exc}")
        else:
            log.error("upload of %s failed unexpectedly", job.execution_id, exc_info=exc)
            message = scrub(f"internal error: {type(exc).__name__}: {exc}")
        await rep.log("error", f"S3 upload failed: {message}")
        ok = False
    return S3UploadFinished(
        execution_id=job.execution_id,
        attempt=rep.attempt,
        ok=ok,
        finished_at=now(),
        s3_bucket=target.bucket,
        s3_key=target.key,
        error_message=message,
    )


def failed_upload(job: UploadJob, *, attempt: int, message: str) -> S3UploadFinished:
    """The result of an upload that did not run to its end."""
    return S3UploadFinished(
        execution_id=job.execution_id,
        attempt=attempt,
        ok=False,
        finished_at=now(),
        s3_bucket=job.s3.bucket,
        s3_key=job.s3.key,
        error_message=scrub(message),
    )
