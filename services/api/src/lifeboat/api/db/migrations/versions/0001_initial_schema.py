"""Initial schema: every table of SPEC §4.1 (snake_case plural names) with its indexes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table, parents before the tables that refer to them."""
    _create_database_configs()
    _create_execution_logs()
    _create_retention_policies()
    _create_s3_configs()
    _create_system_settings()
    _create_backup_schedules()
    _create_backup_executions()
    _create_restore_executions()


def _create_database_configs() -> None:
    """The database_configs table and its indexes."""
    op.create_table(
        "database_configs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("database_name", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("docker_container_name", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("queue", sa.String(length=32), server_default="default", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "type IN ('postgresql', 'mysql')", name=op.f("ck_database_configs_type")
        ),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_database_configs_port")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_configs")),
        sa.UniqueConstraint("name", name=op.f("uq_database_configs_name")),
    )
    with op.batch_alter_table("database_configs", schema=None) as batch_op:
        batch_op.create_index("idx_database_configs_enabled", ["enabled"], unique=False)


def _create_execution_logs() -> None:
    """The execution_logs table and its indexes."""
    op.create_table(
        "execution_logs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("execution_type", sa.String(length=16), nullable=False),
        sa.Column("log_level", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "timestamp",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "execution_type IN ('backup', 'restore')", name=op.f("ck_execution_logs_execution_type")
        ),
        sa.CheckConstraint(
            "log_level IN ('debug', 'info', 'warn', 'error')",
            name=op.f("ck_execution_logs_log_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_logs")),
    )
    with op.batch_alter_table("execution_logs", schema=None) as batch_op:
        batch_op.create_index(
            "idx_execution_logs_execution", ["execution_id", "timestamp"], unique=False
        )
        batch_op.create_index("idx_execution_logs_level", ["log_level"], unique=False)


def _create_retention_policies() -> None:
    """The retention_policies table and its indexes."""
    op.create_table(
        "retention_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("keep_hourly", sa.Integer(), server_default="24", nullable=False),
        sa.Column("keep_daily", sa.Integer(), server_default="7", nullable=False),
        sa.Column("keep_weekly", sa.Integer(), server_default="4", nullable=False),
        sa.Column("keep_monthly", sa.Integer(), server_default="12", nullable=False),
        sa.Column("keep_yearly", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_policies")),
    )


def _create_s3_configs() -> None:
    """The s3_configs table and its indexes."""
    op.create_table(
        "s3_configs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=255), nullable=False),
        sa.Column("access_key_id_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_access_key_encrypted", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("path_prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_s3_configs")),
    )
    with op.batch_alter_table("s3_configs", schema=None) as batch_op:
        batch_op.create_index(
            "idx_s3_configs_default",
            ["is_default"],
            unique=False,
            sqlite_where=sa.text("is_default = 1"),
        )
        batch_op.create_index("idx_s3_configs_enabled", ["enabled"], unique=False)


def _create_system_settings() -> None:
    """The system_settings table and its indexes."""
    op.create_table(
        "system_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "value_type IN ('string', 'number', 'boolean', 'json')",
            name=op.f("ck_system_settings_value_type"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_system_settings")),
    )


def _create_backup_schedules() -> None:
    """The backup_schedules table and its indexes."""
    op.create_table(
        "backup_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("database_config_id", sa.String(length=36), nullable=False),
        sa.Column("schedule_type", sa.String(length=16), nullable=False),
        sa.Column("cron_expression", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("s3_upload_enabled", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("retention_policy_id", sa.String(length=36), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "schedule_type IN ('hourly', 'daily', 'weekly', 'monthly', 'custom')",
            name=op.f("ck_backup_schedules_schedule_type"),
        ),
        sa.ForeignKeyConstraint(
            ["database_config_id"],
            ["database_configs.id"],
            name=op.f("fk_backup_schedules_database_config_id_database_configs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["retention_policy_id"],
            ["retention_policies.id"],
            name=op.f("fk_backup_schedules_retention_policy_id_retention_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_schedules")),
    )
    with op.batch_alter_table("backup_schedules", schema=None) as batch_op:
        batch_op.create_index("idx_backup_schedules_database", ["database_config_id"], unique=False)
        batch_op.create_index("idx_backup_schedules_enabled", ["enabled"], unique=False)


def _create_backup_executions() -> None:
    """The backup_executions table and its indexes."""
    op.create_table(
        "backup_executions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("database_config_id", sa.String(length=36), nullable=False),
        sa.Column("backup_schedule_id", sa.String(length=36), nullable=True),
        sa.Column("backup_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=32), server_default="default", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("executor_id", sa.String(length=255), nullable=True),
        sa.Column("progress_bytes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_size_bytes", sa.Integer(), nullable=True),
        sa.Column("local_path", sa.Text(), nullable=True),
        sa.Column("s3_uploaded", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("s3_bucket", sa.String(length=255), nullable=True),
        sa.Column("s3_key", sa.Text(), nullable=True),
        sa.Column("s3_upload_at", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_stack", sa.Text(), nullable=True),
        sa.Column("database_size_bytes", sa.Integer(), nullable=True),
        sa.Column("compression_used", sa.String(length=16), nullable=True),
        sa.Column("checksum", sa.String(length=128), nullable=True),
        sa.Column("server_version", sa.String(length=255), nullable=True),
        sa.Column("tool_version", sa.String(length=255), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "backup_type IN ('hourly', 'daily', 'weekly', 'monthly', 'manual')",
            name=op.f("ck_backup_executions_backup_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_backup_executions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["backup_schedule_id"],
            ["backup_schedules.id"],
            name=op.f("fk_backup_executions_backup_schedule_id_backup_schedules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["database_config_id"],
            ["database_configs.id"],
            name=op.f("fk_backup_executions_database_config_id_database_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_executions")),
    )
    _index_backup_executions()


def _index_backup_executions() -> None:
    with op.batch_alter_table("backup_executions", schema=None) as batch_op:
        batch_op.create_index(
            "idx_backup_executions_database", ["database_config_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "idx_backup_executions_s3",
            ["s3_bucket", "s3_key"],
            unique=False,
            sqlite_where=sa.text("s3_uploaded = 1"),
        )
        batch_op.create_index("idx_backup_executions_started", ["started_at"], unique=False)
        batch_op.create_index("idx_backup_executions_status", ["status"], unique=False)
        batch_op.create_index("idx_backup_executions_type", ["backup_type"], unique=False)


def _create_restore_executions() -> None:
    """The restore_executions table and its indexes."""
    op.create_table(
        "restore_executions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("database_config_id", sa.String(length=36), nullable=False),
        sa.Column("backup_execution_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=32), server_default="default", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("executor_id", sa.String(length=255), nullable=True),
        sa.Column("progress_bytes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("s3_bucket", sa.String(length=255), nullable=True),
        sa.Column("s3_key", sa.Text(), nullable=True),
        sa.Column("restore_options", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_stack", sa.Text(), nullable=True),
        sa.Column("initiated_by", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_type IN ('local', 's3', 'upload')",
            name=op.f("ck_restore_executions_source_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_restore_executions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["backup_execution_id"],
            ["backup_executions.id"],
            name=op.f("fk_restore_executions_backup_execution_id_backup_executions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["database_config_id"],
            ["database_configs.id"],
            name=op.f("fk_restore_executions_database_config_id_database_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restore_executions")),
    )
    with op.batch_alter_table("restore_executions", schema=None) as batch_op:
        batch_op.create_index(
            "idx_restore_executions_database", ["database_config_id", "started_at"], unique=False
        )
        batch_op.create_index("idx_restore_executions_started", ["started_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("restore_executions", schema=None) as batch_op:
        batch_op.drop_index("idx_restore_executions_started")
        batch_op.drop_index("idx_restore_executions_database")

    op.drop_table("restore_executions")
    with op.batch_alter_table("backup_executions", schema=None) as batch_op:
        batch_op.drop_index("idx_backup_executions_type")
        batch_op.drop_index("idx_backup_executions_status")
        batch_op.drop_index("idx_backup_executions_started")
        batch_op.drop_index("idx_backup_executions_s3", sqlite_where=sa.text("s3_uploaded = 1"))
        batch_op.drop_index("idx_backup_executions_database")

    op.drop_table("backup_executions")
    with op.batch_alter_table("backup_schedules", schema=None) as batch_op:
        batch_op.drop_index("idx_backup_schedules_enabled")
        batch_op.drop_index("idx_backup_schedules_database")

    op.drop_table("backup_schedules")
    op.drop_table("system_settings")
    with op.batch_alter_table("s3_configs", schema=None) as batch_op:
        batch_op.drop_index("idx_s3_configs_enabled")
        batch_op.drop_index("idx_s3_configs_default", sqlite_where=sa.text("is_default = 1"))

    op.drop_table("s3_configs")
    op.drop_table("retention_policies")
    with op.batch_alter_table("execution_logs", schema=None) as batch_op:
        batch_op.drop_index("idx_execution_logs_level")
        batch_op.drop_index("idx_execution_logs_execution")

    op.drop_table("execution_logs")
    with op.batch_alter_table("database_configs", schema=None) as batch_op:
        batch_op.drop_index("idx_database_configs_enabled")

    op.drop_table("database_configs")
