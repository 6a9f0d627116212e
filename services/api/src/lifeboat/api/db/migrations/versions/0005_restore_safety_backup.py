"""Safety backups of a restore's target.

* ``backup_executions``: a ``pre-restore`` backup type (the backup a restore takes of its target
  before touching it);
* ``restore_executions``: ``safety_backup_id``, that backup.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TYPE_OLD = "backup_type IN ('hourly', 'daily', 'weekly', 'monthly', 'custom', 'manual')"
_TYPE_NEW = (
    "backup_type IN ('hourly', 'daily', 'weekly', 'monthly', 'custom', 'manual', 'pre-restore')"
)


def upgrade() -> None:
    """Widen the backup type check, add the restore's safety backup column."""
    with op.batch_alter_table("backup_executions", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_backup_executions_backup_type"), type_="check")
        batch.create_check_constraint("backup_type", sa.text(_TYPE_NEW))
    with op.batch_alter_table("restore_executions") as batch:
        batch.add_column(sa.Column("safety_backup_id", sa.String(36), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added; safety backups become manual ones."""
    with op.batch_alter_table("restore_executions") as batch:
        batch.drop_column("safety_backup_id")
    op.execute(
        "UPDATE backup_executions SET backup_type = 'manual' WHERE backup_type = 'pre-restore'"
    )
    with op.batch_alter_table("backup_executions", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_backup_executions_backup_type"), type_="check")
        batch.create_check_constraint("backup_type", sa.text(_TYPE_OLD))
