"""Verification restores (issue 10).

* ``backup_executions``: the census recorded at backup time (``row_counts``,
  ``object_counts`` as JSON, ``census_error``) and the latest verification outcome
  (``verification_status`` unverified | running | verified | failed, ``verified_at``,
  ``verification_summary``, ``verification_error``, ``verification_id``).
* ``verification_executions``: one row per verification run (queued on the executors like a
  restore; its log lines are ``execution_logs`` rows of type ``verify``).
* ``backup_schedules.verify_every``: none | each | daily | weekly.
* ``database_configs.verification_database_id``: the configuration whose server verifications
  of this database's backups restore into (NULL: the database's own server).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_LOG_TYPES_NEW = "execution_type IN ('backup', 'restore', 'verify')"
_LOG_TYPES_OLD = "execution_type IN ('backup', 'restore')"
_STATUSES = "status IN ('pending', 'running', 'completed', 'failed', 'cancelled')"


def _backup_columns() -> None:
    with op.batch_alter_table("backup_executions") as batch:
        batch.add_column(sa.Column("row_counts", sa.Text(), nullable=True))
        batch.add_column(sa.Column("object_counts", sa.Text(), nullable=True))
        batch.add_column(sa.Column("census_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "verification_status",
                sa.String(16),
                server_default="unverified",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("verification_summary", sa.Text(), nullable=True))
        batch.add_column(sa.Column("verification_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("verification_id", sa.String(36), nullable=True))


def _verification_table() -> None:
    op.create_table(
        "verification_executions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("backup_execution_id", sa.String(36), nullable=False),
        sa.Column("database_config_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(32), server_default="default", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("executor_id", sa.String(255), nullable=True),
        sa.Column("progress_bytes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("scratch_database", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("mismatches", sa.Text(), nullable=True),
        sa.Column("initiated_by", sa.String(255), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_verification_executions_status")),
        sa.ForeignKeyConstraint(
            ["backup_execution_id"],
            ["backup_executions.id"],
            name=op.f("fk_verification_executions_backup_execution_id_backup_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["database_config_id"],
            ["database_configs.id"],
            name=op.f("fk_verification_executions_database_config_id_database_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_executions")),
    )
    op.create_index(
        "idx_verification_executions_backup",
        "verification_executions",
        ["backup_execution_id", "started_at"],
    )


def upgrade() -> None:
    """Add the columns and the table; every existing backup is ``unverified``."""
    _backup_columns()
    _verification_table()
    with op.batch_alter_table("execution_logs", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_execution_logs_execution_type"), type_="check")
        batch.create_check_constraint("execution_type", sa.text(_LOG_TYPES_NEW))
    with op.batch_alter_table("backup_schedules") as batch:
        batch.add_column(
            sa.Column("verify_every", sa.String(16), server_default="none", nullable=False)
        )
    with op.batch_alter_table("database_configs") as batch:
        batch.add_column(sa.Column("verification_database_id", sa.String(36), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added (verification log lines go too)."""
    with op.batch_alter_table("database_configs") as batch:
        batch.drop_column("verification_database_id")
    with op.batch_alter_table("backup_schedules") as batch:
        batch.drop_column("verify_every")
    op.execute("DELETE FROM execution_logs WHERE execution_type = 'verify'")
    with op.batch_alter_table("execution_logs", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_execution_logs_execution_type"), type_="check")
        batch.create_check_constraint("execution_type", sa.text(_LOG_TYPES_OLD))
    op.drop_index("idx_verification_executions_backup", table_name="verification_executions")
    op.drop_table("verification_executions")
    with op.batch_alter_table("backup_executions") as batch:
        for column in (
            "verification_id",
            "verification_error",
            "verification_summary",
            "verified_at",
            "verification_status",
            "census_error",
            "object_counts",
            "row_counts",
        ):
            batch.drop_column(column)
