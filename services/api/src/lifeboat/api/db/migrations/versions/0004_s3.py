"""S3 configurations and per-copy storage status.

Adds the upload tuning of an S3 configuration (addressing style, part size, concurrency,
storage class, server-side encryption, checksum mode) to ``s3_configs``, and to
``backup_executions`` the status of each copy of a backup: ``local_status`` and ``s3_status``
(``pending``, ``completed``, ``failed``, ``deleted``; NULL when no such copy was asked for),
the S3 failure reason ``s3_error``, the configuration the copy went to (``s3_config_id``) and
``imported_at`` for records rebuilt from manifests.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the S3 tuning columns and the per-copy status columns."""
    with op.batch_alter_table("s3_configs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("addressing_style", sa.String(16), server_default="auto", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "part_size_bytes",
                sa.Integer(),
                server_default=str(16 * 1024 * 1024),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("concurrency", sa.Integer(), server_default="4", nullable=False)
        )
        batch_op.add_column(sa.Column("storage_class", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("sse", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("sse_kms_key_id", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "checksum_mode", sa.String(16), server_default="when_required", nullable=False
            )
        )
    with op.batch_alter_table("backup_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_status", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("s3_status", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("s3_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("s3_config_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("imported_at", sa.DateTime(), nullable=True))
    # Existing local backups: their one copy is local.
    op.execute(
        "UPDATE backup_executions SET local_status = 'completed'"
        " WHERE status = 'completed' AND local_path IS NOT NULL"
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("backup_executions", schema=None) as batch_op:
        for name in ("imported_at", "s3_config_id", "s3_error", "s3_status", "local_status"):
            batch_op.drop_column(name)
    with op.batch_alter_table("s3_configs", schema=None) as batch_op:
        for name in (
            "checksum_mode",
            "sse_kms_key_id",
            "sse",
            "storage_class",
            "concurrency",
            "part_size_bytes",
            "addressing_style",
        ):
            batch_op.drop_column(name)
