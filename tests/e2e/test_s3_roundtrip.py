"""S3 through the whole system: backups to local + S3 from one dump, restore and download from
S3, an S3 outage that must not cost the local copy, import into a fresh install, and the S3
secret canary. Real processes (scripts.devstack), real PostgreSQL, moto's S3 HTTP server.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import threading
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from scripts.devstack import Stack, free_port
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in_and_make_token
from tests.e2e.test_system_roundtrip import NatsTap, add_database, ok, wait_done
from tests.support.dbs import PG_PASSWORD, PG_USER, pg_connect, scratch_pg
from tests.support.richdb import build_rich_pg, pg_fingerprint
from tests.support.s3 import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = f"S3Secret-{uuid.uuid4().hex}"
ACCESS = "AKIDLIFEBOATE2E"


def _settings(endpoint: str, bucket: str) -> S3Settings:
    return S3Settings(
        bucket=bucket,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        endpoint_url=endpoint,
        addressing_style="path",
    )


def make_bucket(endpoint: str) -> str:
    name = f"lb-e2e-{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        async with S3Store(_settings(endpoint, name)) as store:

            async def call(client: Any) -> None:
                await client.create_bucket(Bucket=name)

            await store.call("CreateBucket", None, call)

    asyncio.run(create())
    return name


def s3_objects(endpoint: str, bucket: str) -> dict[str, dict[str, str]]:
    """Every key of the bucket with its metadata."""

    async def listing() -> dict[str, dict[str, str]]:
        async with S3Store(_settings(endpoint, bucket)) as store:
            out: dict[str, dict[str, str]] = {}
            async for key in store.list_keys(""):
                info = await store.head(key)
                assert info is not None
                out[key] = info.metadata
            return out

    return asyncio.run(listing())


def add_s3_config(api: httpx.Client, endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    # Private endpoints (moto on 127.0.0.1) must be allowed explicitly once the SSRF guard
    # exists; the setting is harmless before.
    api.put("/api/system/settings", json={"allow_private_endpoints": True})
    body = {
        "name": f"e2e-{uuid.uuid4().hex[:8]}",
        "bucket": bucket,
        "endpoint": endpoint,
        "accessKeyId": ACCESS,
        "secretAccessKey": SECRET,
        "addressingStyle": "path",
        "pathPrefix": "lifeboat",
        "partSizeBytes": 5 * 1024 * 1024,
        **extra,
    }
    created = ok(api.post("/api/s3-configs", json=body), 201)
    assert SECRET not in str(created)
    return created


def backup_to_s3(
    api: httpx.Client, database_id: str, config_id: str, *, store_locally: bool = True
) -> dict[str, Any]:
    """A completed backup of `database_id` with an S3 copy through configuration `config_id`."""
    body = {
        "databaseId": database_id,
        "uploadToS3": True,
        "storeLocally": store_locally,
        "s3ConfigId": config_id,
    }
    backup = ok(api.post("/api/backups", json=body), 202)
    backup = wait_done(api, f"/api/backups/{backup['id']}")
    assert backup["status"] == "completed", backup.get("errorMessage")
    return backup


def pg_db(api: httpx.Client, db: Any) -> dict[str, Any]:
    return add_database(api, db, user=PG_USER, password=PG_PASSWORD)


class ProxyThread:
    """A :class:`TcpProxy` served by its own event loop thread."""

    def __init__(self, endpoint: str) -> None:
        host, port = endpoint.removeprefix("http://").split(":")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = TcpProxy(host, int(port))
        self._run(self.proxy.up())

    def _run(self, coro: Any) -> None:
        fut: Future[None] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        fut.result(10)

    def down(self) -> None:
        self._run(self.proxy.down())

    def down_after(self, upstream_bytes: int) -> None:
        self.loop.call_soon_threadsafe(self.proxy.down_after, upstream_bytes)

    def up(self) -> None:
        self._run(self.proxy.up())

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()  # its self-pipe is a socket pair: unclosed, a ResourceWarning


def test_local_and_s3_from_one_dump_then_restore_from_s3(
    api: httpx.Client, stack: Stack, endpoint: str
) -> None:
    bucket = make_bucket(endpoint)
    config = add_s3_config(api, endpoint, bucket)
    with (
        NatsTap(stack.nats_url) as tap,
        scratch_pg("lbs3_src") as src,
        scratch_pg("lbs3_dst") as dst,
    ):
        build_rich_pg(src.name)
        source, target = pg_db(api, src), pg_db(api, dst)
        backup = ok(
            api.post(
                "/api/backups",
                json={"databaseId": source["id"], "uploadToS3": True, "s3ConfigId": config["id"]},
            ),
            202,
        )
        assert backup["s3Status"] == "pending" and backup["localStatus"] == "pending"
        backup = wait_done(api, f"/api/backups/{backup['id']}")
        assert backup["status"] == "completed", backup.get("errorMessage")
        assert backup["localStatus"] == "completed"
        assert backup["s3Status"] == "completed", backup.get("s3Error")
        assert backup["s3Uploaded"] is True and backup["s3UploadAt"]
        assert backup["s3Bucket"] == bucket
        started = backup["startedAt"]
        expected_key = (
            f"lifeboat/{source['name']}/{started[:4]}/{started[5:7]}/{backup['fileName']}"
        )
        assert backup["s3Key"] == expected_key
        objects = s3_objects(endpoint, bucket)
        assert set(objects) == {expected_key, f"{expected_key}.manifest.json"}
        meta = objects[expected_key]
        assert meta["database"] == source["name"] and meta["backup-type"] == "manual"
        assert "started-at" in meta
        assert all(SECRET not in v for m in objects.values() for v in m.values())

        # The local copy goes away: download and restore come from S3.
        local = Path(stack.data_dir, "backups", backup["localPath"])
        local.unlink()
        downloaded = api.get(f"/api/backups/{backup['id']}/download")
        assert downloaded.status_code == 200
        assert hashlib.sha256(downloaded.content).hexdigest() == backup["checksum"]
        restore = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": target["id"],
                    "backupId": backup["id"],
                    "source": "s3",
                    "options": {"dropAndRecreate": True},
                },
            ),
            202,
        )
        assert restore["sourceType"] == "s3" and restore["s3Key"] == expected_key
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(src.name)
        logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
        assert any("checksum" in line["message"].lower() for line in logs)

        # A local-only backup uploaded afterwards.
        later = ok(api.post("/api/backups", json={"databaseId": source["id"]}), 202)
        later = wait_done(api, f"/api/backups/{later['id']}")
        assert later["status"] == "completed" and later["s3Status"] is None
        ok(api.post(f"/api/backups/{later['id']}/upload-to-s3", json={}), 202)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            later = ok(api.get(f"/api/backups/{later['id']}"))
            if later["s3Status"] != "pending":
                break
            time.sleep(0.2)
        assert later["s3Status"] == "completed", later.get("s3Error")
        assert f"{later['s3Key']}.manifest.json" in s3_objects(endpoint, bucket)

        for path in ("/api/s3-configs", "/api/backups", f"/api/backups/{backup['id']}"):
            assert SECRET not in api.get(path).text
    assert not [p for p in tap.payloads if SECRET.encode() in p]
    for log_file in (Path(stack.data_dir).parent / "logs").iterdir():
        assert SECRET not in log_file.read_text(errors="replace"), log_file
    for db_file in Path(stack.data_dir, "db").iterdir():
        assert SECRET.encode() not in db_file.read_bytes(), db_file
    for stored in Path(stack.data_dir, "nats").rglob("*"):
        if stored.is_file():
            assert SECRET.encode() not in stored.read_bytes(), stored


def multipart_uploads(endpoint: str, bucket: str) -> list[tuple[str, str]]:
    async def listing() -> list[tuple[str, str]]:
        async with S3Store(_settings(endpoint, bucket)) as store:
            return await store.list_multipart_uploads()

    return asyncio.run(listing())


def fill_incompressible(dbname: str, mib: int) -> None:
    """`mib` MiB of random bytes in table ``filler``: the dump stays about as large compressed."""
    with pg_connect(dbname) as conn:
        conn.execute("CREATE TABLE filler (id int PRIMARY KEY, data bytea NOT NULL)")
        conn.execute(
            "INSERT INTO filler SELECT g, decode(string_agg(lpad(to_hex((random() * 4294967295)"
            "::bigint), 8, '0'), ''), 'hex') FROM generate_series(1, %s) g,"
            " generate_series(1, 262144) GROUP BY g",
            (mib,),
        )


def test_s3_outage_in_the_middle_of_an_upload(
    api: httpx.Client, stack: Stack, endpoint: str
) -> None:
    """S3 goes away after the first part: retried, then a clearly failed S3 copy; the local
    copy is complete; retrying the copy once S3 is back works and clears the orphan parts."""
    bucket = make_bucket(endpoint)
    proxy = ProxyThread(endpoint)
    try:
        # One 5 MiB part at a time; the proxy lets 8 MiB through, so part 1 lands and part 2
        # is cut half-way.
        config = add_s3_config(api, proxy.proxy.url, bucket, concurrency=1)
        with scratch_pg("lbs3_out") as src:
            build_rich_pg(src.name)
            fill_incompressible(src.name, 24)
            source = pg_db(api, src)
            proxy.down_after(8 * 1024 * 1024)
            backup = ok(
                api.post(
                    "/api/backups",
                    json={
                        "databaseId": source["id"],
                        "uploadToS3": True,
                        "s3ConfigId": config["id"],
                    },
                ),
                202,
            )
            backup = wait_done(api, f"/api/backups/{backup['id']}", timeout=180)
            assert backup["status"] == "completed", backup.get("errorMessage")
            assert backup["localStatus"] == "completed"
            local = Path(stack.data_dir, "backups", backup["localPath"])
            assert local.is_file() and local.stat().st_size == backup["fileSizeBytes"] > 20e6
            assert hashlib.sha256(local.read_bytes()).hexdigest() == backup["checksum"]
            assert backup["s3Status"] == "failed" and backup["s3Uploaded"] is False
            assert "attempts" in backup["s3Error"] and "part" in backup["s3Error"], backup
            logs = ok(api.get(f"/api/backups/{backup['id']}/logs"))
            messages = [line["message"] for line in logs]
            assert any("S3 copy failed" in m for m in messages), messages
            # The abort could not reach S3 either: the upload with its first part is left...
            orphans = multipart_uploads(endpoint, bucket)
            assert [key for key, _ in orphans] == [backup["s3Key"]]
            assert not s3_objects(endpoint, bucket)

            # ...until the copy is retried with S3 back: it lands and the orphan is aborted.
            proxy.up()
            ok(api.post(f"/api/backups/{backup['id']}/upload-to-s3", json={}), 202)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                backup = ok(api.get(f"/api/backups/{backup['id']}"))
                if backup["s3Status"] not in ("pending", "failed"):
                    break
                time.sleep(0.2)
            assert backup["s3Status"] == "completed", backup.get("s3Error")
            assert multipart_uploads(endpoint, bucket) == []
            assert set(s3_objects(endpoint, bucket)) == {
                backup["s3Key"],
                f"{backup['s3Key']}.manifest.json",
            }
            logs = ok(api.get(f"/api/backups/{backup['id']}/logs"))
            assert any("earlier unfinished upload" in line["message"] for line in logs)
    finally:
        proxy.close()
    assert SECRET not in str(backup)


def test_a_pipeline_that_dies_mid_upload_leaves_no_parts(
    api: httpx.Client, stack: Stack, endpoint: str
) -> None:
    """The dump pipeline killed while its stream is being uploaded: the backup fails, the
    multipart upload is aborted (no orphan parts), and neither copy is left anywhere."""
    bucket = make_bucket(endpoint)
    proxy = ProxyThread(endpoint)
    proxy.proxy.upstream_delay = 0.02  # ~3 MB/s: the dump waits on S3 (bounded tee)
    try:
        config = add_s3_config(api, proxy.proxy.url, bucket, concurrency=1)
        with scratch_pg("lbs3_die") as src:
            fill_incompressible(src.name, 24)
            source = pg_db(api, src)
            backup = ok(
                api.post(
                    "/api/backups",
                    json={
                        "databaseId": source["id"],
                        "uploadToS3": True,
                        "s3ConfigId": config["id"],
                    },
                ),
                202,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not multipart_uploads(endpoint, bucket):
                time.sleep(0.1)
            assert multipart_uploads(endpoint, bucket), "the upload never started"
            # pg_dump may already be done, its tail held by zstd (multithreaded, it reads
            # ahead): then the compressor is what dies, the pipeline fails the same way.
            killed = any(
                subprocess.run(["pkill", "-KILL", "-f", pattern], check=False).returncode == 0
                for pattern in (f"pg_dump.*{src.name}", "zstd -q -T0 -[0-9]+ -c$")
            )
            assert killed, "neither pg_dump nor zstd of the backup was running"
            backup = wait_done(api, f"/api/backups/{backup['id']}", timeout=120)
    finally:
        proxy.close()
    assert backup["status"] == "failed", backup
    assert any(tool in (backup["errorMessage"] or "") for tool in ("pg_dump", "zstd")), backup
    assert backup["localPath"] is None
    assert multipart_uploads(endpoint, bucket) == []
    assert s3_objects(endpoint, bucket) == {}
    # File names end with the execution id's first 8 characters (lifeboat.core.naming).
    left = list(Path(stack.data_dir, "backups").rglob(f"*_{backup['id'][:8]}.*"))
    assert left == [], left


def test_import_into_a_fresh_install_and_restore(
    api: httpx.Client, stack: Stack, endpoint: str, tmp_path: Path
) -> None:
    bucket = make_bucket(endpoint)
    config = add_s3_config(api, endpoint, bucket)
    with scratch_pg("lbs3_imp") as src, scratch_pg("lbs3_imp_dst") as dst:
        build_rich_pg(src.name)
        source = pg_db(api, src)
        backup = backup_to_s3(api, source["id"], config["id"], store_locally=False)
        assert backup["localPath"] is None and backup["localStatus"] is None
        assert backup["s3Status"] == "completed"

        fresh = Stack(
            tmp_path / "fresh",
            api_port=free_port(),
            nats_port=free_port(),
            log_dir=tmp_path / "logs",
            extra_env={
                "MIN_FREE_DISK_BYTES": "1",
                "ADMIN_EMAIL": ADMIN_EMAIL,
                "ADMIN_PASSWORD": ADMIN_PASSWORD,
            },
            services=("api", "executor"),
        )
        with fresh:
            token = sign_in_and_make_token(fresh.api_url)
            headers = {"Authorization": f"Bearer {token}"}
            api2 = httpx.Client(base_url=fresh.api_url, timeout=30, headers=headers)
            cfg2 = add_s3_config(api2, endpoint, bucket)
            result = ok(api2.post(f"/api/s3-configs/{cfg2['id']}/import"))
            assert result["manifestsFound"] == 1 and result["imported"] == 1, result
            assert result["createdDatabases"] == [source["name"]]
            again = ok(api2.post(f"/api/s3-configs/{cfg2['id']}/import"))
            assert again["imported"] == 0 and again["alreadyKnown"] == 1
            imported = ok(api2.get(f"/api/backups/{backup['id']}"))
            assert imported["checksum"] == backup["checksum"]
            assert imported["importedAt"] and imported["s3Key"] == backup["s3Key"]
            target = pg_db(api2, dst)
            restore = ok(
                api2.post(
                    "/api/restores",
                    json={
                        "databaseId": target["id"],
                        "backupId": backup["id"],
                        "options": {"dropAndRecreate": True},
                    },
                ),
                202,
            )
            restore = wait_done(api2, f"/api/restores/{restore['id']}")
            api2.close()
            assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(src.name)


def test_import_local_is_idempotent(api: httpx.Client, stack: Stack) -> None:
    first = ok(api.post("/api/system/import-local"))
    assert first["imported"] == 0  # everything on disk was recorded by this install
    assert first["manifestsFound"] == first["alreadyKnown"] + first["merged"] + len(
        first["problems"]
    )


def test_retention_removes_the_s3_copy_too(api: httpx.Client, stack: Stack, endpoint: str) -> None:
    bucket = make_bucket(endpoint)
    config = add_s3_config(api, endpoint, bucket)
    policy = ok(
        api.post(
            "/api/retention-policies",
            json={"name": f"tiny-{uuid.uuid4().hex[:6]}", "mode": "size", "maxTotalBytes": 1},
        ),
        201,
    )
    with scratch_pg("lbs3_ret") as src:
        build_rich_pg(src.name)
        source = pg_db(api, src)
        request = {
            "databaseId": source["id"],
            "uploadToS3": True,
            "s3ConfigId": config["id"],
            "retentionPolicyId": policy["id"],
        }
        first = wait_done(
            api, f"/api/backups/{ok(api.post('/api/backups', json=request), 202)['id']}"
        )
        assert first["s3Status"] == "completed", first.get("s3Error")
        assert set(s3_objects(endpoint, bucket)) == {
            first["s3Key"],
            f"{first['s3Key']}.manifest.json",
        }
        second = ok(api.post("/api/backups", json=request), 202)
        second = wait_done(api, f"/api/backups/{second['id']}")
        assert second["status"] == "completed" and second["s3Status"] == "completed"
        # The policy keeps only the newest: the first goes from the disk and from the bucket.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if api.get(f"/api/backups/{first['id']}").status_code == 404:
                break
            time.sleep(0.2)
        assert api.get(f"/api/backups/{first['id']}").status_code == 404
        assert set(s3_objects(endpoint, bucket)) == {
            second["s3Key"],
            f"{second['s3Key']}.manifest.json",
        }
        local = Path(stack.data_dir, "backups", first["localPath"])
        assert not local.exists() and not Path(f"{local}.manifest.json").exists()
        events = ok(api.get("/api/audit", params={"action": "backup.retention_delete"}))
        mine = [e for e in events if e["target"] == first["id"]]
        assert len(mine) == 1, events
        assert mine[0]["details"]["s3Object"] == f"s3://{bucket}/{first['s3Key']}"
        assert mine[0]["details"]["localPath"] == first["localPath"]
