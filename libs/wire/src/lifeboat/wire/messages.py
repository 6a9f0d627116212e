"""Messages on the bus: frozen, tagged msgspec Structs.

Schema evolution: new fields always get defaults; decoders never forbid unknown fields, so an
older executor can read a newer job and vice versa. No field ever holds a plaintext secret:
passwords travel sealed (see ``lifeboat.core.crypto.Sealer``), bound to the execution id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from lifeboat.core.naming import Compression, Engine

ExecutionKind = Literal["backup", "restore", "verify"]
LogLevel = Literal["debug", "info", "warn", "error"]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Where a database lives; the password is not here but sealed beside it."""

    engine: Engine
    host: str
    port: int
    database: str
    username: str
    sealed_password: str


class S3Target(msgspec.Struct, frozen=True, kw_only=True):
    """One S3 object and the bucket settings to reach it; the keys are sealed, never plain.

    ``sealed_access_key_id`` and ``sealed_secret_access_key`` are sealed with the executors'
    key and bound to the execution id of the job that carries them (like a database password).
    Field meanings follow ``lifeboat.storage.s3.settings.S3Settings``.
    """

    bucket: str
    key: str
    sealed_access_key_id: str
    sealed_secret_access_key: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    path_prefix: str = ""
    addressing_style: Literal["path", "virtual", "auto"] = "auto"
    part_size_bytes: int = 16 * 1024 * 1024
    concurrency: int = 4
    storage_class: str | None = None
    sse: Literal["AES256", "aws:kms"] | None = None
    sse_kms_key_id: str | None = None
    checksum_mode: Literal["when_required", "when_supported"] = "when_required"
    config_id: str | None = None


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
    s3: S3Target | None = None
    """Also (or only) upload the same compressed stream to this object."""
    store_locally: bool = True
    """Write the local copy; false with `s3` set means an S3-only backup."""


class RestoreJob(msgspec.Struct, frozen=True, kw_only=True, tag="restore"):
    """Load the artifact at `source_path` (relative to the storage root) into `target`."""

    execution_id: str
    target: Target
    source_path: str
    source_engine: Engine
    compression: Compression
    expected_sha256: str
    """The sha256 a trusted manifest gives; "" when `unverified`."""
    expected_size: int
    options: RestoreOptions = RestoreOptions()
    requested_at: datetime
    s3: S3Target | None = None
    """Read the artifact from this object instead of `source_path` (which is then "")."""
    unverified: bool = False
    """No manifest vouches for the `s3` object and an admin confirmed restoring it anyway: only
    its size is checked, the log says no checksum was verified, and its decompressed size is
    capped. An executor that predates this field checks the empty `expected_sha256`, so it
    fails such a job instead of restoring unverified bytes. Also set for an upload without a
    manifest (then `source_path` is local)."""
    uploaded: bool = False
    """`source_path` is a file uploaded for this restore alone, under :data:`UPLOADS_DIR`: the
    executor removes it once the job ended, whatever the outcome (the API sweeps any left)."""
    safety_backup: BackupJob | None = None
    """Before anything touches the target, run this backup of it (its own execution, reported
    under its own id as a backup); if it fails the restore fails and the target is untouched.
    A redelivered job reuses the artifact an earlier delivery completed (its manifest is there)
    instead of backing up a target the interrupted restore may have changed."""


UPLOADS_DIR = ".uploads"
"""Directory under the storage root where the API keeps uploaded files until their restore
ended (a dot directory: never scanned as backups)."""


class UploadJob(msgspec.Struct, frozen=True, kw_only=True, tag="upload"):
    """Copy the completed local artifact of backup `execution_id` to S3 (and its manifest).

    Runs on the queue of the backup's database; events are reported as the backup's (kind
    ``backup``) and end with :class:`S3UploadFinished`.
    """

    execution_id: str
    source_path: str
    expected_sha256: str
    expected_size: int
    s3: S3Target
    database_label: str
    backup_type: str
    started_at: datetime
    requested_at: datetime


class VerifyJob(msgspec.Struct, frozen=True, kw_only=True, tag="verify"):
    """Restore backup `backup_id` into a new scratch database `scratch_database` on the server of
    `target` (whose `database` is only used to connect), compare its census with the recorded
    one, and drop the scratch database whatever happens.

    `scratch_database` is generated by the API (``lifeboat_verify_<UTC minute>_<short id>``);
    the executor also drops leftovers of that prefix older than a day on the same server.
    """

    execution_id: str
    backup_id: str
    target: Target
    scratch_database: str
    source_path: str
    source_engine: Engine
    compression: Compression
    expected_sha256: str
    expected_size: int
    expected_tables: dict[str, int]
    """Rows per table recorded at backup time."""
    expected_objects: dict[str, int]
    """Schema objects per kind recorded at backup time."""
    requested_at: datetime
    s3: S3Target | None = None
    """Read the artifact from this object (downloaded and checked first) instead of
    `source_path` (then "")."""


Job = BackupJob | RestoreJob | UploadJob | VerifyJob


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


# --- executor events (executor → API, events stream) ------------------------------------------


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
    local_ok: bool | None = None
    """Whether the local copy was stored (None: not asked for, or an older executor)."""
    s3_ok: bool | None = None
    """Whether the S3 copy was stored (None: not asked for)."""
    s3_bucket: str | None = None
    s3_key: str | None = None
    s3_error: str | None = None
    cancelled: bool = False
    """A user cancelled it: stopped, every copy removed (``ok`` is false)."""
    row_counts: dict[str, int] | None = None
    """Rows per table, counted consistently with the dump (None: not counted; older executor)."""
    object_counts: dict[str, int] | None = None
    """Schema objects per kind (tables, views, sequences, functions...) at backup time."""
    census_error: str | None = None
    """Why the counts could not be taken (the backup itself is fine)."""


class S3UploadFinished(msgspec.Struct, frozen=True, kw_only=True, tag="s3-upload-finished"):
    """Result of an :class:`UploadJob` (the backup itself stays completed either way)."""

    execution_id: str
    attempt: int
    ok: bool
    finished_at: datetime
    s3_bucket: str
    s3_key: str
    error_message: str | None = None


class RestoreFinished(msgspec.Struct, frozen=True, kw_only=True, tag="restore-finished"):
    """Result of a restore."""

    execution_id: str
    attempt: int
    ok: bool
    started_at: datetime
    finished_at: datetime
    error_message: str | None = None
    cancelled: bool = False
    """A user cancelled it (``ok`` is false; the target may be partly restored if
    ``touched``)."""
    touched: bool = False
    """Whether this attempt started changing the target."""
    interrupted_attempt: int | None = None
    """Set by an attempt that found an older attempt (this number) had started changing the
    target and stopped responding: it did not run, and that older attempt may still report
    its real outcome, which then replaces this one."""


class VerifyFinished(msgspec.Struct, frozen=True, kw_only=True, tag="verify-finished"):
    """Result of a :class:`VerifyJob`: ``ok`` when the restore succeeded and its census matched.

    ``mismatches`` lists every difference in words; ``error_message`` says why it failed (a
    failed restore, or the first mismatches). ``scratch_dropped`` is false only if the scratch
    database could not be dropped (the next verification's sweep retries).
    """

    execution_id: str
    backup_id: str
    attempt: int
    ok: bool
    started_at: datetime
    finished_at: datetime
    tables: int = 0
    rows: int = 0
    objects: dict[str, int] | None = None
    mismatches: list[str] = []
    error_message: str | None = None
    scratch_dropped: bool = True
    cancelled: bool = False


ExecutorEvent = (
    ExecutionStarted
    | ExecutionProgress
    | ExecutionLogLine
    | BackupFinished
    | RestoreFinished
    | S3UploadFinished
    | VerifyFinished
)


# --- schedules (API → scheduler via the SCHEDULES_KV bucket; scheduler → API via FIRED) -------


class ScheduleEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An enabled schedule as the API publishes it in the schedules KV bucket (key: its id).

    The scheduler fires the latest slot after ``max(active_since, last_fired_at)``:
    ``active_since`` (when it was created, enabled or its timing last changed) keeps a slot from
    before that moment from firing; ``last_fired_at`` (the latest slot the API handled) keeps a
    restarted scheduler from firing a handled slot again.
    """

    schedule_id: str
    cron_expression: str
    timezone: str
    active_since: datetime
    last_fired_at: datetime | None = None


class ScheduleFired(msgspec.Struct, frozen=True, kw_only=True):
    """A schedule's fire time came (``retry`` 0), or a failed scheduled backup is retried.

    ``slot`` is the fire time in the schedule's zone. Retries are published by the API with
    ``not_before`` (the API leaves the message in the stream until then) and ``retry_of`` (the
    failed execution). :attr:`dedup_id` is the JetStream message id, so replicas of the
    scheduler publishing the same slot store one message.
    """

    schedule_id: str
    slot: datetime
    retry: int = 0
    not_before: datetime | None = None
    retry_of: str | None = None
    fired_at: datetime | None = None
    scheduler_id: str = ""

    @property
    def dedup_id(self) -> str:
        """``<schedule id>:<slot in UTC, ISO 8601>`` (``:retry<n>`` appended for retries)."""
        slot = self.slot.astimezone(UTC).isoformat()
        base = f"{self.schedule_id}:{slot}"
        return base if self.retry == 0 else f"{base}:retry{self.retry}"


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


# --- executor heartbeat (executor → API, core NATS publish) ------------------------------------


class ExecutorHeartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """Published by every executor on ``subjects.EXECUTOR_HEARTBEAT`` every ``interval_s``.

    ``tools`` maps each client tool to the first line of its ``--version`` (None: not found),
    detected once at start. ``running`` holds the execution ids being run. The last beat of an
    executor shutting down has ``stopping`` set, so the API need not wait for it to go stale.
    """

    executor_id: str
    queue: str
    version: str
    tools: dict[str, str | None]
    running: list[str]
    concurrency: int
    started_at: datetime
    at: datetime
    interval_s: float
    stopping: bool = False


# --- scheduler heartbeat and shipped log lines (core NATS publish, to the API) ----------------


class SchedulerHeartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """Published by every scheduler on ``subjects.SCHEDULER_HEARTBEAT`` every ``interval_s``."""

    scheduler_id: str
    at: datetime
    interval_s: float = 10.0


class ShippedLogLine(msgspec.Struct, frozen=True, kw_only=True):
    """One WARNING-or-worse log line of a scheduler or executor (``subjects.log_subject``).

    Scrubbed of registered secrets by the sender before it leaves the process; ``instance`` is
    the scheduler or executor id.
    """

    time: datetime
    level: str
    service: str
    instance: str
    logger: str
    message: str
    execution_id: str | None = None
    request_id: str | None = None
    traceback: str | None = None
