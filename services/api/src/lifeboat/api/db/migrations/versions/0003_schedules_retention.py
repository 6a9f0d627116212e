"""Schedules (time zones, retries) and retention policies (modes).

* ``retention_policies``: ``mode`` (count | age | size | hybrid), ``max_age_days``,
  ``max_total_bytes``, ``timezone``;
* ``backup_schedules``: ``compression``, ``retry_count``, ``retry_delay_seconds``,
  ``active_since``, ``last_fired_at``, ``next_run_at``;
* ``backup_executions``: ``scheduled_for``, ``retry_number``, ``retry_of``,
  ``retention_policy_id``; a ``skipped`` status and a ``custom`` backup type; one execution per
  schedule slot and retry (unique index).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STATUS_OLD = "status IN ('pending', 'running', 'completed', 'failed', 'cancelled')"
_STATUS_NEW = "status IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'skipped')"
_TYPE_OLD = "backup_type IN ('hourly', 'daily', 'weekly', 'monthly', 'manual')"
_TYPE_NEW = "backup_type IN ('hourly', 'daily', 'weekly', 'monthly', 'custom', 'manual')"


def upgrade() -> None:
    """Add the columns, widen the execution checks, add the per-slot unique index."""
    with op.batch_alter_table("retention_policies") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), server_default="count", nullable=False))
        batch.add_column(sa.Column("max_age_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_total_bytes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False))

    with op.batch_alter_table("backup_schedules") as batch:
        batch.add_column(
            sa.Column("compression", sa.String(16), server_default="zstd", nullable=False)
        )
        batch.add_column(sa.Column("retry_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("retry_delay_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("active_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_fired_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("next_run_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("backup_executions", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_backup_executions_status"), type_="check")
        batch.drop_constraint(op.f("ck_backup_executions_backup_type"), type_="check")
        batch.create_check_constraint("status", sa.text(_STATUS_NEW))
        batch.create_check_constraint("backup_type", sa.text(_TYPE_NEW))
        batch.add_column(sa.Column("scheduled_for", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("retry_number", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("retry_of", sa.String(36), nullable=True))
        batch.add_column(sa.Column("retention_policy_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_backup_executions_retention_policy_id_retention_policies"),
            "retention_policies",
            ["retention_policy_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(
            "uq_backup_executions_schedule_slot",
            ["backup_schedule_id", "scheduled_for", "retry_number"],
            unique=True,
        )


def downgrade() -> None:
    """Drop what :func:`upgrade` added; skipped and custom rows go (the old checks refuse them)."""
    op.execute("DELETE FROM backup_executions WHERE status = 'skipped'")
    op.execute("UPDATE backup_executions SET backup_type = 'manual' WHERE backup_type = 'custom'")
    with op.batch_alter_table("backup_executions", recreate="always") as batch:
        batch.drop_index("uq_backup_executions_schedule_slot")
        batch.drop_constraint(
            op.f("fk_backup_executions_retention_policy_id_retention_policies"), type_="foreignkey"
        )
        batch.drop_column("retention_policy_id")
        batch.drop_column("retry_of")
        batch.drop_column("retry_number")
        batch.drop_column("scheduled_for")
        batch.drop_constraint(op.f("ck_backup_executions_status"), type_="check")
        batch.drop_constraint(op.f("ck_backup_executions_backup_type"), type_="check")
        batch.create_check_constraint("status", sa.text(_STATUS_OLD))
        batch.create_check_constraint("backup_type", sa.text(_TYPE_OLD))

    with op.batch_alter_table("backup_schedules") as batch:
        for column in (
            "next_run_at",
            "last_fired_at",
            "active_since",
            "retry_delay_seconds",
            "retry_count",
            "compression",
        ):
            batch.drop_column(column)

    with op.batch_alter_table("retention_policies") as batch:
        for column in ("timezone", "max_total_bytes", "max_age_days", "mode"):
            batch.drop_column(column)
