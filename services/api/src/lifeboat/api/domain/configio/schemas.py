"""The configuration document (``lifeboat.config`` version 1) and the DTOs of
/api/system/config/{export,import}.

Entities refer to each other by ``ref``: the id they had in the exporting install. An import
gives every entity a new id and rewrites the references; a dangling reference is refused.
Secrets are either sealed under the export passphrase (``secrets: "included"``, see
:class:`lifeboat.core.crypto.PassphraseBox`) or absent (``secrets: "omitted"``); the file never
holds a plaintext secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from lifeboat.api.domain.common import CompressionName, EngineName, Input, Output
from lifeboat.api.domain.databases.schemas import Container, Host, Ident, Port, Queue
from lifeboat.api.domain.databases.schemas import Name as DbName
from lifeboat.api.domain.retention.schemas import Description, Keep, MaxAgeDays, MaxBytes
from lifeboat.api.domain.s3configs.schemas import (
    Addressing,
    Bucket,
    ChecksumMode,
    Concurrency,
    Endpoint,
    PartSize,
    Prefix,
    Region,
    Sse,
    StorageClass,
)
from lifeboat.api.domain.schedules.schemas import CronText, RetryCount, RetryDelay, ScheduleType
from lifeboat.policy.retention import RetentionMode

FORMAT = "lifeboat.config"
VERSION = 1

Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Sealed = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
ZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Passphrase = Annotated[str, msgspec.Meta(min_length=12, max_length=1024)]
SecretsMode = Literal["include", "omit"]
ConflictMode = Literal["fail", "skip"]


class Doc(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """Base of the document's parts: camelCase, unknown fields refused on import."""


class EncryptionDoc(Doc):
    """How the secrets are sealed: scrypt(passphrase, salt) → AES-256-GCM."""

    salt: Annotated[str, msgspec.Meta(min_length=16, max_length=128)]
    n: int
    r: int
    p: int
    check: Sealed
    """A known text sealed with the key: tells a wrong passphrase apart."""
    kdf: Literal["scrypt"] = "scrypt"
    cipher: Literal["AES-256-GCM"] = "AES-256-GCM"


class DatabaseDoc(Doc):
    """A database configuration; ``password`` sealed, or null when omitted or not set."""

    ref: Ref
    name: DbName
    type: EngineName
    host: Host
    port: Port
    database_name: Ident
    username: Ident
    has_password: bool
    password: Sealed | None = None
    docker_container_name: Container | None = None
    enabled: bool = True
    queue: Queue = "default"


class S3ConfigDoc(Doc):
    """An S3 configuration; the keys sealed, or null when omitted."""

    ref: Ref
    name: DbName
    bucket: Bucket
    region: Region
    endpoint: Endpoint | None = None
    path_prefix: Prefix = ""
    enabled: bool = True
    is_default: bool = False
    addressing_style: Addressing = "auto"
    part_size_bytes: PartSize = 16 * 1024 * 1024
    concurrency: Concurrency = 4
    storage_class: StorageClass | None = None
    sse: Sse | None = None
    sse_kms_key_id: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    checksum_mode: ChecksumMode = "when_required"
    access_key_id: Sealed | None = None
    secret_access_key: Sealed | None = None


class RetentionPolicyDoc(Doc):
    """A retention policy."""

    ref: Ref
    name: DbName
    description: Description | None = None
    mode: RetentionMode = "count"
    keep_hourly: Keep = 24
    keep_daily: Keep = 7
    keep_weekly: Keep = 4
    keep_monthly: Keep = 12
    keep_yearly: Keep = 0
    max_age_days: MaxAgeDays | None = None
    max_total_bytes: MaxBytes | None = None
    timezone: ZoneName = "UTC"


class ScheduleDoc(Doc):
    """A schedule; ``database``, ``retentionPolicy`` and ``s3Config`` are refs."""

    ref: Ref
    database: Ref
    schedule_type: ScheduleType
    cron_expression: CronText
    timezone: ZoneName
    enabled: bool = True
    s3_upload_enabled: bool = False
    s3_config: Ref | None = None
    store_locally: bool = True
    retention_policy: Ref | None = None
    compression: CompressionName = "zstd"
    retry_count: RetryCount | None = None
    retry_delay_seconds: RetryDelay | None = None


class ConfigDocument(Doc):
    """A Lifeboat configuration export (format ``lifeboat.config``, version 1).

    Holds database, S3, retention and schedule configurations and the system settings; never
    users, tokens or backup history.
    """

    exported_at: datetime
    lifeboat_version: str
    secrets: Literal["included", "omitted"]
    format: Literal["lifeboat.config"] = FORMAT
    version: int = VERSION
    encryption: EncryptionDoc | None = None
    databases: list[DatabaseDoc] = msgspec.field(default_factory=list[DatabaseDoc])
    s3_configs: list[S3ConfigDoc] = msgspec.field(
        name="s3Configs", default_factory=list[S3ConfigDoc]
    )
    retention_policies: list[RetentionPolicyDoc] = msgspec.field(
        default_factory=list[RetentionPolicyDoc]
    )
    schedules: list[ScheduleDoc] = msgspec.field(default_factory=list[ScheduleDoc])
    settings: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])


class ConfigExportIn(Input):
    """Body of POST /api/system/config/export.

    ``secrets: "include"`` needs a ``passphrase`` (12+ characters): the secrets are sealed
    under it. ``"omit"`` leaves them out (the import then disables what needs one).
    """

    secrets: SecretsMode = "omit"
    passphrase: Passphrase | None = None


class ConfigImportIn(Input):
    """Body of POST /api/system/config/import.

    ``document``: an export. ``passphrase``: the export's, when it holds secrets.
    ``onConflict``: ``fail`` (default: a name already in use refuses the whole import) or
    ``skip`` (keep what exists, import the rest; schedules of a skipped database are skipped).
    ``dryRun``: validate and report what would be created, change nothing.
    """

    document: dict[str, Any]
    passphrase: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    on_conflict: ConflictMode = "fail"
    dry_run: bool = False


ImportKind = Literal["database", "s3Config", "retentionPolicy", "schedule", "setting"]


class ConfigImportItem(Output):
    """One entity of the document and what the import did with it."""

    kind: ImportKind
    name: str
    action: Literal["create", "skip", "set"]
    id: str | None
    """The new id (null when skipped; in a dry run, the id it would have had)."""
    needs_secret: bool = False
    """Created without its password or keys (omitted from the export): disabled until given."""
    reason: str | None = None


class ConfigImportOut(Output):
    """Outcome of POST /api/system/config/import."""

    dry_run: bool
    created: int
    skipped: int
    items: list[ConfigImportItem]
