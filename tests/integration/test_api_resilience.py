"""The API starts without NATS and picks it up when it appears; the SPA fallback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import pytest

from tests.support.api import api_settings, data_of, database_body, error_of, eventually, serve_api
from tests.support.natsd import free_port, nats_binary


async def test_connects_when_nats_appears(tmp_path_factory: pytest.TempPathFactory) -> None:
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    settings = api_settings(tmp_path_factory.mktemp("api-late-nats"), url)
    async with serve_api(settings, wait_for_nats=False) as api:
        error_of(await api.client.get("/api/health/ready"), 503, "SERVICE_UNAVAILABLE")
        store = tmp_path_factory.mktemp("late-nats-store")
        proc = await asyncio.create_subprocess_exec(
            *[nats_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:

            async def ready() -> bool:
                return (await api.client.get("/api/health/ready")).status_code == 200

            await eventually(ready, timeout=20, interval=0.2)
            name = "late"
            body = database_body(name, "late-queue")
            data_of(await api.client.post("/api/databases", json=body), 201)
            nc = await nats.connect(url)
            try:
                reply = await nc.request(
                    "lifeboat.trigger.backup",
                    json.dumps({"database": name, "token": api.token}).encode(),
                    timeout=10,
                )
            finally:
                await nc.drain()
            assert json.loads(reply.data)["success"] is True
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)


async def test_spa_fallback(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> None:
    static: Path = tmp_path_factory.mktemp("static")
    (static / "index.html").write_text("<!doctype html><title>Lifeboat</title>")
    (static / "assets").mkdir()
    (static / "assets" / "app.js").write_text("console.log(1)")
    settings = api_settings(tmp_path_factory.mktemp("api-spa"), nats_url, STATIC_DIR=str(static))
    async with serve_api(settings) as api:
        for path in ["/", "/backups/123", "/restore/new"]:
            response = await api.client.get(path)
            assert response.status_code == 200
            assert "<title>Lifeboat</title>" in response.text
        asset = await api.client.get("/assets/app.js")
        assert asset.text == "console.log(1)"
        # browsers refuse module scripts served with any other type
        assert asset.headers["content-type"].startswith("text/javascript")
        assert "immutable" in asset.headers["cache-control"]
        error_of(await api.client.get("/api/nope"), 404, "NOT_FOUND")
        error_of(await api.client.post("/api/nope", json={}), 404, "NOT_FOUND")
        (static.parent / "outside.txt").write_text("outside-secret")
        for sneaky in ["/..%2Foutside.txt", "/assets/..%2F..%2Foutside.txt"]:
            response = await api.client.get(sneaky)
            assert "outside-secret" not in response.text
        assert (await api.client.get("/schema/openapi.json")).status_code == 200
        data_of(await api.client.get("/api/health/live"))


async def test_a_job_that_cannot_be_queued_leaves_a_failed_record(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """queue_job's compensation: 503 naming the execution, whose record ends failed."""
    url = f"nats://127.0.0.1:{free_port()}"  # nobody listens there
    settings = api_settings(tmp_path_factory.mktemp("api-no-nats"), url)
    async with serve_api(settings, wait_for_nats=False) as api:
        db = data_of(await api.client.post("/api/databases", json=database_body("lone", "q")), 201)
        channel = data_of(
            await api.client.post(
                "/api/notification-channels",
                json={"name": "ops", "url": "json://127.0.0.1:9/hook", "events": ["backup.failed"]},
            ),
            201,
        )
        error = error_of(
            await api.client.post("/api/backups", json={"databaseId": db["id"]}),
            503,
            "SERVICE_UNAVAILABLE",
        )
        assert error["message"].startswith("could not queue the backup job: ")
        backup = data_of(await api.client.get(f"/api/backups/{error['details']['executionId']}"))
        assert backup["status"] == "failed"
        assert backup["errorMessage"] == error["message"]
        assert backup["completedAt"] is not None
        # A backup that never reached an executor failed all the same: its owner is told.
        path = f"/api/notification-channels/{channel['id']}/deliveries"
        assert [d["event"] for d in data_of(await api.client.get(path))] == ["backup.failed"]
        # Nothing is left pending: the next request is not refused as a duplicate.
        again = await api.client.post("/api/backups", json={"databaseId": db["id"]})
        error_of(again, 503, "SERVICE_UNAVAILABLE")
