"""Typed settings of the API service, built once from an environment-style mapping."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lifeboat.core.config import env_int, key_from_env_or_file
from lifeboat.core.crypto import check_key_material
from lifeboat.core.errors import ConfigurationError

log = logging.getLogger(__name__)

GIB = 1024**3
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """Placeholders for the S3 feature (read now so a typo fails early, used later)."""

    endpoint: str | None = None
    region: str | None = None
    bucket: str | None = None
    prefix: str = ""

    @property
    def configured(self) -> bool:
        """Whether a bucket was configured through the environment."""
        return bool(self.bucket)


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
        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in _LOG_LEVELS:
            raise ConfigurationError(f"LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}")
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
            min_free_disk_bytes=env_int(env, "MIN_FREE_DISK_BYTES", GIB),
            s3=S3Settings(
                endpoint=env.get("S3_ENDPOINT") or None,
                region=env.get("S3_REGION") or None,
                bucket=env.get("S3_BUCKET") or None,
                prefix=env.get("S3_PATH_PREFIX", ""),
            ),
            static_dir=Path(static).absolute() if static else None,
        )
