"""Typed settings of the API service, built once from an environment-style mapping."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from lifeboat.api.domain.metrics.settings import MetricsSettings
from lifeboat.core.config import env_int, key_from_env_or_file
from lifeboat.core.crypto import check_key_material
from lifeboat.core.errors import ConfigurationError, ValidationError
from lifeboat.policy.cron import validate_cron
from lifeboat.wire.connection import NatsOptions, options_from_env
from lifeboat.wire.subjects import inbox_prefix

log = logging.getLogger(__name__)

GIB = 1024**3
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """The default S3 configuration given through the environment (SPEC §8.2.2).

    When ``S3_BUCKET`` is set, start-up creates (or updates) the S3 configuration marked
    ``isDefault`` from these values; the keys are then stored encrypted like any other.
    """

    endpoint: str | None = None
    region: str | None = None
    bucket: str | None = None
    prefix: str = ""
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        """Whether a bucket was configured through the environment."""
        return bool(self.bucket)


_COOKIE_SECURE = {"auto", "true", "false"}


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """Sign-in, sessions, CORS and the audit trail."""

    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    cookie_secure: str = "auto"  # auto: secure unless the request is plain http on localhost
    cors_origins: tuple[str, ...] = ()
    audit_retention_days: int = 365
    session_hours: int = 12

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        """Read ADMIN_EMAIL, ADMIN_PASSWORD, COOKIE_SECURE, CORS_ORIGINS, AUDIT_RETENTION_DAYS."""
        secure = env.get("COOKIE_SECURE", "auto").strip().lower() or "auto"
        if secure not in _COOKIE_SECURE:
            raise ConfigurationError(f"COOKIE_SECURE must be one of {sorted(_COOKIE_SECURE)}")
        email = env.get("ADMIN_EMAIL", "").strip() or None
        password = env.get("ADMIN_PASSWORD") or None
        if bool(email) != bool(password):
            raise ConfigurationError("ADMIN_EMAIL and ADMIN_PASSWORD must be set together")
        origins = tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
        return cls(
            admin_email=email,
            admin_password=password,
            cookie_secure=secure,
            cors_origins=origins,
            audit_retention_days=env_int(env, "AUDIT_RETENTION_DAYS", 365, minimum=1),
            session_hours=env_int(env, "SESSION_HOURS", 12, minimum=1),
        )


def _cron_setting(env: Mapping[str, str], name: str, default: str) -> str:
    """A cron expression from `env`, normalised; ConfigurationError saying what is wrong."""
    try:
        return validate_cron(env.get(name, "").strip() or default)
    except ValidationError as exc:
        raise ConfigurationError(f"{name}: {exc.message}") from exc


def _log_level(env: Mapping[str, str]) -> str:
    """LOG_LEVEL, upper case; ConfigurationError for an unknown level."""
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in _LOG_LEVELS:
        raise ConfigurationError(f"LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}")
    return level


class _NotifySettings(TypedDict):
    min_free_disk_bytes: int
    notify_poll_seconds: int
    notify_retry_seconds: int
    notify_max_attempts: int
    watch_interval_seconds: int
    overdue_reminder_hours: int


def _notify_settings(env: Mapping[str, str]) -> _NotifySettings:
    """The notification (and disk space) settings of :class:`Settings`."""
    return {
        "min_free_disk_bytes": env_int(env, "MIN_FREE_DISK_BYTES", GIB),
        "notify_poll_seconds": env_int(env, "NOTIFY_POLL_SECONDS", 5, minimum=1),
        "notify_retry_seconds": env_int(env, "NOTIFY_RETRY_SECONDS", 30, minimum=1),
        "notify_max_attempts": env_int(env, "NOTIFY_MAX_ATTEMPTS", 6, minimum=1),
        "watch_interval_seconds": env_int(env, "WATCH_INTERVAL_SECONDS", 60, minimum=1),
        "overdue_reminder_hours": env_int(env, "OVERDUE_REMINDER_HOURS", 24),
    }


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the API reads from its environment."""

    data_dir: Path
    database_path: Path
    backup_storage_path: Path
    nats_url: str
    encryption_key: str = field(repr=False)
    executor_seal_key: str = field(repr=False)
    host: str = "0.0.0.0"  # noqa: S104 - a container service listens on every interface
    port: int = 8000
    tz: str = "UTC"
    log_level: str = "INFO"
    min_free_disk_bytes: int = GIB
    s3: S3Settings = field(default_factory=S3Settings)
    static_dir: Path | None = None
    retention_cleanup_interval: str = "0 3 * * *"
    """Cron (in ``tz``) of the periodic retention cleanup (RETENTION_CLEANUP_INTERVAL)."""
    max_backup_retention_days: int = 365
    """Hard retention limit (MAX_BACKUP_RETENTION_DAYS): no policy may set ``maxAgeDays`` above
    it, and cleanup deletes older backups whatever the tiers keep (never a database's newest)."""
    schedule_retry_count: int = 2
    """Retries of a failed scheduled backup when its schedule sets none (SCHEDULE_RETRY_COUNT)."""
    schedule_retry_delay_seconds: int = 60
    """First retry delay, doubled for each further retry (SCHEDULE_RETRY_DELAY_SECONDS)."""
    max_upload_bytes: int = 50 * GIB
    """Largest file POST /api/restores/upload accepts (MAX_UPLOAD_BYTES); larger: 413."""
    partial_upload_max_age_seconds: int = 6 * 3600
    """Unfinished S3 multipart uploads older than this are aborted by the periodic sweep
    (PARTIAL_UPLOAD_MAX_AGE_SECONDS)."""
    sweep_interval_seconds: int = 600
    """How often that sweep runs (SWEEP_INTERVAL_SECONDS)."""
    notify_poll_seconds: int = 5
    """Notifications: how often the sender looks for due deliveries when not woken."""
    notify_retry_seconds: int = 30
    """Delay before the first retry of a failed notification (doubled each time, max 1 h)."""
    notify_max_attempts: int = 6
    """Tries per notification before it is marked failed."""
    watch_interval_seconds: int = 60
    """How often overdue backups, missing executors and low disk space are checked."""
    overdue_reminder_hours: int = 24
    """A database still overdue gets a reminder this often (0: no reminders)."""
    auth: AuthSettings = field(default_factory=AuthSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    """Who may scrape /metrics (METRICS_TOKEN, METRICS_ALLOW; see README "Monitoring")."""
    nats: NatsOptions | None = None
    """Credentials, TLS, replicas and the server list (NATS_URL, NATS_USER, NATS_CREDS,
    NATS_TLS_*, NATS_REPLICAS...); None: ``nats_url`` alone, without credentials."""

    @property
    def nats_options(self) -> NatsOptions:
        """How to connect to NATS (and how many replicas the streams get)."""
        return self.nats or NatsOptions.from_url(self.nats_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from `env` (``os.environ`` in production, a dict in tests).

        Missing keys are generated into ``DATA_DIR`` with a loud warning so that a first start
        needs no configuration; such keys must be backed up together with the data directory.
        """
        data_dir = Path(env.get("DATA_DIR", "./data")).expanduser().absolute()
        database_path = Path(env.get("DATABASE_PATH") or data_dir / "db" / "app.db")
        storage = Path(env.get("BACKUP_STORAGE_PATH") or data_dir / "backups")
        keys: dict[str, str] = {}
        for name in ("ENCRYPTION_KEY", "EXECUTOR_SEAL_KEY"):
            key, from_file = key_from_env_or_file(env, name, data_dir, create=True)
            check_key_material(key, name=name)
            if from_file:
                log.warning(
                    "!!! %s is not set: using the key kept in %s. Back this file up with the "
                    "data directory; without it stored secrets cannot be decrypted. !!!",
                    name,
                    data_dir / f".{name.lower()}",
                )
            keys[name] = key
        level = _log_level(env)
        static = env.get("STATIC_DIR")
        return cls(
            data_dir=data_dir,
            database_path=database_path.expanduser().absolute(),
            backup_storage_path=storage.expanduser().absolute(),
            nats_url=env.get("NATS_URL", "nats://127.0.0.1:4222"),
            encryption_key=keys["ENCRYPTION_KEY"],
            executor_seal_key=keys["EXECUTOR_SEAL_KEY"],
            host=env.get("HOST", "0.0.0.0"),  # noqa: S104
            port=env_int(env, "PORT", 8000, minimum=1),
            tz=env.get("TZ", "UTC") or "UTC",
            log_level="WARNING" if level == "WARN" else level,
            s3=S3Settings(
                endpoint=env.get("S3_ENDPOINT") or None,
                region=env.get("S3_REGION") or None,
                bucket=env.get("S3_BUCKET") or None,
                prefix=env.get("S3_PATH_PREFIX", ""),
                access_key_id=env.get("S3_ACCESS_KEY_ID") or None,
                secret_access_key=env.get("S3_SECRET_ACCESS_KEY") or None,
            ),
            static_dir=Path(static).absolute() if static else None,
            retention_cleanup_interval=_cron_setting(
                env, "RETENTION_CLEANUP_INTERVAL", "0 3 * * *"
            ),
            max_backup_retention_days=env_int(env, "MAX_BACKUP_RETENTION_DAYS", 365, minimum=1),
            schedule_retry_count=env_int(env, "SCHEDULE_RETRY_COUNT", 2),
            schedule_retry_delay_seconds=env_int(
                env, "SCHEDULE_RETRY_DELAY_SECONDS", 60, minimum=1
            ),
            max_upload_bytes=env_int(env, "MAX_UPLOAD_BYTES", 50 * GIB, minimum=1),
            partial_upload_max_age_seconds=env_int(env, "PARTIAL_UPLOAD_MAX_AGE_SECONDS", 6 * 3600),
            sweep_interval_seconds=env_int(env, "SWEEP_INTERVAL_SECONDS", 600, minimum=1),
            **_notify_settings(env),
            auth=AuthSettings.from_env(env),
            metrics=MetricsSettings.from_env(env),
            nats=options_from_env(env, inbox_prefix=inbox_prefix("api")),
        )
