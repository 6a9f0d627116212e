"""Helpers of the /api/backups and /api/restores integration tests: databases on fresh queues,
pulling the job the API queued, and playing the executor's events (started → finished)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lifeboat.api.db.models import BackupExecution
from lifeboat.core.naming import manifest_name
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import job_decoder
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    ExecutionStarted,
    Job,
)
from tests.support.api import (
    RunningApi,
    data_of,
    database_body,
    eventually,
)

PASSWORD = "s3cr3t-Pa55word!"


def unique(prefix: str = "q") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def new_database(api: RunningApi, queue: str, **overrides: Any) -> dict[str, Any]:
    body = database_body(unique("db-"), queue, **overrides)
    return data_of(await api.client.post("/api/databases", json=body), 201)


async def next_job(bus: Bus, queue: str) -> tuple[Job, bytes]:
    """The next job on `queue`, acknowledged (as an executor would after finishing)."""

    async def pull() -> tuple[Job, bytes]:
        async for delivery in bus.jobs(queue):
            raw = delivery.data
            await delivery.ack()
            return job_decoder.decode(raw), raw
        raise AssertionError("jobs iterator ended")

    return await asyncio.wait_for(pull(), 10)


async def backup_of(api: RunningApi, backup_id: str) -> dict[str, Any]:
    return data_of(await api.client.get(f"/api/backups/{backup_id}"))


async def wait_status(api: RunningApi, backup_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        record = await backup_of(api, backup_id)
        return record if record["status"] == status else None

    result: dict[str, Any] = await eventually(check)
    return result


def now() -> datetime:
    return datetime.now(UTC)


async def complete(
    api: RunningApi, bus: Bus, job: BackupJob, content: bytes, *, attempt: int = 1
) -> dict[str, Any]:
    """Play the executor: write the artifact and its manifest, publish started → finished."""
    relative = f"{job.relative_dir}/{job.file_name}"
    path = api.settings.backup_storage_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.with_name(manifest_name(path.name)).write_text("{}")
    started = now()
    await bus.publish_event(
        "backup",
        ExecutionStarted(
            execution_id=job.execution_id,
            kind="backup",
            attempt=attempt,
            executor_id="exec-1",
            at=started,
        ),
    )
    await bus.publish_event(
        "backup",
        BackupFinished(
            execution_id=job.execution_id,
            attempt=attempt,
            ok=True,
            started_at=started,
            finished_at=started + timedelta(seconds=3),
            file_name=job.file_name,
            relative_path=relative,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            compression=job.compression,
            server_version="PostgreSQL 16.4",
            tool_version="pg_dump 16.4",
            database_size_bytes=4096,
        ),
    )
    return await wait_status(api, job.execution_id, "completed")


async def seed_backups(api: RunningApi, db_id: str, rows: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    async with api.ctx.db.write() as session:
        for row in rows:
            backup_id = str(uuid.uuid4())
            session.add(
                BackupExecution(
                    id=backup_id,
                    database_config_id=db_id,
                    queue="default",
                    backup_type=row.get("type", "manual"),
                    status=row.get("status", "completed"),
                    started_at=row["started_at"],
                    file_size_bytes=row.get("size", 10),
                    deleted_at=row.get("deleted_at"),
                )
            )
            ids.append(backup_id)
    return ids
