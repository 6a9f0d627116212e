"""Notifications: channels, the delivery outbox and its attempts, the dead man's switch.

* ``notification_channels``: an Apprise URL or a signed webhook (URL and secret encrypted),
  the events it wants (JSON list) and the databases it is for (JSON list, NULL: all).
* ``notification_deliveries``: one row per event and channel, worked through by the API's
  sender (survives restarts) with ``attempts``, ``next_attempt_at``, ``last_error``.
* ``notification_attempts``: each try of a delivery.
* ``backup_watch``: per database, the max age override of its last good backup and whether
  (since when) it is overdue, when it was last alerted.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables."""
    now = sa.text("CURRENT_TIMESTAMP")
    _create_channels(now)
    _create_deliveries(now)
    _create_attempts(now)
    _create_backup_watch()


def _create_channels(now: sa.TextClause) -> None:
    """The notification_channels table."""
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), server_default="", nullable=False),
        sa.Column("events_json", sa.Text(), nullable=False),
        sa.Column("database_ids_json", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=now, nullable=False),
        sa.CheckConstraint(
            "kind IN ('apprise', 'webhook')", name=op.f("ck_notification_channels_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_channels_name")),
    )


def _create_deliveries(now: sa.TextClause) -> None:
    """The notification_deliveries table (the outbox) and its indexes."""
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("channel_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("database_id", sa.String(36), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("details_json", sa.Text(), server_default="{}", nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=now, nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_notification_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        "idx_notification_deliveries_due", "notification_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "idx_notification_deliveries_channel",
        "notification_deliveries",
        ["channel_id", "created_at"],
    )


def _create_attempts(now: sa.TextClause) -> None:
    """The notification_attempts table and its index."""
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("at", sa.DateTime(), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_attempts_delivery_id_notification_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        "idx_notification_attempts_delivery", "notification_attempts", ["delivery_id", "attempt"]
    )


def _create_backup_watch() -> None:
    """The backup_watch table."""
    op.create_table(
        "backup_watch",
        sa.Column("database_config_id", sa.String(36), nullable=False),
        sa.Column("max_age_seconds", sa.Integer(), nullable=True),
        sa.Column("overdue_since", sa.DateTime(), nullable=True),
        sa.Column("last_alert_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["database_config_id"],
            ["database_configs.id"],
            name=op.f("fk_backup_watch_database_config_id_database_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("database_config_id", name=op.f("pk_backup_watch")),
    )


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("backup_watch")
    op.drop_table("notification_attempts")
    op.drop_table("notification_deliveries")
    op.drop_table("notification_channels")
