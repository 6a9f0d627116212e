"""Restores whose executor went silent while changing the target.

* ``restore_executions.interrupted_attempt``: the attempt that was changing the target when its
  executor stopped responding (NULL otherwise). See ``lifeboat.wire.lease``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (existing restores were never interrupted that way)."""
    with op.batch_alter_table("restore_executions") as batch:
        batch.add_column(sa.Column("interrupted_attempt", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("restore_executions") as batch:
        batch.drop_column("interrupted_attempt")
