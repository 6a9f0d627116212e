"""Messages on the bus: frozen, tagged msgspec Structs.

Schema evolution: new fields always get defaults; decoders never forbid unknown fields, so an
older executor can read a newer job and vice versa. No field ever holds a plaintext secret:
passwords travel sealed (see ``lifeboat.core.crypto.Sealer``), bound to the execution id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from lifeboat.core.naming import Compression, Engine

ExecutionKind = Literal["backup", "restore"]
LogLevel = Literal["debug", "info", "warn", "error"]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Where a database lives; the password is not here but sealed beside it."""

    engine: Engine
    host: str
    port: int
    database: str
    username: str
    sealed_password: str


class RestoreOptions(msgspec.Struct, frozen=True, kw_only=True):
    """SPEC §5.3.3 restore options."""

    drop_and_recreate: bool = False
    clean: bool = False
    schema_only: bool = False
    data_only: bool = False
    no_owner: bool = False
    exit_on_error: bool = True


# --- jobs (API → executor, work-queue stream) -------------------------------------------------


class BackupJob(msgspec.Struct, frozen=True, kw_only=True, tag="backup"):
    """Dump `target` into ``relative_dir/file_name`` under the executor's storage root."""

    execution_id: str
    target: Target
    database_label: str
    backup_type: str
    compression: Compression = "zstd"
    compression_level: int = 3
    relative_dir: str
    file_name: str
    schedule_id: str | None = None
    requested_at: datetime


class RestoreJob(msgspec.Struct, frozen=True, kw_only=True, tag="restore"):
    """Load the artifact at `source_path` (relative to the storage root) into `target`."""

    execution_id: str
    target: Target
    source_path: str
    source_engine: Engine
    compression: Compression
    expected_sha256: str
    expected_size: int
    options: RestoreOptions = RestoreOptions()
    requested_at: datetime


Job = BackupJob | RestoreJob


# --- probes (API → executor, core request/reply) ----------------------------------------------


class ProbeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Connect to `target` and report what is there; `probe_id` binds the sealed password."""

    probe_id: str
    target: Target


class ProbeReply(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of a probe."""

    ok: bool
    server_version: str | None = None
    database_size_bytes: int | None = None
    error: str | None = None
    executor_id: str = ""


# --- events (executor → API, events stream) ---------------------------------------------------


class ExecutionStarted(msgspec.Struct, frozen=True, kw_only=True, tag="started"):
    """An executor took the job (delivery `attempt`)."""

    execution_id: str
    kind: ExecutionKind
    attempt: int
    executor_id: str
    at: datetime


class ExecutionProgress(msgspec.Struct, frozen=True, kw_only=True, tag="progress"):
    """Bytes processed so far (compressed bytes written for backups, read for restores)."""

    execution_id: str
    kind: ExecutionKind
    attempt: int
    bytes_done: int
    bytes_total: int | None = None
    at: datetime


class ExecutionLogLine(msgspec.Struct, frozen=True, kw_only=True, tag="log"):
    """One line of an execution's log."""

    execution_id: str
    kind: ExecutionKind
    attempt: int
    level: LogLevel
    message: str
    at: datetime
    metadata: dict[str, Any] | None = None


class BackupFinished(msgspec.Struct, frozen=True, kw_only=True, tag="backup-finished"):
    """Result of a backup: `ok` only if every DESIGN.md completion condition held."""

    execution_id: str
    attempt: int
    ok: bool
    finished_at: datetime
    started_at: datetime
    file_name: str | None = None
    relative_path: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    compression: Compression | None = None
    server_version: str | None = None
    tool_version: str | None = None
    database_size_bytes: int | None = None
    error_message: str | None = None


class RestoreFinished(msgspec.Struct, frozen=True, kw_only=True, tag="restore-finished"):
    """Result of a restore."""

    execution_id: str
    attempt: int
    ok: bool
    started_at: datetime
    finished_at: datetime
    error_message: str | None = None


Event = ExecutionStarted | ExecutionProgress | ExecutionLogLine | BackupFinished | RestoreFinished


# --- external trigger (any NATS client → API, core request/reply) ------------------------------


class TriggerBackupRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """``{"database": "<name>", "token": "...", "compression": "zstd"}``."""

    database: str
    token: str | None = None
    compression: Compression | None = None


class TriggerError(msgspec.Struct, frozen=True, kw_only=True):
    """The SPEC §6.2 error object."""

    code: str
    message: str
    details: Any = None


class TriggerReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """SPEC §6.2 envelope: ``{"success": true, "data": {"executionId": ...}}`` or an error."""

    success: bool
    data: dict[str, Any] | None = None
    error: TriggerError | None = None
