"""What :class:`~lifeboat.storage.s3.store.S3Store` answers: object info, listings, probes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

CheckName = Literal["head_bucket", "put_object", "delete_object"]
CheckStatus = Literal["ok", "failed", "skipped"]


class S3ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What HeadObject says about an object."""

    key: str
    size: int
    etag: str | None
    last_modified: datetime | None
    storage_class: str | None
    metadata: dict[str, str]


class S3Listed(msgspec.Struct, frozen=True, kw_only=True):
    """One object of a listing (what ListObjectsV2 says about it)."""

    key: str
    size: int
    last_modified: datetime | None
    storage_class: str | None


class S3Upload(msgspec.Struct, frozen=True, kw_only=True):
    """One unfinished multipart upload (what ListMultipartUploads says about it)."""

    key: str
    upload_id: str
    initiated: datetime | None


class AccessCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One step of :meth:`S3Store.test_access`."""

    name: CheckName
    status: CheckStatus
    error_code: str | None = None
    message: str | None = None


class AccessReport(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of :meth:`S3Store.test_access`: ``ok`` only when every check passed."""

    ok: bool
    checks: list[AccessCheck]

    def failed(self) -> list[AccessCheck]:
        """The checks that did not pass (failed or skipped)."""
        return [c for c in self.checks if c.status != "ok"]


# --------------------------------------------------------------------------- errors
