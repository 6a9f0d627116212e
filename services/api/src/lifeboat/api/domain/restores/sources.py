"""Choosing the copy a restore reads: the local artifact, or the S3 object (sealed target)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution
from lifeboat.api.domain.s3configs.service import config_for_object, target_for
from lifeboat.core.errors import ValidationError
from lifeboat.wire.messages import S3Target


def _has_local(backup: BackupExecution) -> bool:
    return bool(backup.local_path) and backup.local_status not in ("failed", "deleted")


def _has_s3(backup: BackupExecution) -> bool:
    return backup.s3_status == "completed" and bool(backup.s3_bucket) and bool(backup.s3_key)


async def s3_source_for(
    ctx: ApiContext,
    session: AsyncSession,
    backup: BackupExecution,
    restore_id: str,
    source: Literal["auto", "local", "s3"],
) -> S3Target | None:
    """The S3 object to restore from, or None for the local artifact.

    ``auto`` prefers the local copy (no download) and falls back to S3.

    Raises:
        ValidationError: the chosen copy does not exist.
        S3Error: the backup's bucket has no configuration any more.
    """
    if source == "local" or (source == "auto" and _has_local(backup)):
        if not _has_local(backup):
            raise ValidationError(
                "the backup has no local copy", details={"backupId": backup.id, "source": source}
            )
        return None
    if not _has_s3(backup):
        raise ValidationError(
            "the backup has no local copy and no S3 copy"
            if source == "auto"
            else "the backup has no S3 copy",
            details={"backupId": backup.id, "source": source},
        )
    assert backup.s3_bucket is not None and backup.s3_key is not None
    config = await config_for_object(
        session, config_id=backup.s3_config_id, bucket=backup.s3_bucket
    )
    return target_for(ctx, config, key=backup.s3_key, bound_to=restore_id)
