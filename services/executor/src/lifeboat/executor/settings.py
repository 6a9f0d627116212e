"""Executor settings, parsed from an environment-style mapping (passed in by ``__main__``)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lifeboat.core.config import env_int, key_from_env_or_file
from lifeboat.core.crypto import check_key_material
from lifeboat.core.errors import ConfigurationError
from lifeboat.wire.connection import NatsOptions, options_from_env
from lifeboat.wire.subjects import DEFAULT_QUEUE, check_queue, inbox_prefix


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the executor needs to start.

    Attributes:
        nats_url: ``NATS_URL`` (default ``nats://127.0.0.1:4222``; comma-separated servers).
        nats: How to connect: ``NATS_URL`` and the ``NATS_*`` credentials and TLS files.
        queue: ``EXECUTOR_QUEUE``: the job queue this executor serves (default ``default``).
        concurrency: ``EXECUTOR_CONCURRENCY``: jobs run at once (default 2).
        data_dir: ``DATA_DIR`` (default ``./data``).
        storage_path: ``BACKUP_STORAGE_PATH`` (default ``$DATA_DIR/backups``).
        seal_key: ``EXECUTOR_SEAL_KEY``, or the key kept in ``$DATA_DIR/.executor_seal_key``.
        seal_key_from_file: Whether the seal key came from (or was generated into) that file.
        executor_id: ``EXECUTOR_ID`` (default ``<hostname>-<pid>``).
        log_level: ``LOG_LEVEL`` (default ``INFO``).
        tool_path: ``EXECUTOR_TOOL_PATH``: a PATH-style list of directories where the client
            tools are looked up (default: the process ``PATH``).
        tmp_dir: ``EXECUTOR_TMP_DIR``: where private credential directories are created
            (default: the system temporary directory).
        shutdown_grace_s: ``EXECUTOR_SHUTDOWN_GRACE``: seconds running jobs get to finish
            after SIGTERM before they are failed (default 25).
        lease_s: ``JOB_LEASE_SECONDS``: how long a job stays with an executor that stopped
            responding before another executor takes it over (the JetStream AckWait, default
            30). Recovery after an executor dies takes at most this plus one heartbeat.
        heartbeat_s: ``JOB_HEARTBEAT_SECONDS``: seconds between ``in_progress`` heartbeats of a
            running job, which also check for cancellation and a lost lease (default 5, at
            most a third of the lease).
        beat_interval_s: ``EXECUTOR_HEARTBEAT_SECONDS``: seconds between the executor's own
            heartbeats to the API (registry, readiness warnings; default 5).
        partial_file_max_age_s: ``PARTIAL_FILE_MAX_AGE_SECONDS``: a temporary ``.*.part`` file
            in storage untouched for this long belongs to a dead attempt and is swept
            (default 6 hours).
        sweep_interval_s: ``SWEEP_INTERVAL_SECONDS``: how often that sweep runs (default 600).
    """

    nats_url: str
    queue: str
    concurrency: int
    data_dir: Path
    storage_path: Path
    seal_key: str = field(repr=False)
    seal_key_from_file: bool
    executor_id: str
    log_level: str = "INFO"
    tool_path: str | None = None
    tmp_dir: Path | None = None
    shutdown_grace_s: float = 25.0
    lease_s: float = 30.0
    heartbeat_s: float = 5.0
    nats: NatsOptions = field(default_factory=NatsOptions)
    partial_file_max_age_s: int = 6 * 3600
    sweep_interval_s: int = 600
    beat_interval_s: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, create_key: bool = True) -> Settings:
        """Build settings from `env`.

        Raises:
            ConfigurationError: a value is invalid.
        """
        data_dir = Path(env.get("DATA_DIR", "").strip() or "./data")
        storage = env.get("BACKUP_STORAGE_PATH", "").strip()
        seal_key, from_file = key_from_env_or_file(
            env, "EXECUTOR_SEAL_KEY", data_dir, create=create_key
        )
        check_key_material(seal_key, name="EXECUTOR_SEAL_KEY")
        queue = env.get("EXECUTOR_QUEUE", "").strip() or DEFAULT_QUEUE
        try:
            check_queue(queue)
        except Exception as exc:
            raise ConfigurationError(f"EXECUTOR_QUEUE: {exc}") from None
        tmp = env.get("EXECUTOR_TMP_DIR", "").strip()
        return cls(
            nats_url=env.get("NATS_URL", "").strip() or "nats://127.0.0.1:4222",
            queue=queue,
            concurrency=env_int(env, "EXECUTOR_CONCURRENCY", 2, minimum=1),
            data_dir=data_dir,
            storage_path=Path(storage) if storage else data_dir / "backups",
            seal_key=seal_key,
            seal_key_from_file=from_file,
            executor_id=env.get("EXECUTOR_ID", "").strip()
            or f"{socket.gethostname()}-{os.getpid()}",
            log_level=env.get("LOG_LEVEL", "").strip() or "INFO",
            tool_path=env.get("EXECUTOR_TOOL_PATH", "").strip() or None,
            tmp_dir=Path(tmp) if tmp else None,
            shutdown_grace_s=float(env_int(env, "EXECUTOR_SHUTDOWN_GRACE", 25, minimum=0)),
            **_lease_timings(env),
            nats=options_from_env(env, inbox_prefix=inbox_prefix("executor", queue)),
            partial_file_max_age_s=env_int(env, "PARTIAL_FILE_MAX_AGE_SECONDS", 6 * 3600),
            sweep_interval_s=env_int(env, "SWEEP_INTERVAL_SECONDS", 600, minimum=1),
            beat_interval_s=float(env_int(env, "EXECUTOR_HEARTBEAT_SECONDS", 5, minimum=1)),
        )


def _lease_timings(env: Mapping[str, str]) -> dict[str, float]:
    lease = float(env_int(env, "JOB_LEASE_SECONDS", 30, minimum=3))
    heartbeat = float(env_int(env, "JOB_HEARTBEAT_SECONDS", 5, minimum=1))
    if heartbeat * 3 > lease:
        raise ConfigurationError(
            f"JOB_HEARTBEAT_SECONDS ({heartbeat:g}) must be at most a third of"
            f" JOB_LEASE_SECONDS ({lease:g}), or a busy executor loses its jobs"
        )
    return {"lease_s": lease, "heartbeat_s": heartbeat}
