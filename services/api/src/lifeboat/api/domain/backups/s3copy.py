"""The S3 copy of a backup, seen from the API: uploading a local-only backup later, streaming
a download from S3, deleting the S3 copy.

The API holds the S3 keys, so downloads stream straight from the bucket through the API
(:meth:`S3ArtifactStore.read`, 1 MiB chunks, resumed on a dropped connection); uploads run on an
executor of the database's queue (an ``UploadJob``), which reads the local file and verifies
its sha256 on the way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, DatabaseConfig, S3Config, utcnow
from lifeboat.api.domain.backups.schemas import BackupOut
from lifeboat.api.domain.backups.service import load_backup, to_out
from lifeboat.api.domain.queueing import queue_job
from lifeboat.api.domain.s3configs.service import (
    config_for_object,
    resolve_config,
    store_for,
    target_for,
)
from lifeboat.api.hub import ExecutionUpdate
from lifeboat.core import naming
from lifeboat.core.errors import (
    ConflictError,
    LifeboatError,
    NotFoundError,
    ValidationError,
)
from lifeboat.core.paths import contained
from lifeboat.storage.s3.artifacts import S3ArtifactStore
from lifeboat.wire.messages import UploadJob

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Download:
    """Where a download comes from: a local file, or an S3 byte stream of known size."""

    file_name: str
    path: Path | None = None
    stream: AsyncIterator[bytes] | None = None
    size: int | None = None


def local_file(ctx: ApiContext, row: BackupExecution) -> Path | None:
    """The local artifact of `row` if it is on this machine's storage."""
    if not row.local_path or row.local_status in ("failed", "deleted"):
        return None
    try:
        path = contained(ctx.settings.backup_storage_path, row.local_path)
    except ValidationError:
        return None
    return path if path.is_file() else None


async def open_download(ctx: ApiContext, backup_id: str) -> Download:
    """The artifact of a completed backup: the local file if present, else the S3 object.

    Raises:
        ConflictError: not completed. NotFoundError: no copy is reachable.
    """
    async with ctx.db.read() as session:
        row = await load_backup(session, backup_id)
        if row.status != "completed":
            raise ConflictError(
                f"backup {backup_id} is {row.status}, not completed",
                details={"id": backup_id, "status": row.status},
            )
        path = local_file(ctx, row)
        name = row.file_name or (path.name if path else f"{backup_id}.bin")
        if path is not None:
            return Download(file_name=name, path=path)
        if row.s3_status != "completed" or not row.s3_bucket or not row.s3_key:
            raise NotFoundError(
                f"backup {backup_id} has no local file and no S3 copy", details={"id": backup_id}
            )
        config = await config_for_object(session, config_id=row.s3_config_id, bucket=row.s3_bucket)
        key = row.s3_key
    store = S3ArtifactStore(await store_for(ctx, config))
    try:
        info = await store.stat(key)
    except LifeboatError:
        await store.aclose()
        raise
    if info is None:
        await store.aclose()
        raise NotFoundError(
            f"the S3 copy of backup {backup_id} is missing", details={"id": backup_id, "key": key}
        )

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in store.read(key):
                yield chunk
        finally:
            await store.aclose()

    return Download(file_name=name, stream=chunks(), size=info.size)


async def request_upload(ctx: ApiContext, backup_id: str, s3_config_id: str | None) -> BackupOut:
    """Queue the upload of a completed local-only backup to S3 (POST .../upload-to-s3): to
    `s3_config_id`, else the configuration of an earlier failed attempt, else the default one.

    Raises:
        ConflictError: not completed, already in S3, or an upload is pending.
        ValidationError: no local copy, or S3 is not configured.
        UnavailableError: the job could not be queued (the S3 fields are as they were).
    """
    async with ctx.db.write() as session:
        row = await load_backup(session, backup_id)
        _check_uploadable(row)
        # A retry after a failed copy goes where the first attempt went unless told otherwise.
        config = await resolve_config(session, s3_config_id or row.s3_config_id)
        database = await session.get(DatabaseConfig, row.database_config_id)
        assert database is not None
        job = _upload_job(ctx, row, config, database)
        previous = _S3Fields.of(row)
        _S3Fields("pending", None, config.bucket, job.s3.key, config.id).put_on(row)
        queue, name = database.queue, database.name
        out = to_out(row, name)
    await queue_job(
        ctx,
        queue,
        job,
        what="upload",
        details={"id": backup_id},
        compensate=functools.partial(_restore_s3_fields, ctx, backup_id, previous),
    )
    ctx.hub.publish(
        ExecutionUpdate(
            execution_type="backup", execution_id=backup_id, event="log", message="S3 upload queued"
        )
    )
    log.info(
        "upload of backup %s to s3://%s/%s queued on %s",
        backup_id,
        config.bucket,
        job.s3.key,
        queue,
    )
    return out


def _check_uploadable(row: BackupExecution) -> None:
    """Refuse an upload of a backup that is not completed, is in S3 (or on its way there), or
    has no local copy whose checksum the executor can verify."""
    backup_id = row.id
    if row.status != "completed":
        raise ConflictError(
            f"backup {backup_id} is {row.status}, not completed",
            details={"id": backup_id, "status": row.status},
        )
    if row.s3_status == "completed":
        raise ConflictError(
            f"backup {backup_id} is already in S3",
            details={"id": backup_id, "s3Bucket": row.s3_bucket, "s3Key": row.s3_key},
        )
    if row.s3_status == "pending":
        raise ConflictError(
            f"an upload of backup {backup_id} is already pending", details={"id": backup_id}
        )
    if (
        not row.local_path
        or row.local_status in ("failed", "deleted")
        or not row.checksum
        or row.file_size_bytes is None
        or not row.file_name
    ):
        raise ValidationError(
            f"backup {backup_id} has no local copy to upload", details={"id": backup_id}
        )


def _upload_job(
    ctx: ApiContext, row: BackupExecution, config: S3Config, database: DatabaseConfig
) -> UploadJob:
    """The job that copies `row`'s local file to `config`'s bucket (checked by
    :func:`_check_uploadable`)."""
    assert row.local_path and row.checksum and row.file_name and row.file_size_bytes is not None
    key = naming.s3_key(
        prefix=config.path_prefix,
        database=database.name,
        started_at=row.started_at,
        file_name=row.file_name,
    )
    return UploadJob(
        execution_id=row.id,
        source_path=row.local_path,
        expected_sha256=row.checksum,
        expected_size=row.file_size_bytes,
        s3=target_for(ctx, config, key=key, bound_to=row.id),
        database_label=database.name,
        backup_type=row.backup_type,
        started_at=row.started_at,
        requested_at=utcnow(),
    )


class _S3Fields(NamedTuple):
    """The S3 columns an upload request changes (and gives back when it is not queued)."""

    status: str | None
    error: str | None
    bucket: str | None
    key: str | None
    config_id: str | None

    @classmethod
    def of(cls, row: BackupExecution) -> _S3Fields:
        """The S3 columns of `row` as they are now."""
        return cls(row.s3_status, row.s3_error, row.s3_bucket, row.s3_key, row.s3_config_id)

    def put_on(self, row: BackupExecution) -> None:
        """Set `row`'s S3 columns to these values."""
        row.s3_status, row.s3_error = self.status, self.error
        row.s3_bucket, row.s3_key, row.s3_config_id = self.bucket, self.key, self.config_id


async def _restore_s3_fields(
    ctx: ApiContext, backup_id: str, previous: _S3Fields, reason: str
) -> None:
    """Compensation of an upload job that could not be queued: the backup itself completed,
    so only its S3 columns go back to what they were (no upload left pending)."""
    del reason  # the 503 carries it; the backup's own outcome is unchanged
    async with ctx.db.write() as session:
        again = await session.get(BackupExecution, backup_id)
        if again is not None and again.s3_status == "pending":
            previous.put_on(again)


async def delete_s3_copy(ctx: ApiContext, backup_id: str) -> tuple[str | None, str | None]:
    """Remove the S3 object and its manifest of a backup. Best effort: a failure is logged and
    kept in ``s3_error``, the record stays deleted.

    Returns the object's location when it was removed, and the reason when it could not be.
    """
    async with ctx.db.read() as session:
        row = await session.get(BackupExecution, backup_id)
        if row is None or row.s3_status != "completed" or not row.s3_bucket or not row.s3_key:
            return None, None
        location = f"s3://{row.s3_bucket}/{row.s3_key}"
        try:
            config = await config_for_object(
                session, config_id=row.s3_config_id, bucket=row.s3_bucket
            )
        except LifeboatError as exc:
            log.warning("S3 copy of backup %s not deleted: %s", backup_id, exc.message)
            return None, exc.message
        key = row.s3_key
    error: str | None = None
    try:
        async with S3ArtifactStore(await store_for(ctx, config)) as store:
            await store.delete(key)
    except LifeboatError as exc:
        error = exc.message
        log.warning("S3 copy of backup %s not deleted: %s", backup_id, exc.message)
    async with ctx.db.write() as session:
        again = await session.get(BackupExecution, backup_id)
        if again is not None:
            if error is None:
                again.s3_status, again.s3_uploaded = "deleted", False
            else:
                again.s3_error = f"delete failed: {error}"
    return (location, None) if error is None else (None, error)
