"""DTOs of /api/s3-configs and of the manifest imports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from lifeboat.api.domain.common import Input, Output

MiB = 1024 * 1024

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Region = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Bucket = Annotated[
    str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Endpoint = Annotated[str, msgspec.Meta(max_length=1024, pattern=r"^https?://")]
Prefix = Annotated[str, msgspec.Meta(max_length=512, pattern=r"^[^\x00-\x1f\x7f]*$")]
PartSize = Annotated[int, msgspec.Meta(ge=5 * MiB, le=5 * 1024 * MiB)]
Concurrency = Annotated[int, msgspec.Meta(ge=1, le=64)]
StorageClass = Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[A-Z0-9_]+$")]
Addressing = Literal["path", "virtual", "auto"]
Sse = Literal["AES256", "aws:kms"]
ChecksumMode = Literal["when_required", "when_supported"]


class S3ConfigCreate(Input):
    """Body of POST /api/s3-configs. The keys are stored encrypted and never returned."""

    name: Name
    bucket: Bucket
    access_key_id: Key
    secret_access_key: Key
    region: Region = "us-east-1"
    endpoint: Endpoint | None = None
    path_prefix: Prefix = ""
    enabled: bool = True
    is_default: bool = False
    addressing_style: Addressing = "auto"
    part_size_bytes: PartSize = 16 * MiB
    concurrency: Concurrency = 4
    storage_class: StorageClass | None = None
    sse: Sse | None = None
    sse_kms_key_id: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    checksum_mode: ChecksumMode = "when_required"


class S3ConfigUpdate(Input):
    """Body of PUT /api/s3-configs/:id: every field optional; omitted keys are kept."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    bucket: Bucket | msgspec.UnsetType = msgspec.UNSET
    access_key_id: Key | msgspec.UnsetType = msgspec.UNSET
    secret_access_key: Key | msgspec.UnsetType = msgspec.UNSET
    region: Region | msgspec.UnsetType = msgspec.UNSET
    endpoint: Endpoint | msgspec.UnsetType | None = msgspec.UNSET
    path_prefix: Prefix | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    is_default: bool | msgspec.UnsetType = msgspec.UNSET
    addressing_style: Addressing | msgspec.UnsetType = msgspec.UNSET
    part_size_bytes: PartSize | msgspec.UnsetType = msgspec.UNSET
    concurrency: Concurrency | msgspec.UnsetType = msgspec.UNSET
    storage_class: StorageClass | msgspec.UnsetType | None = msgspec.UNSET
    sse: Sse | msgspec.UnsetType | None = msgspec.UNSET
    sse_kms_key_id: Annotated[str, msgspec.Meta(max_length=2048)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    checksum_mode: ChecksumMode | msgspec.UnsetType = msgspec.UNSET


class S3ConfigOut(Output):
    """An S3 configuration; the keys are never returned, only whether they are set."""

    id: str
    name: str
    region: str
    bucket: str
    endpoint: str | None
    path_prefix: str
    enabled: bool
    is_default: bool
    addressing_style: str
    part_size_bytes: int
    concurrency: int
    storage_class: str | None
    sse: str | None
    sse_kms_key_id: str | None
    checksum_mode: str
    has_access_key_id: bool
    has_secret_access_key: bool
    created_at: datetime
    updated_at: datetime


class S3CheckOut(Output):
    """One step of the access test: head_bucket, put_object or delete_object."""

    name: str
    status: Literal["ok", "failed", "skipped"]
    error_code: str | None
    message: str | None


class S3TestOut(Output):
    """Outcome of POST /api/s3-configs/:id/test: ``ok`` only if every check passed."""

    ok: bool
    checks: list[S3CheckOut]
    latency_ms: int
    error: str | None


class S3BucketsOut(Output):
    """Outcome of GET /api/s3-configs/:id/buckets."""

    buckets: list[str]


class S3ObjectOut(Output):
    """One object of a bucket, as listed for a restore.

    ``hasManifest``: a Lifeboat ``<key>.manifest.json`` sits beside it, so a restore can verify
    its sha256; an object without one can only be restored with an admin's confirmation.
    """

    key: str
    size: int
    last_modified: datetime | None
    storage_class: str | None
    has_manifest: bool


class S3ObjectsOut(Output):
    """Outcome of GET /api/s3-configs/:id/objects: one page in key order.

    When ``truncated``, pass ``nextStartAfter`` as ``startAfter`` for the next page.
    """

    bucket: str
    prefix: str
    objects: list[S3ObjectOut]
    truncated: bool
    next_start_after: str | None


class ImportProblem(Output):
    """A manifest that could not be imported, and why."""

    location: str
    error: str


class ImportOut(Output):
    """Outcome of an import: what was found, added, merged, skipped, refused."""

    source: str
    manifests_found: int
    imported: int
    merged: int
    already_known: int
    created_databases: list[str]
    problems: list[ImportProblem]
