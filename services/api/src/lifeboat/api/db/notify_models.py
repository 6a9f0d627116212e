"""Models of notifications (migration 0010): channels, the delivery outbox with each attempt,
and the per-database dead man's switch state.

A channel's URL (Apprise URLs carry tokens and passwords) and a webhook's signing secret are
SecretBox tokens bound to their row (``notification_channels.url:<id>``,
``notification_channels.secret:<id>``), rotated with every other ``*_encrypted`` column.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lifeboat.api.db.models import Base, UTCDateTime, new_id, utcnow

_NOW = text("CURRENT_TIMESTAMP")
CHANNEL_KINDS = ("apprise", "webhook")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class NotificationChannel(Base):
    """Where notifications go, for which events and databases."""

    __tablename__ = "notification_channels"
    __table_args__ = (CheckConstraint("kind IN ('apprise', 'webhook')", name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    url_encrypted: Mapped[str] = mapped_column(Text)
    # The webhook's HMAC key ("" for Apprise channels).
    secret_encrypted: Mapped[str] = mapped_column(Text, default="", server_default="")
    # JSON lists: event names; database ids (NULL: every database).
    events_json: Mapped[str] = mapped_column(Text)
    database_ids_json: Mapped[str | None] = mapped_column(Text, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )


class NotificationDelivery(Base):
    """One event for one channel: the outbox row the sender works through, with its outcome."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("idx_notification_deliveries_due", "status", "next_attempt_at"),
        Index("idx_notification_deliveries_channel", "channel_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(64))
    database_id: Mapped[str | None] = mapped_column(String(36), default=None)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    details_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class NotificationAttempt(Base):
    """One try at sending a delivery."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index("idx_notification_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class BackupWatch(Base):
    """The dead man's switch of one database: its max-age override and alert state."""

    __tablename__ = "backup_watch"

    database_config_id: Mapped[str] = mapped_column(
        ForeignKey("database_configs.id", ondelete="CASCADE"), primary_key=True
    )
    # None: derived from the database's schedules (see domain/notifications/watch.py).
    max_age_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
