"""REST /api/databases against a real API process and a real nats-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lifeboat.core.crypto import Sealer
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import encode, probe_request_decoder
from lifeboat.wire.messages import ProbeReply
from tests.support.api import (
    TEST_SEAL_KEY,
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    serve_api,
)

PASSWORD = "s3cr3t-Pa55word!"


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-db"), nats_url)) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-databases")
    yield connected
    await connected.close()


def unique(prefix: str = "q") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class ProbeResponder:
    """A stand-in executor answering probes on one queue (the bus contract only)."""

    def __init__(self, reply_ok: bool, error: str | None = None) -> None:
        self.reply_ok = reply_ok
        self.error = error
        self.passwords: list[str] = []
        self.raw: list[bytes] = []

    async def __call__(self, payload: bytes) -> bytes:
        self.raw.append(payload)
        request = probe_request_decoder.decode(payload)
        self.passwords.append(
            Sealer(TEST_SEAL_KEY).open(request.target.sealed_password, bound_to=request.probe_id)
        )
        return encode(
            ProbeReply(
                ok=self.reply_ok,
                server_version="PostgreSQL 16.4" if self.reply_ok else None,
                database_size_bytes=123456 if self.reply_ok else None,
                error=self.error,
                executor_id="exec-test",
            )
        )


async def test_create_get_list_update_delete(api: RunningApi) -> None:
    client = api.client
    name = unique("db-")
    created = data_of(await client.post("/api/databases", json=database_body(name, "default")), 201)
    assert created["name"] == name
    assert created["hasPassword"] is True
    assert created["databaseName"] == "app"
    assert set(created) == {
        "id",
        "name",
        "type",
        "host",
        "port",
        "databaseName",
        "username",
        "dockerContainerName",
        "enabled",
        "queue",
        "hasPassword",
        "createdAt",
        "updatedAt",
        "verificationDatabaseId",
        # the dead man's switch (not scheduled: not watched, never overdue)
        "overdue",
        "lastGoodBackupAt",
        "expectedBackupAgeHours",
        "maxBackupAgeHours",
    }
    assert created["overdue"] is False and created["expectedBackupAgeHours"] is None
    db_id = created["id"]

    assert data_of(await client.get(f"/api/databases/{db_id}"))["name"] == name
    listed = data_of(await client.get("/api/databases"))
    assert db_id in [d["id"] for d in listed]

    updated = data_of(
        await client.put(
            f"/api/databases/{db_id}",
            json={"port": 6543, "enabled": False, "skipConnectionTest": True},
        )
    )
    assert updated["port"] == 6543 and updated["enabled"] is False
    assert updated["hasPassword"] is True  # kept: password omitted on update
    assert updated["host"] == "db.internal"

    disabled = data_of(await client.get("/api/databases", params={"enabled": "false"}))
    assert db_id in [d["id"] for d in disabled]
    enabled = data_of(await client.get("/api/databases", params={"enabled": "true"}))
    assert db_id not in [d["id"] for d in enabled]
    mysql = data_of(await client.get("/api/databases", params={"type": "mysql"}))
    assert db_id not in [d["id"] for d in mysql]
    pg = data_of(await client.get("/api/databases", params={"type": "postgresql"}))
    assert db_id in [d["id"] for d in pg]

    cleared = data_of(
        await client.put(
            f"/api/databases/{db_id}", json={"password": "", "skipConnectionTest": True}
        )
    )
    assert cleared["hasPassword"] is False

    data_of(await client.delete(f"/api/databases/{db_id}"))
    error_of(await client.get(f"/api/databases/{db_id}"), 404, "NOT_FOUND")
    error_of(await client.delete(f"/api/databases/{db_id}"), 404, "NOT_FOUND")


async def test_duplicate_name_conflicts(api: RunningApi) -> None:
    name = unique("dup-")
    data_of(await api.client.post("/api/databases", json=database_body(name, "default")), 201)
    error_of(
        await api.client.post("/api/databases", json=database_body(name, "default")),
        409,
        "CONFLICT",
    )
    other = data_of(
        await api.client.post("/api/databases", json=database_body(unique("dup-"), "default")),
        201,
    )
    error_of(
        await api.client.put(
            f"/api/databases/{other['id']}", json={"name": name, "skipConnectionTest": True}
        ),
        409,
        "CONFLICT",
    )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"type": "oracle"}, "type"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"host": "-oProxyCommand"}, "host"),
        ({"queue": "Bad Queue"}, "queue"),
    ],
)
async def test_validation(api: RunningApi, override: dict[str, object], field: str) -> None:
    body = {**database_body(unique("v-"), "default"), **override}
    error = error_of(await api.client.post("/api/databases", json=body), 400, "VALIDATION_ERROR")
    assert any(d["field"] == field for d in error["details"]), error


async def test_missing_required_field(api: RunningApi) -> None:
    body = database_body(unique("v-"), "default")
    del body["host"]
    error = error_of(await api.client.post("/api/databases", json=body), 400, "VALIDATION_ERROR")
    assert "host" in error["message"]


async def test_test_connection_through_probe(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    responder = ProbeResponder(reply_ok=True)
    await bus.serve(subjects.probe_subject(queue), "test-probers", responder)
    db = data_of(
        await api.client.post("/api/databases", json=database_body(unique("p-"), queue)), 201
    )
    result = data_of(await api.client.post(f"/api/databases/{db['id']}/test-connection"))
    assert result["connected"] is True
    assert result["serverVersion"] == "PostgreSQL 16.4"
    assert result["databaseSizeBytes"] == 123456
    assert result["error"] is None
    assert isinstance(result["latencyMs"], int)
    # The executor can open the sealed password (bound to the probe id); it never travels in clear.
    assert responder.passwords == [PASSWORD]
    assert all(PASSWORD.encode() not in raw for raw in responder.raw)


async def test_test_connection_reports_failure(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    await bus.serve(
        subjects.probe_subject(queue),
        "test-probers",
        ProbeResponder(reply_ok=False, error="password authentication failed"),
    )
    db = data_of(
        await api.client.post("/api/databases", json=database_body(unique("p-"), queue)), 201
    )
    result = data_of(await api.client.post(f"/api/databases/{db['id']}/test-connection"))
    assert result["connected"] is False
    assert result["error"] == "password authentication failed"


async def test_create_verifies_connection_by_default(api: RunningApi, bus: Bus) -> None:
    good, bad = unique(), unique()
    responder = ProbeResponder(reply_ok=True)
    await bus.serve(subjects.probe_subject(good), "test-probers", responder)
    await bus.serve(
        subjects.probe_subject(bad),
        "test-probers",
        ProbeResponder(reply_ok=False, error="connection refused"),
    )
    body = database_body(unique("c-"), good, skipConnectionTest=False)
    data_of(await api.client.post("/api/databases", json=body), 201)
    assert responder.passwords == [PASSWORD]

    name = unique("c-")
    error = error_of(
        await api.client.post(
            "/api/databases", json=database_body(name, bad, skipConnectionTest=False)
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert "connection refused" in error["message"]
    names = [d["name"] for d in data_of(await api.client.get("/api/databases"))]
    assert name not in names


async def test_create_without_executor_is_unavailable(api: RunningApi) -> None:
    queue = unique()  # nobody serves this queue
    error = error_of(
        await api.client.post(
            "/api/databases", json=database_body(unique("n-"), queue, skipConnectionTest=False)
        ),
        503,
        "SERVICE_UNAVAILABLE",
    )
    assert queue in error["message"]
    assert "skipConnectionTest" in error["message"]


async def test_discover_is_not_configured(api: RunningApi) -> None:
    data = data_of(await api.client.post("/api/databases/discover"))
    assert data == {
        "configured": False,
        "databases": [],
        "message": "auto-discovery is not configured",
    }


async def test_password_never_returned_nor_stored_in_clear(api: RunningApi) -> None:
    secret = "Unm1stakable-" + uuid.uuid4().hex
    body = database_body(unique("s-"), "default", password=secret)
    responses = [await api.client.post("/api/databases", json=body)]
    db_id = responses[0].json()["data"]["id"]
    responses += [
        await api.client.get(f"/api/databases/{db_id}"),
        await api.client.get("/api/databases"),
        await api.client.put(
            f"/api/databases/{db_id}", json={"port": 5433, "skipConnectionTest": True}
        ),
    ]
    for response in responses:
        assert secret not in response.text
        assert "password" not in response.text.lower().replace("haspassword", "")
    db_path: Path = api.settings.database_path
    for path in (db_path, Path(f"{db_path}-wal")):
        if path.exists():
            assert secret.encode() not in path.read_bytes()
