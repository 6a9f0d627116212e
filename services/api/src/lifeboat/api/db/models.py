"""SQLAlchemy models of SPEC §4.1 (snake_case plural table names, snake_case columns).

Additions to the SPEC schema: executor ``queue`` on database configs; ``attempt``,
``executor_id``, ``progress_bytes`` (and version and soft-delete columns on backups) on
executions; a ``pending`` status for executions queued but not yet taken by an executor.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RESTORE_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
# "skipped" (migration 0003): a schedule fired while a backup of the database was active.
BACKUP_STATUSES = (*RESTORE_STATUSES, "skipped")
ACTIVE_STATUSES = ("pending", "running")
TERMINAL_STATUSES = ("completed", "failed", "cancelled", "skipped")
# "pre-restore" (migration 0005): the safety backup a restore took of its target first.
BACKUP_TYPES = ("hourly", "daily", "weekly", "monthly", "custom", "manual", "pre-restore")
LOG_LEVELS = ("debug", "info", "warn", "error")


def new_id() -> str:
    """A new primary key."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC (sortable text in SQLite), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to naive UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what was stored."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


_NOW = text("CURRENT_TIMESTAMP")

naming = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=naming)


class DatabaseConfig(Base):
    """A database Lifeboat backs up (SPEC §4.1.1)."""

    __tablename__ = "database_configs"
    __table_args__ = (
        CheckConstraint("type IN ('postgresql', 'mysql')", name="type"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        Index("idx_database_configs_enabled", "enabled"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    database_name: Mapped[str] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(255))
    # AES-GCM token (lifeboat.core.crypto.SecretBox); "" when the database has no password.
    password_encrypted: Mapped[str] = mapped_column(Text)
    docker_container_name: Mapped[str | None] = mapped_column(String(255), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    queue: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    # Migration 0009: where verification restores of its backups go (None: its own server).
    verification_database_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )


class RetentionPolicy(Base):
    """Hierarchical retention rules (SPEC §4.1.3)."""

    __tablename__ = "retention_policies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    keep_hourly: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    keep_daily: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    keep_weekly: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    keep_monthly: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    keep_yearly: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Migration 0003: the mode of SPEC §5.5.3 and its limits (lifeboat.policy.retention).
    mode: Mapped[str] = mapped_column(String(16), default="count", server_default="count")
    max_age_days: Mapped[int | None] = mapped_column(Integer, default=None)
    max_total_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )


class BackupSchedule(Base):
    """When to back a database up (SPEC §4.1.2), plus the time zone its cron is read in."""

    __tablename__ = "backup_schedules"
    __table_args__ = (
        CheckConstraint(
            "schedule_type IN ('hourly', 'daily', 'weekly', 'monthly', 'custom')",
            name="schedule_type",
        ),
        Index("idx_backup_schedules_database", "database_config_id"),
        Index("idx_backup_schedules_enabled", "enabled"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    database_config_id: Mapped[str] = mapped_column(
        ForeignKey("database_configs.id", ondelete="CASCADE")
    )
    schedule_type: Mapped[str] = mapped_column(String(16))
    cron_expression: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    s3_upload_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    retention_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("retention_policies.id"), default=None
    )
    # Migration 0003. Retries of failed scheduled backups: None = the API's default.
    compression: Mapped[str] = mapped_column(String(16), default="zstd", server_default="zstd")
    retry_count: Mapped[int | None] = mapped_column(Integer, default=None)
    retry_delay_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    # Migration 0006. The S3 copy's configuration (None: the default one); false: S3 only.
    s3_config_id: Mapped[str | None] = mapped_column(
        ForeignKey("s3_configs.id", name="fk_backup_schedules_s3_config_id"), default=None
    )
    store_locally: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    # Migration 0009: queue a verification of the latest completed backup (none | each |
    # daily | weekly; see lifeboat.api.domain.verifications.schedule).
    verify_every: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    # No slot at or before this instant fires (set on create, enable and timing changes).
    active_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )


class BackupExecution(Base):
    """One backup run (SPEC §4.1.4)."""

    __tablename__ = "backup_executions"
    __table_args__ = (
        CheckConstraint(_in("backup_type", BACKUP_TYPES), name="backup_type"),
        CheckConstraint(_in("status", BACKUP_STATUSES), name="status"),
        Index("idx_backup_executions_database", "database_config_id", "started_at"),
        Index("idx_backup_executions_status", "status"),
        Index("idx_backup_executions_type", "backup_type"),
        # Ascending on disk; SQLite walks it backwards for ORDER BY started_at DESC.
        Index("idx_backup_executions_started", "started_at"),
        Index(
            "idx_backup_executions_s3",
            "s3_bucket",
            "s3_key",
            sqlite_where=text("s3_uploaded = 1"),
        ),
        # One execution per schedule slot and retry (a late duplicate fire creates nothing).
        Index(
            "uq_backup_executions_schedule_slot",
            "backup_schedule_id",
            "scheduled_for",
            "retry_number",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    database_config_id: Mapped[str] = mapped_column(
        ForeignKey("database_configs.id", ondelete="CASCADE")
    )
    backup_schedule_id: Mapped[str | None] = mapped_column(
        ForeignKey("backup_schedules.id", ondelete="SET NULL"), default=None
    )
    backup_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    executor_id: Mapped[str | None] = mapped_column(String(255), default=None)
    progress_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Migration 0003: the schedule slot this run is for, which retry of it (0 = the first
    # run), the failed run it retries, and the retention policy given with a manual backup.
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    retry_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_of: Mapped[str | None] = mapped_column(String(36), default=None)
    retention_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("retention_policies.id", ondelete="SET NULL"), default=None
    )

    file_name: Mapped[str | None] = mapped_column(String(255), default=None)
    file_size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    local_path: Mapped[str | None] = mapped_column(Text, default=None)

    s3_uploaded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    s3_bucket: Mapped[str | None] = mapped_column(String(255), default=None)
    s3_key: Mapped[str | None] = mapped_column(Text, default=None)
    s3_upload_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Per-copy status (migration 0004): pending | completed | failed | deleted; NULL when that
    # copy was not asked for. s3_error says why the S3 copy failed.
    local_status: Mapped[str | None] = mapped_column(String(16), default=None)
    s3_status: Mapped[str | None] = mapped_column(String(16), default=None)
    s3_error: Mapped[str | None] = mapped_column(Text, default=None)
    s3_config_id: Mapped[str | None] = mapped_column(String(36), default=None)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)

    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    error_stack: Mapped[str | None] = mapped_column(Text, default=None)

    database_size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    compression_used: Mapped[str | None] = mapped_column(String(16), default=None)
    checksum: Mapped[str | None] = mapped_column(String(128), default=None)
    server_version: Mapped[str | None] = mapped_column(String(255), default=None)
    tool_version: Mapped[str | None] = mapped_column(String(255), default=None)

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)

    # Migration 0009: the census recorded at backup time (JSON objects) and the latest
    # verification's outcome (lifeboat.api.domain.verifications).
    row_counts: Mapped[str | None] = mapped_column(Text, default=None)
    object_counts: Mapped[str | None] = mapped_column(Text, default=None)
    census_error: Mapped[str | None] = mapped_column(Text, default=None)
    verification_status: Mapped[str] = mapped_column(
        String(16), default="unverified", server_default="unverified"
    )
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    verification_summary: Mapped[str | None] = mapped_column(Text, default=None)
    verification_error: Mapped[str | None] = mapped_column(Text, default=None)
    verification_id: Mapped[str | None] = mapped_column(String(36), default=None)


class VerificationExecution(Base):
    """One verification restore of a backup into a scratch database (migration 0009)."""

    __tablename__ = "verification_executions"
    __table_args__ = (
        CheckConstraint(_in("status", RESTORE_STATUSES), name="status"),
        Index("idx_verification_executions_backup", "backup_execution_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    backup_execution_id: Mapped[str] = mapped_column(
        ForeignKey("backup_executions.id", ondelete="CASCADE")
    )
    database_config_id: Mapped[str] = mapped_column(
        ForeignKey("database_configs.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    executor_id: Mapped[str | None] = mapped_column(String(255), default=None)
    progress_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    scratch_database: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    mismatches: Mapped[str | None] = mapped_column(Text, default=None)  # JSON list
    initiated_by: Mapped[str | None] = mapped_column(String(255), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class RestoreExecution(Base):
    """One restore run (SPEC §4.1.5)."""

    __tablename__ = "restore_executions"
    __table_args__ = (
        CheckConstraint(_in("status", RESTORE_STATUSES), name="status"),
        CheckConstraint("source_type IN ('local', 's3', 'upload')", name="source_type"),
        Index("idx_restore_executions_database", "database_config_id", "started_at"),
        Index("idx_restore_executions_started", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    database_config_id: Mapped[str] = mapped_column(
        ForeignKey("database_configs.id", ondelete="CASCADE")
    )
    backup_execution_id: Mapped[str | None] = mapped_column(
        ForeignKey("backup_executions.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    executor_id: Mapped[str | None] = mapped_column(String(255), default=None)
    progress_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    source_type: Mapped[str] = mapped_column(String(16))
    source_path: Mapped[str | None] = mapped_column(Text, default=None)
    s3_bucket: Mapped[str | None] = mapped_column(String(255), default=None)
    s3_key: Mapped[str | None] = mapped_column(Text, default=None)
    restore_options: Mapped[str | None] = mapped_column(Text, default=None)  # JSON
    safety_backup_id: Mapped[str | None] = mapped_column(String(36), default=None)
    """The ``pre-restore`` backup taken of the target before this restore (migration 0005)."""
    interrupted_attempt: Mapped[int | None] = mapped_column(Integer, default=None)
    """The attempt that was changing the target when its executor went silent (migration
    0007): the record says the target may be partly restored, unless that attempt reports."""

    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)

    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    error_stack: Mapped[str | None] = mapped_column(Text, default=None)
    initiated_by: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class ExecutionLog(Base):
    """One log line of a backup or restore (SPEC §4.1.6)."""

    __tablename__ = "execution_logs"
    __table_args__ = (
        CheckConstraint("execution_type IN ('backup', 'restore', 'verify')", name="execution_type"),
        CheckConstraint(_in("log_level", LOG_LEVELS), name="log_level"),
        Index("idx_execution_logs_execution", "execution_id", "timestamp"),
        Index("idx_execution_logs_level", "log_level"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    execution_id: Mapped[str] = mapped_column(String(36))
    execution_type: Mapped[str] = mapped_column(String(16))
    log_level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    # "metadata" is reserved on declarative classes, hence the attribute name.
    metadata_json: Mapped[str | None] = mapped_column("metadata", Text, default=None)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class S3Config(Base):
    """An S3-compatible bucket (SPEC §4.1.7); keys are SecretBox tokens."""

    __tablename__ = "s3_configs"
    __table_args__ = (
        Index("idx_s3_configs_enabled", "enabled"),
        Index("idx_s3_configs_default", "is_default", sqlite_where=text("is_default = 1")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(255))
    access_key_id_encrypted: Mapped[str] = mapped_column(Text)
    secret_access_key_encrypted: Mapped[str] = mapped_column(Text)
    endpoint: Mapped[str | None] = mapped_column(Text, default=None)
    path_prefix: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Upload tuning (migration 0004); see lifeboat.storage.s3.settings.S3Settings.
    addressing_style: Mapped[str] = mapped_column(String(16), default="auto", server_default="auto")
    part_size_bytes: Mapped[int] = mapped_column(
        Integer, default=16 * 1024 * 1024, server_default=str(16 * 1024 * 1024)
    )
    concurrency: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    storage_class: Mapped[str | None] = mapped_column(String(32), default=None)
    sse: Mapped[str | None] = mapped_column(String(16), default=None)
    sse_kms_key_id: Mapped[str | None] = mapped_column(Text, default=None)
    checksum_mode: Mapped[str] = mapped_column(
        String(16), default="when_required", server_default="when_required"
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )


class SystemSetting(Base):
    """One application-wide setting (SPEC §4.1.8), its value stored as text with its type."""

    __tablename__ = "system_settings"
    __table_args__ = (
        CheckConstraint("value_type IN ('string', 'number', 'boolean', 'json')", name="value_type"),
    )

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    value_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )
