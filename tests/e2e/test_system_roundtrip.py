"""The whole system, as a user drives it: REST API → NATS → executor → storage → restore.

Runs the real processes (nats-server, api, scheduler, executor) through scripts.devstack, the
same code `just up` runs, against the machine's PostgreSQL and MariaDB.
"""

from __future__ import annotations

import hashlib
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.devstack import Stack
from tests.e2e.conftest import sign_in_and_make_token
from tests.support.dbs import PG_USER, ScratchDb, my_connect, scratch_my, scratch_pg, unique_name
from tests.support.receivers import http_receiver
from tests.support.richdb import build_rich_my, build_rich_pg, my_fingerprint, pg_fingerprint

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MARKER = f"Canary-{uuid.uuid4().hex}"


class NatsTap:
    """Records every message on the stack's NATS server (subject '>') in a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.payloads: list[bytes] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        import nats

        async def main() -> None:
            nc = await nats.connect(self.url)

            async def on_msg(msg: Any) -> None:
                self.payloads.append(bytes(msg.data) + repr(msg.headers).encode())

            await nc.subscribe(">", cb=on_msg)
            await nc.flush()
            self._ready.set()
            await asyncio.to_thread(self._stop.wait)
            await nc.drain()

        asyncio.run(main())

    def __enter__(self) -> NatsTap:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture(scope="module")
def canary_mysql_user() -> Iterator[str]:
    """A MariaDB user whose password is the canary marker."""
    user = unique_name("lbu")[:30]
    conn = my_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (MARKER,))
            cur.execute(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY %s", (MARKER,))
            for host in ("%", "localhost"):
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'{host}'")
        yield user
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")
        conn.close()


def ok(resp: httpx.Response, status: int = 200) -> Any:
    body = resp.json()
    assert resp.status_code == status, body
    assert body["success"] is True, body
    assert MARKER not in resp.text
    return body["data"]


def wait_done(api: httpx.Client, path: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = ok(api.get(path))
        if record["status"] in ("completed", "failed", "cancelled"):
            return record
        time.sleep(0.2)
    raise AssertionError(f"{path} still {record.get('status')} after {timeout}s")


def add_database(
    api: httpx.Client, db: ScratchDb, *, user: str, password: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "name": f"{db.engine}-{db.name}",
        "type": db.engine,
        "host": db.host,
        "port": db.port,
        "databaseName": db.name,
        "username": user,
        "password": password,
        **extra,
    }
    return ok(api.post("/api/databases", json=body), 201)


def round_trip(
    api: httpx.Client,
    stack: Stack,
    source: dict[str, Any],
    target: dict[str, Any],
    compression: str,
) -> dict[str, Any]:
    backup = ok(
        api.post("/api/backups", json={"databaseId": source["id"], "compression": compression}), 202
    )
    assert backup["status"] == "pending"
    backup = wait_done(api, f"/api/backups/{backup['id']}")
    assert backup["status"] == "completed", backup.get("errorMessage")
    assert backup["fileSizeBytes"] > 0
    assert backup["checksum"]
    path = Path(stack.data_dir, "backups", backup["localPath"])
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Path(f"{path}.manifest.json").is_file()
    downloaded = api.get(f"/api/backups/{backup['id']}/download")
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() in backup["checksum"]
    restore = ok(
        api.post(
            "/api/restores",
            json={
                "databaseId": target["id"],
                "backupId": backup["id"],
                "options": {"dropAndRecreate": True},
            },
        ),
        202,
    )
    restore = wait_done(api, f"/api/restores/{restore['id']}")
    assert restore["status"] == "completed", restore.get("errorMessage")
    return backup


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_postgres_backup_restore_identical(
    api: httpx.Client, stack: Stack, compression: str
) -> None:
    with scratch_pg("lbe_src") as src, scratch_pg("lbe_dst") as dst:
        build_rich_pg(src.name)
        source = add_database(api, src, user=PG_USER, password=MARKER)
        target = add_database(api, dst, user=PG_USER, password=MARKER)
        tested = ok(api.post(f"/api/databases/{source['id']}/test-connection"))
        assert tested["connected"] is True and tested["serverVersion"]
        round_trip(api, stack, source, target, compression)
        assert pg_fingerprint(dst.name) == pg_fingerprint(src.name)


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_mysql_backup_restore_identical(
    api: httpx.Client, stack: Stack, canary_mysql_user: str, compression: str
) -> None:
    with scratch_my("lbe_src") as src, scratch_my("lbe_dst") as dst:
        build_rich_my(src.name)
        source = add_database(api, src, user=canary_mysql_user, password=MARKER)
        target = add_database(api, dst, user=canary_mysql_user, password=MARKER)
        round_trip(api, stack, source, target, compression)
        assert my_fingerprint(dst.name) == my_fingerprint(src.name)


def test_failed_backup_leaves_nothing_and_logs_the_reason(
    api: httpx.Client, stack: Stack, canary_mysql_user: str
) -> None:
    with scratch_my("lbe_gone") as db:
        source = add_database(
            api, db, user=canary_mysql_user, password=MARKER + "-wrong", skipConnectionTest=True
        )
        backup = ok(api.post("/api/backups", json={"databaseId": source["id"]}), 202)
        backup = wait_done(api, f"/api/backups/{backup['id']}")
        assert backup["status"] == "failed"
        assert "Access denied" in (backup["errorMessage"] or "")
        logs = ok(api.get(f"/api/backups/{backup['id']}/logs", params={"level": "error"}))
        assert any("Access denied" in line["message"] for line in logs)
        folder = Path(stack.data_dir, "backups")
        leftovers = [p for p in folder.rglob("*") if p.is_file() and db.name in p.name]
        assert leftovers == []


def test_database_gone_fails_cleanly(api: httpx.Client, stack: Stack) -> None:
    with scratch_pg("lbe_gone") as db:
        source = add_database(api, db, user=PG_USER, password="x")
    # the scratch database is dropped now
    backup = ok(api.post("/api/backups", json={"databaseId": source["id"]}), 202)
    backup = wait_done(api, f"/api/backups/{backup['id']}")
    assert backup["status"] == "failed"
    assert "does not exist" in (backup["errorMessage"] or "")
    assert not list(Path(stack.data_dir, "backups").rglob(f"*{db.name}*"))


def canary_channels(api: httpx.Client, webhook_url: str) -> list[str]:
    """An Apprise channel whose URL holds the marker (password and path; nothing listens
    there, so its errors are logged and stored) and a signed webhook whose secret is it."""
    ok(api.put("/api/system/settings", json={"allow_private_endpoints": True}))
    events = ["backup.failed", "backup.completed", "restore.completed"]
    apprise_channel = ok(
        api.post(
            "/api/notification-channels",
            json={
                "name": "canary-apprise",
                "url": f"json://lifeboat:{MARKER}@127.0.0.1:9/{MARKER}",
                "events": events,
            },
        ),
        201,
    )
    hook = ok(
        api.post(
            "/api/notification-channels",
            json={
                "name": "canary-webhook",
                "kind": "webhook",
                "url": webhook_url + "/hook",
                "secret": MARKER + "-hook",
                "events": events,
            },
        ),
        201,
    )
    ok(api.post(f"/api/notification-channels/{apprise_channel['id']}/test"))
    return [apprise_channel["id"], hook["id"]]


def wait_notified(api: httpx.Client, channels: list[str], timeout: float = 60) -> None:
    """Until the webhook got its deliveries and the Apprise channel tried its own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [ok(api.get(f"/api/notification-channels/{c}/deliveries")) for c in channels]
        tried = all(r and all(d["attempts"] > 0 for d in r) for r in rows)
        if tried and any(d["status"] == "delivered" for d in rows[1]):
            return
        time.sleep(0.3)
    raise AssertionError("notifications were not tried in time")


def test_external_trigger_and_no_secret_anywhere(
    api: httpx.Client, stack: Stack, canary_mysql_user: str, admin_token: str
) -> None:
    """Full backup + restore + a failing backup with the canary password; scan every channel."""
    import asyncio

    import nats

    with (
        NatsTap(stack.nats_url) as tap,
        scratch_my("lbe_canary") as src,
        scratch_my("lbe_canary_dst") as dst,
        http_receiver(secret=MARKER + "-hook") as webhook,
    ):
        build_rich_my(src.name)
        source = add_database(api, src, user=canary_mysql_user, password=MARKER)
        target = add_database(api, dst, user=canary_mysql_user, password=MARKER)
        channels = canary_channels(api, webhook.url)

        async def trigger() -> dict[str, Any]:
            nc = await nats.connect(stack.nats_url)
            try:
                import json

                def request(database: str, token: str | None) -> bytes:
                    return json.dumps({"database": database, "token": token}).encode()

                reply = await nc.request(
                    "lifeboat.trigger.backup", request(source["name"], admin_token), timeout=10
                )
                bad = await nc.request(
                    "lifeboat.trigger.backup", request("no-such-db", admin_token), timeout=10
                )
                junk = await nc.request("lifeboat.trigger.backup", b"not json", timeout=10)
                anonymous = await nc.request(
                    "lifeboat.trigger.backup", request(source["name"], None), timeout=10
                )
                forged = await nc.request(
                    "lifeboat.trigger.backup", request(source["name"], "lb_forged"), timeout=10
                )
                viewer = await nc.request(
                    "lifeboat.trigger.backup", request(source["name"], viewer_token), timeout=10
                )
            finally:
                await nc.close()

            good_body = json.loads(reply.data)
            assert json.loads(bad.data)["error"]["code"] == "NOT_FOUND"
            assert json.loads(junk.data)["error"]["code"] == "VALIDATION_ERROR"
            assert json.loads(anonymous.data)["error"]["code"] == "UNAUTHORIZED"
            assert json.loads(forged.data)["error"]["code"] == "UNAUTHORIZED"
            assert json.loads(viewer.data)["error"]["code"] == "FORBIDDEN"
            return good_body

        viewer_token = sign_in_and_make_token(stack.api_url, "viewer")
        body = asyncio.run(trigger())
        assert body["success"] is True
        backup = wait_done(api, f"/api/backups/{body['data']['executionId']}")
        assert backup["status"] == "completed", backup.get("errorMessage")
        restore = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": target["id"],
                    "backupId": backup["id"],
                    "options": {"dropAndRecreate": True},
                },
            ),
            202,
        )
        assert wait_done(api, f"/api/restores/{restore['id']}")["status"] == "completed"
        assert my_fingerprint(dst.name) == my_fingerprint(src.name)
        bad = add_database(
            api,
            dst,
            user=canary_mysql_user,
            password=MARKER + "x",
            skipConnectionTest=True,
            name="bad-" + dst.name,
        )
        failed = wait_done(
            api,
            f"/api/backups/{ok(api.post('/api/backups', json={'databaseId': bad['id']}), 202)['id']}",
        )
        assert failed["status"] == "failed"
        wait_notified(api, channels)
        assert [b["event"] for b in webhook.bodies()].count("backup.failed") == 1
        for path in (
            "/api/notification-channels",
            *(f"/api/notification-channels/{c}/deliveries" for c in channels),
            "/api/audit",
            "/api/databases",
            "/api/backups",
            f"/api/backups/{backup['id']}/logs",
            "/api/restores",
            "/api/system/status",
            "/schema/openapi.json",
        ):
            assert MARKER not in api.get(path).text
    assert tap.payloads, "the tap saw no NATS traffic"
    assert not [p for p in tap.payloads if MARKER.encode() in p]
    logs = Path(stack.data_dir).parent / "logs"
    for log_file in logs.iterdir():
        assert MARKER not in log_file.read_text(errors="replace"), log_file
    for db_file in Path(stack.data_dir, "db").iterdir():
        assert MARKER.encode() not in db_file.read_bytes(), db_file
    for artifact in Path(stack.data_dir, "backups").rglob("*"):
        if artifact.is_file():
            assert MARKER.encode() not in artifact.read_bytes()
    nats_store = Path(stack.data_dir, "nats")
    for stored in nats_store.rglob("*"):
        if stored.is_file():
            assert MARKER.encode() not in stored.read_bytes(), stored
