"""Alembic environment: runs on the connection handed over by lifeboat.api.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lifeboat.api.db.models import Base


def run_migrations(connection: Connection) -> None:
    """Run migrations on `connection` (batch mode: SQLite cannot ALTER most things)."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError("run migrations through lifeboat.api.db.migrate, which passes a connection")
run_migrations(_connection)
