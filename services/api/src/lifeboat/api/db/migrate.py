"""Applying the Alembic migrations kept inside the package, programmatically (no alembic.ini).

Before an existing database is upgraded, a consistent copy of it is written beside it as
``<file>.pre-migration-<current revision>.bak`` (SQLite online backup, so WAL content is included).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from lifeboat.api.db.engine import apply_pragmas

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`upgrade_database` did."""

    previous: str | None
    head: str
    backup_path: Path | None

    @property
    def upgraded(self) -> bool:
        """Whether any migration ran."""
        return self.previous != self.head


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def sync_engine(path: Path) -> Engine:
    """A synchronous engine with real transactions around DDL (pysqlite would autocommit it)."""
    engine = create_engine(f"sqlite:///{path}")

    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        apply_pragmas(dbapi_connection, record)

    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    event.listen(engine, "connect", _connect)
    event.listen(engine, "begin", _begin)
    return engine


def current_revision(path: Path) -> str | None:
    """The revision a database file is at (None when it has none)."""
    engine = sync_engine(path)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _backup_copy(path: Path, revision: str | None) -> Path:
    target = path.with_name(f"{path.name}.pre-migration-{revision or 'base'}.bak")
    src = sqlite3.connect(path)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    target.chmod(0o600)
    return target


def upgrade_database(path: Path, revision: str = "head") -> MigrationResult:
    """Bring the database at `path` to `revision`, copying an existing file first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    target = head if revision == "head" else revision
    existed = path.exists() and path.stat().st_size > 0
    previous = current_revision(path)
    if previous == target:
        return MigrationResult(previous, target, None)
    backup = _backup_copy(path, previous) if existed else None
    if backup is not None:
        log.warning("upgrading %s from %s to %s; copy kept at %s", path, previous, target, backup)
    engine = sync_engine(path)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, target)
    finally:
        engine.dispose()
    path.chmod(0o600)
    return MigrationResult(previous, target, backup)


def downgrade_database(path: Path, revision: str) -> None:
    """Downgrade (tests and manual recovery only)."""
    config = alembic_config()
    engine = sync_engine(path)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
    finally:
        engine.dispose()
