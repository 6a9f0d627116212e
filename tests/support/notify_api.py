"""Helpers of the notification integration tests: an API that polls and retries notifications
every second, databases, channels and backups to notify about, and a channel's deliveries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupJob,
)
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    eventually,
    serve_api,
)
from tests.support.executor_sim import finish_backup, next_job

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-0123456789abcdef"


@asynccontextmanager
async def serve_notify_api(data_dir: Path, nats_url: str) -> AsyncGenerator[RunningApi]:
    """The API with notifications polled and retried every second, private endpoints allowed
    (the receivers listen on 127.0.0.1) and the periodic checks off (the tests run them)."""
    settings = api_settings(
        data_dir,
        nats_url,
        NOTIFY_POLL_SECONDS="1",
        NOTIFY_RETRY_SECONDS="1",
        NOTIFY_MAX_ATTEMPTS="3",
        WATCH_INTERVAL_SECONDS="3600",  # the tests run the checks themselves
    )
    async with serve_api(settings) as running:
        data_of(
            await running.client.put("/api/system/settings", json={"allow_private_endpoints": True})
        )
        yield running


def unique(prefix: str = "q") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def new_database(api: RunningApi) -> dict[str, Any]:
    body = database_body(unique("db-"), unique())
    return data_of(await api.client.post("/api/databases", json=body), 201)


async def new_channel(api: RunningApi, url: str, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("ch-"), "url": url, "events": ["backup.failed"], **fields}
    return data_of(await api.client.post("/api/notification-channels", json=body), 201)


async def run_backup(api: RunningApi, bus: Bus, db: dict[str, Any], *, ok: bool) -> str:
    created = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    job = await next_job(bus, db["queue"])
    assert isinstance(job, BackupJob)
    await finish_backup(api, bus, job, ok=ok)
    want = "completed" if ok else "failed"

    async def done() -> bool | None:
        record = data_of(await api.client.get(f"/api/backups/{created['id']}"))
        return True if record["status"] == want else None

    await eventually(done)
    return str(created["id"])


async def deliveries(api: RunningApi, channel: dict[str, Any]) -> list[dict[str, Any]]:
    return data_of(await api.client.get(f"/api/notification-channels/{channel['id']}/deliveries"))


async def settled(api: RunningApi, channel: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The channel's deliveries once `count` of them are no longer pending."""

    async def check() -> list[dict[str, Any]] | None:
        rows = await deliveries(api, channel)
        done = [r for r in rows if r["status"] != "pending"]
        return rows if len(done) >= count else None

    result: list[dict[str, Any]] = await eventually(check, timeout=30)
    return result
