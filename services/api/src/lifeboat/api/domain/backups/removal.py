"""Removing a backup from everywhere it is stored: the one deletion path, shared by
``DELETE /api/backups/{id}`` and retention cleanup."""

from __future__ import annotations

from dataclasses import dataclass

from lifeboat.api.context import ApiContext
from lifeboat.api.domain.backups.s3copy import delete_s3_copy
from lifeboat.api.domain.backups.service import delete_backup


@dataclass(frozen=True, kw_only=True)
class Removal:
    """What removing one backup took away, and what it could not."""

    local_path: str | None
    """The local artifact removed with its manifest (relative to the storage root)."""
    s3_object: str | None
    """``s3://bucket/key`` of the S3 copy removed with its manifest."""
    s3_error: str | None
    """Why the S3 copy could not be removed (it stays, recorded in ``s3Error``)."""

    def described(self) -> dict[str, str]:
        """The non-empty fields, for logs and the audit trail."""
        fields = {
            "localPath": self.local_path,
            "s3Object": self.s3_object,
            "s3Error": self.s3_error,
        }
        return {k: v for k, v in fields.items() if v}


async def remove_backup(ctx: ApiContext, backup_id: str) -> Removal:
    """Soft-delete backup `backup_id`: its local file and manifest, then its S3 object and
    manifest (best effort, see :func:`delete_s3_copy`).

    Raises:
        NotFoundError: no such backup. ConflictError: it is still running.
    """
    local_path, has_s3 = await delete_backup(ctx, backup_id)
    s3_object = s3_error = None
    if has_s3:
        s3_object, s3_error = await delete_s3_copy(ctx, backup_id)
    return Removal(local_path=local_path, s3_object=s3_object, s3_error=s3_error)
