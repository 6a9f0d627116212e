"""Where a schedule's backups go.

* ``backup_schedules``: ``s3_config_id`` (the S3 configuration of the S3 copy; NULL: the
  default one) and ``store_locally`` (false: S3 only).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the two columns; existing schedules keep a local copy and use the default S3."""
    with op.batch_alter_table("backup_schedules") as batch:
        batch.add_column(
            sa.Column(
                "s3_config_id",
                sa.String(36),
                sa.ForeignKey("s3_configs.id", name="fk_backup_schedules_s3_config_id"),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("store_locally", sa.Boolean(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("backup_schedules") as batch:
        batch.drop_column("store_locally")
        batch.drop_column("s3_config_id")
