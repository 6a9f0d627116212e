"""Helpers of tests/integration/test_schedules.py: databases and schedules through the API, the
schedules KV bucket as the schedulers see it, and scheduler settings and clocks."""

from __future__ import annotations

import time
import uuid
from typing import Any

from lifeboat.scheduler.settings import SchedulerSettings
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import schedule_entry_decoder
from lifeboat.wire.messages import ScheduleEntry
from tests.support.api import (
    RunningApi,
    data_of,
    database_body,
)


def unique(prefix: str = "q") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def new_database(api: RunningApi) -> dict[str, Any]:
    body = database_body(unique("db-"), unique())
    return data_of(await api.client.post("/api/databases", json=body), 201)


async def new_schedule(api: RunningApi, database_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"databaseConfigId": database_id, "scheduleType": "daily", **fields}
    return data_of(await api.client.post("/api/schedules", json=body), 201)


async def executions(api: RunningApi, database_id: str) -> list[dict[str, Any]]:
    page = data_of(await api.client.get("/api/backups", params={"databaseId": database_id}))
    return list(page)


async def kv_snapshot(bus: Bus) -> dict[str, ScheduleEntry]:
    """The schedules bucket as it is now."""
    found: dict[str, ScheduleEntry] = {}
    async for change in bus.kv_watch(subjects.SCHEDULES_KV):
        if change is None:
            break
        if change.value is not None:
            found[change.key] = schedule_entry_decoder.decode(change.value)
    return found


def scheduler_settings(nats_url: str, name: str, offset: int = 0) -> SchedulerSettings:
    return SchedulerSettings(
        nats_url=nats_url,
        scheduler_id=name,
        heartbeat_seconds=5,
        timezone="UTC",
        log_level="info",
        tick_ms=100,
        clock_offset_seconds=offset,
    )


def offset_to_next_minute(margin: float = 1.0) -> int:
    """Seconds to add to the real clock so that it is just past the next minute boundary."""
    now = time.time()
    return int(60 - now % 60 + margin) + 1
