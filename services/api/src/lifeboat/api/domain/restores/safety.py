"""The safety backup of a restore's target (option ``safetyBackup``).

Mechanism: the API records a ``pre-restore`` backup execution (pending, local copy) in the same
transaction as the restore, and sends its :class:`BackupJob` inside the :class:`RestoreJob`.
The executor that takes the restore runs that backup first with the ordinary backup code,
reporting it under the backup's own id (so the events consumer records it like any backup),
and touches the target only once the backup completed; a failed backup fails the restore.
One job, one delivery: no state to chain in the API, and an executor that dies midway gets the
whole job redelivered (reusing a safety backup an earlier delivery completed, see
``lifeboat.executor.safety``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, DatabaseConfig, new_id
from lifeboat.api.domain.databases.service import engine_of, sealed_target
from lifeboat.core import naming
from lifeboat.engines.registry import engine_for
from lifeboat.wire.messages import BackupJob

SAFETY_BACKUP_TYPE = "pre-restore"


@dataclass(frozen=True, kw_only=True)
class SafetyBackup:
    """The record and the job of one safety backup."""

    row: BackupExecution
    job: BackupJob


def safety_backup_for(ctx: ApiContext, target: DatabaseConfig, *, now: datetime) -> SafetyBackup:
    """A pending ``pre-restore`` backup of `target` (local copy, zstd); the caller adds the
    row to the transaction that records the restore."""
    backup_id = new_id()
    engine = engine_of(target)
    file_name = naming.backup_file_name(
        database=target.name,
        backup_type=SAFETY_BACKUP_TYPE,
        started_at=now,
        execution_id=backup_id,
        extension=engine_for(engine).file_extension,
        compression="zstd",
    )
    job = BackupJob(
        execution_id=backup_id,
        target=sealed_target(ctx, target, bound_to=backup_id),
        database_label=target.name,
        backup_type=SAFETY_BACKUP_TYPE,
        compression="zstd",
        relative_dir=naming.backup_relative_dir(database=target.name, started_at=now),
        file_name=file_name,
        requested_at=now,
        store_locally=True,
    )
    row = BackupExecution(
        id=backup_id,
        database_config_id=target.id,
        backup_type=SAFETY_BACKUP_TYPE,
        status="pending",
        queue=target.queue,
        file_name=file_name,
        compression_used="zstd",
        local_status="pending",
        started_at=now,
        created_at=now,
    )
    return SafetyBackup(row=row, job=job)
