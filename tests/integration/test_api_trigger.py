"""The external NATS trigger, driven by a plain nats-py client as any outside tool would."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import job_decoder
from lifeboat.wire.messages import BackupJob
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    make_token,
    serve_api,
)

SUBJECT = "lifeboat.trigger.backup"


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-trigger"), nats_url)) as running:
        yield running


@pytest.fixture(scope="module")
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


async def ask(nc: Client, payload: bytes, token: str | None = None) -> dict[str, Any]:
    """Send a trigger request, with `token` added to a JSON object payload."""
    if token is not None:
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        if isinstance(body, dict):
            payload = json.dumps({**body, "token": token}).encode()
    reply = await nc.request(SUBJECT, payload, timeout=10)
    result: dict[str, Any] = json.loads(reply.data)
    return result


async def test_trigger_queues_a_backup(api: RunningApi, nc: Client, nats_url: str) -> None:
    queue = f"t{uuid.uuid4().hex[:10]}"
    name = f"trig-{uuid.uuid4().hex[:8]}"
    db = data_of(await api.client.post("/api/databases", json=database_body(name, queue)), 201)

    reply = await ask(nc, json.dumps({"database": name}).encode(), api.token)
    assert reply["success"] is True, reply
    execution_id = reply["data"]["executionId"]
    assert reply["data"]["status"] == "pending"

    record = data_of(await api.client.get(f"/api/backups/{execution_id}"))
    assert record["databaseConfigId"] == db["id"]
    assert record["backupType"] == "manual"
    assert record["status"] == "pending"

    bus = await Bus.connect(nats_url, name="test-trigger")
    try:
        delivery = await anext(aiter(bus.jobs(queue)))
        job = job_decoder.decode(delivery.data)
        await delivery.ack()
    finally:
        await bus.close()
    assert isinstance(job, BackupJob) and job.execution_id == execution_id

    conflict = await ask(nc, json.dumps({"database": name}).encode(), api.token)
    assert conflict["success"] is False
    assert conflict["error"]["code"] == "CONFLICT"


async def test_trigger_compression(api: RunningApi, nc: Client) -> None:
    name = f"trig-{uuid.uuid4().hex[:8]}"
    data_of(
        await api.client.post(
            "/api/databases", json=database_body(name, f"t{uuid.uuid4().hex[:10]}")
        ),
        201,
    )
    reply = await ask(nc, json.dumps({"database": name, "compression": "gzip"}).encode(), api.token)
    assert reply["success"] is True, reply
    record = data_of(await api.client.get(f"/api/backups/{reply['data']['executionId']}"))
    assert record["compressionUsed"] == "gzip"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"not json", "VALIDATION_ERROR"),
        (b'{"db": "x"}', "VALIDATION_ERROR"),
        (b'{"database": ""}', "VALIDATION_ERROR"),
        (b'{"database": "x", "compression": "lz4"}', "VALIDATION_ERROR"),
        (b'{"database": "no-such-database"}', "NOT_FOUND"),
    ],
)
async def test_trigger_errors(api: RunningApi, nc: Client, payload: bytes, code: str) -> None:
    reply = await ask(nc, payload, api.token)
    assert reply["success"] is False
    assert reply["error"]["code"] == code
    assert reply["error"]["message"]


async def test_trigger_disabled_database(api: RunningApi, nc: Client) -> None:
    name = f"off-{uuid.uuid4().hex[:8]}"
    data_of(
        await api.client.post("/api/databases", json=database_body(name, "default", enabled=False)),
        201,
    )
    reply = await ask(nc, json.dumps({"database": name}).encode(), api.token)
    assert reply["success"] is False
    assert reply["error"]["code"] == "VALIDATION_ERROR"
    assert "disabled" in reply["error"]["message"]


async def test_trigger_needs_a_token_with_backup_execute(api: RunningApi, nc: Client) -> None:
    name = f"auth-{uuid.uuid4().hex[:8]}"
    queue = f"t{uuid.uuid4().hex[:10]}"
    data_of(await api.client.post("/api/databases", json=database_body(name, queue)), 201)
    payload = json.dumps({"database": name}).encode()
    missing = await ask(nc, payload)
    assert missing["error"]["code"] == "UNAUTHORIZED"
    forged = await ask(nc, payload, "lb_not-a-real-token")
    assert forged["error"]["code"] == "UNAUTHORIZED"
    viewer = await ask(nc, payload, await make_token(api.ctx, "viewer"))
    assert viewer["error"]["code"] == "FORBIDDEN"
    operator = await ask(nc, payload, await make_token(api.ctx, "operator"))
    assert operator["success"] is True, operator
    events = data_of(await api.client.get("/api/audit", params={"action": "backup.trigger"}))
    assert any(e["target"] == operator["data"]["executionId"] for e in events)
    assert all(e["actor"].startswith("token:") for e in events)
