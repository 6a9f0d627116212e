"""Alembic migrations of the API database: fresh install, restart, upgrade with a safety copy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lifeboat.api.db.migrate import current_revision, downgrade_database, upgrade_database
from tests.support.api import api_settings, data_of, serve_api

TABLES = {
    "database_configs",
    "backup_schedules",
    "retention_policies",
    "backup_executions",
    "restore_executions",
    "execution_logs",
    "s3_configs",
    "system_settings",
    # 0002: auth
    "users",
    "user_sessions",
    "api_tokens",
    "audit_events",
    # 0008: notifications
    "notification_channels",
    "notification_deliveries",
    "notification_attempts",
    "backup_watch",
    # 0009: verification restores
    "verification_executions",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("select name from sqlite_master where type = 'table'").fetchall()
    return {name for (name,) in rows}


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("select name from sqlite_master where type = 'index'").fetchall()
    return {name for (name,) in rows}


def test_fresh_database(tmp_path: Path) -> None:
    path = tmp_path / "db" / "app.db"
    result = upgrade_database(path)
    assert result.previous is None and result.upgraded
    assert result.backup_path is None  # nothing to copy on a fresh install
    assert _tables(path) == TABLES | {"alembic_version"}
    assert {
        "idx_database_configs_enabled",
        "idx_backup_schedules_database",
        "idx_backup_schedules_enabled",
        "idx_backup_executions_database",
        "idx_backup_executions_status",
        "idx_backup_executions_type",
        "idx_backup_executions_started",
        "idx_backup_executions_s3",
        "idx_restore_executions_database",
        "idx_restore_executions_started",
        "idx_execution_logs_execution",
        "idx_execution_logs_level",
        "idx_verification_executions_backup",
        "idx_s3_configs_enabled",
        "idx_s3_configs_default",
    } <= _indexes(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
    assert path.stat().st_mode & 0o777 == 0o600


def test_restart_is_a_noop(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    upgrade_database(path)
    again = upgrade_database(path)
    assert not again.upgraded and again.backup_path is None
    assert list(tmp_path.glob("*.bak")) == []
    assert current_revision(path) == again.head


def test_upgrade_keeps_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    head = upgrade_database(path).head
    downgrade_database(path, "base")
    with sqlite3.connect(path) as conn:
        conn.execute("create table keepme (x integer)")
        conn.execute("insert into keepme values (42)")
    result = upgrade_database(path)
    assert result.previous is None and result.head == head
    assert result.backup_path == tmp_path / "app.db.pre-migration-base.bak"
    assert result.backup_path is not None
    with sqlite3.connect(result.backup_path) as conn:
        assert conn.execute("select x from keepme").fetchone() == (42,)
    assert _tables(path) >= TABLES


def test_foreign_keys_enforced(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    upgrade_database(path)
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from lifeboat.api.db.migrate import sync_engine

    engine = sync_engine(path)
    try:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "insert into backup_executions (id, database_config_id, backup_type, status,"
                    " started_at) values ('b', 'missing', 'manual', 'pending', '2024-01-01')"
                )
            )
    finally:
        engine.dispose()


async def test_app_restart_on_same_data_dir(
    tmp_path_factory: pytest.TempPathFactory, nats_url: str
) -> None:
    data_dir = tmp_path_factory.mktemp("api-restart")
    settings = api_settings(data_dir, nats_url)
    async with serve_api(settings) as api:
        data_of(await api.client.get("/api/databases"))
    async with serve_api(settings) as api:
        data_of(await api.client.get("/api/databases"))
    assert list(settings.database_path.parent.glob("*.bak")) == []


def test_generated_keys(tmp_path: Path) -> None:
    from lifeboat.api.settings import Settings

    first = Settings.from_env({"DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert first.encryption_key == second.encryption_key
    assert first.executor_seal_key == second.executor_seal_key != first.encryption_key
    assert (tmp_path / ".encryption_key").stat().st_mode & 0o777 == 0o600
    assert first.database_path == tmp_path.absolute() / "db" / "app.db"
    assert first.backup_storage_path == tmp_path.absolute() / "backups"
    assert first.nats_url == "nats://127.0.0.1:4222"
    assert first.port == 8000 and first.min_free_disk_bytes == 1024**3


def test_verification_migration_round_trip(tmp_path: Path) -> None:
    """0009 down to 0008 and up again: verify log lines are refused by the old check, kept by the new."""
    path = tmp_path / "app.db"
    upgrade_database(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "insert into execution_logs (id, execution_id, execution_type, log_level, message)"
            " values ('l1', 'v1', 'verify', 'info', 'hello')"
        )
        columns = {row[1] for row in conn.execute("pragma table_info(backup_executions)")}
    assert {"row_counts", "object_counts", "verification_status", "verified_at"} <= columns
    downgrade_database(path, "0008")
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from execution_logs").fetchone() == (0,)
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "insert into execution_logs (id, execution_id, execution_type, log_level,"
                " message) values ('l2', 'v1', 'verify', 'info', 'x')"
            )
    assert "verification_executions" not in _tables(path)
    upgrade_database(path)
    assert "verification_executions" in _tables(path)
