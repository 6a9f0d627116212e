"""Configuration export and import between two installs with different ENCRYPTION_KEYs.

Install A (real API, real nats-server, a real in-process executor, real PostgreSQL, MariaDB and
a moto S3 endpoint) gets databases whose users have passwords, an S3 configuration, a retention
policy and schedules; its configuration is exported, and imported into fresh installs B and C.
The imported databases connect through the executor, the S3 keys open, references survive, the
file never holds a secret in clear, and the import refuses what it must.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from psycopg import sql

from lifeboat.executor.context import Context
from lifeboat.executor.settings import Settings as ExecutorSettings
from lifeboat.executor.worker import Executor
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire.bus import Bus
from tests.support import dbs
from tests.support.api import (
    TEST_SEAL_KEY,
    api_settings,
    data_of,
    error_of,
    eventually,
    serve_api,
)
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, run_moto

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PG_USER = "lbt_cfgio"
PG_PASSWORD = "PgCfgIo-7f3a:x'\"#secret"
MY_USER = "lbt_cfgio"
MY_PASSWORD = "MyCfgIo-9c1e#q\"u'o;secret"
PASSPHRASE = "correct horse battery staple"
OTHER_KEY = "another-encryption-key-abcdef0123456789abcdef0123"
THIRD_KEY = "third-encryption-key-abcdef0123456789abcdef012345"
SECRETS = (PG_PASSWORD, MY_PASSWORD, TEST_ACCESS_KEY, TEST_SECRET_KEY)


@pytest.fixture(scope="module")
def scratch() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database and role, and a MariaDB database and user, all with passwords."""
    pg_db = dbs.unique_name("lbt_cfgio")
    my_db = dbs.unique_name("lbt_cfgio")
    with dbs.pg_admin() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(PG_USER)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(PG_USER), sql.Literal(PG_PASSWORD)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(pg_db), sql.Identifier(PG_USER)
            )
        )
    my = dbs.my_connect()
    with my.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{MY_USER}'@'%'")
        cur.execute(f"CREATE USER '{MY_USER}'@'%%' IDENTIFIED BY %s", (MY_PASSWORD,))
        cur.execute(f"CREATE DATABASE `{my_db}`")
        cur.execute(f"GRANT ALL PRIVILEGES ON `{my_db}`.* TO '{MY_USER}'@'%'")
    try:
        yield pg_db, my_db
    finally:
        dbs.drop_pg(pg_db)
        with dbs.pg_admin() as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(PG_USER)))
        with my.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{my_db}`")
            cur.execute(f"DROP USER IF EXISTS '{MY_USER}'@'%'")
        my.close()


@pytest.fixture(scope="module")
async def executor(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[None]:
    """A real executor on queue ``default`` (answers connection probes)."""
    tmp = tmp_path_factory.mktemp("cfgio-executor")
    (tmp / "private").mkdir()
    settings = ExecutorSettings.from_env(
        {
            "NATS_URL": "unused",
            "EXECUTOR_QUEUE": "default",
            "DATA_DIR": str(tmp / "data"),
            "BACKUP_STORAGE_PATH": str(tmp / "backups"),
            "EXECUTOR_SEAL_KEY": TEST_SEAL_KEY,
            "EXECUTOR_ID": "cfgio-executor",
            "EXECUTOR_TMP_DIR": str(tmp / "private"),
            "EXECUTOR_SHUTDOWN_GRACE": "2",
        }
    )
    bus = await Bus.connect(nats_url, name="cfgio-executor")
    await bus.ensure_streams()
    stop = asyncio.Event()
    worker = Executor(Context.create(settings, os.environ), bus)
    runner = asyncio.ensure_future(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(runner, 30)
        await bus.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with run_moto() as endpoint:
        yield endpoint


async def make_bucket(endpoint: str, name: str) -> None:
    settings = S3Settings(
        bucket=name,
        access_key_id=TEST_ACCESS_KEY,
        secret_access_key=TEST_SECRET_KEY,
        endpoint_url=endpoint,
        addressing_style="path",
    )
    async with S3Store(settings) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=name)

        await store.call("CreateBucket", None, create)


@pytest.fixture(scope="module")
async def exported(
    tmp_path_factory: pytest.TempPathFactory,
    nats_url: str,
    executor: None,
    scratch: tuple[str, str],
    s3_endpoint: str,
) -> dict[str, Any]:
    """Install A configured and exported (secrets included and omitted), then stopped."""
    del executor
    pg_db, my_db = scratch
    async with serve_api(api_settings(tmp_path_factory.mktemp("install-a"), nats_url)) as api:
        c = api.client

        async def probe_answered() -> bool:  # the executor may still be subscribing
            reply = await c.post(
                "/api/databases",
                json={
                    "name": "probe",
                    "type": "postgresql",
                    "host": dbs.PG_HOST,
                    "port": dbs.PG_PORT,
                    "databaseName": pg_db,
                    "username": PG_USER,
                    "password": PG_PASSWORD,
                },
            )
            return reply.status_code == 201

        await eventually(probe_answered, timeout=30, interval=0.5)
        probe_db = data_of(await c.get("/api/databases"))[0]
        data_of(await c.delete(f"/api/databases/{probe_db['id']}"))
        data_of(await c.put("/api/system/settings", json={"allow_private_endpoints": True}))
        pg = data_of(
            await c.post(
                "/api/databases",
                json={
                    "name": "orders-pg",
                    "type": "postgresql",
                    "host": dbs.PG_HOST,
                    "port": dbs.PG_PORT,
                    "databaseName": pg_db,
                    "username": PG_USER,
                    "password": PG_PASSWORD,
                },
            ),
            201,
        )
        my = data_of(
            await c.post(
                "/api/databases",
                json={
                    "name": "shop-maria",
                    "type": "mysql",
                    "host": dbs.MY_HOST,
                    "port": dbs.MY_PORT,
                    "databaseName": my_db,
                    "username": MY_USER,
                    "password": MY_PASSWORD,
                },
            ),
            201,
        )
        bucket = f"cfgio-{uuid.uuid4().hex[:8]}"
        await make_bucket(s3_endpoint, bucket)
        s3 = data_of(
            await c.post(
                "/api/s3-configs",
                json={
                    "name": "offsite",
                    "bucket": bucket,
                    "accessKeyId": TEST_ACCESS_KEY,
                    "secretAccessKey": TEST_SECRET_KEY,
                    "endpoint": s3_endpoint,
                    "addressingStyle": "path",
                },
            ),
            201,
        )
        policy = data_of(
            await c.post(
                "/api/retention-policies",
                json={"name": "gfs", "keepDaily": 10, "keepWeekly": 5, "timezone": "Europe/Paris"},
            ),
            201,
        )
        data_of(
            await c.post(
                "/api/schedules",
                json={
                    "databaseConfigId": pg["id"],
                    "scheduleType": "custom",
                    "cronExpression": "15 2 * * *",
                    "timezone": "Europe/Paris",
                    "retentionPolicyId": policy["id"],
                    "s3UploadEnabled": True,
                    "s3ConfigId": s3["id"],
                },
            ),
            201,
        )
        data_of(
            await c.post(
                "/api/schedules",
                json={"databaseConfigId": my["id"], "scheduleType": "hourly", "enabled": False},
            ),
            201,
        )
        error_of(
            await c.post("/api/system/config/export", json={"secrets": "include"}),
            400,
            "VALIDATION_ERROR",
        )
        error_of(
            await c.post(
                "/api/system/config/export", json={"secrets": "include", "passphrase": "short"}
            ),
            400,
            "VALIDATION_ERROR",
        )
        full_response = await c.post(
            "/api/system/config/export", json={"secrets": "include", "passphrase": PASSPHRASE}
        )
        omitted_response = await c.post("/api/system/config/export", json={"secrets": "omit"})
        full = data_of(full_response)
        omitted = data_of(omitted_response)
        audit = json.dumps(data_of(await c.get("/api/audit", params={"limit": 200})))
    for text in (full_response.text, omitted_response.text, audit):
        for secret in (*SECRETS, PASSPHRASE):
            assert secret not in text
    return {"full": full, "omitted": omitted}


def test_document_format(exported: dict[str, Any]) -> None:
    full = exported["full"]
    assert full["format"] == "lifeboat.config" and full["version"] == 1
    assert full["secrets"] == "included"
    assert full["encryption"]["kdf"] == "scrypt"
    assert {d["name"] for d in full["databases"]} == {"orders-pg", "shop-maria"}
    assert all(d["password"] for d in full["databases"])
    assert full["s3Configs"][0]["accessKeyId"] and full["s3Configs"][0]["secretAccessKey"]
    assert full["settings"]["allow_private_endpoints"] is True
    assert not any(k.startswith("internal.") for k in full["settings"])
    omitted = exported["omitted"]
    assert omitted["secrets"] == "omitted" and omitted["encryption"] is None
    assert all(d["password"] is None and d["hasPassword"] for d in omitted["databases"])
    assert omitted["s3Configs"][0]["accessKeyId"] is None


async def test_import_into_a_fresh_install(
    exported: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, nats_url: str
) -> None:
    doc = exported["full"]
    settings = api_settings(
        tmp_path_factory.mktemp("install-b"), nats_url, ENCRYPTION_KEY=OTHER_KEY
    )
    async with serve_api(settings) as api:
        c = api.client
        url = "/api/system/config/import"
        wrong = error_of(
            await c.post(url, json={"document": doc, "passphrase": "not the passphrase"}),
            400,
            "VALIDATION_ERROR",
        )
        assert "passphrase" in wrong["message"]
        error_of(await c.post(url, json={"document": doc}), 400, "VALIDATION_ERROR")
        future = {**doc, "version": 2}
        assert (
            "version 2"
            in error_of(
                await c.post(url, json={"document": future, "passphrase": PASSPHRASE}),
                400,
                "VALIDATION_ERROR",
            )["message"]
        )
        dangling = copy.deepcopy(doc)
        dangling["schedules"][0]["retentionPolicy"] = "no-such-policy"
        problem = error_of(
            await c.post(url, json={"document": dangling, "passphrase": PASSPHRASE}),
            400,
            "VALIDATION_ERROR",
        )
        assert "no-such-policy" in problem["message"]
        tampered = copy.deepcopy(doc)
        tampered["databases"][0]["password"], tampered["databases"][1]["password"] = (
            tampered["databases"][1]["password"],
            tampered["databases"][0]["password"],
        )
        error_of(
            await c.post(url, json={"document": tampered, "passphrase": PASSPHRASE}),
            400,
            "VALIDATION_ERROR",
        )
        assert data_of(await c.get("/api/databases")) == []

        dry = data_of(
            await c.post(url, json={"document": doc, "passphrase": PASSPHRASE, "dryRun": True})
        )
        assert dry["dryRun"] is True and dry["created"] == 6  # 2 dbs, 1 s3, 1 policy, 2 schedules
        assert data_of(await c.get("/api/databases")) == []
        assert data_of(await c.get("/api/schedules")) == []

        done = data_of(await c.post(url, json={"document": doc, "passphrase": PASSPHRASE}))
        assert done["dryRun"] is False and done["created"] == 6 and done["skipped"] == 0
        databases = {d["name"]: d for d in data_of(await c.get("/api/databases"))}
        assert set(databases) == {"orders-pg", "shop-maria"}
        for db in databases.values():
            assert db["hasPassword"] and db["enabled"]
            probe = data_of(await c.post(f"/api/databases/{db['id']}/test-connection"))
            assert probe["connected"] is True, probe
        s3 = data_of(await c.get("/api/s3-configs"))
        assert len(s3) == 1 and s3[0]["isDefault"] and s3[0]["hasSecretAccessKey"]
        tested = data_of(await c.post(f"/api/s3-configs/{s3[0]['id']}/test"))
        assert tested["ok"] is True, tested
        policies = data_of(await c.get("/api/retention-policies"))
        assert [(p["name"], p["keepDaily"], p["timezone"]) for p in policies] == [
            ("gfs", 10, "Europe/Paris")
        ]
        schedules = {s["databaseName"]: s for s in data_of(await c.get("/api/schedules"))}
        pg_schedule = schedules["orders-pg"]
        assert pg_schedule["cronExpression"] == "15 2 * * *"
        assert pg_schedule["timezone"] == "Europe/Paris"
        assert pg_schedule["retentionPolicyId"] == policies[0]["id"]
        assert pg_schedule["s3ConfigId"] == s3[0]["id"] and pg_schedule["s3UploadEnabled"]
        assert pg_schedule["databaseConfigId"] == databases["orders-pg"]["id"]
        assert schedules["shop-maria"]["enabled"] is False

        again = error_of(
            await c.post(url, json={"document": doc, "passphrase": PASSPHRASE}), 409, "CONFLICT"
        )
        assert "orders-pg" in json.dumps(again)
        assert len(data_of(await c.get("/api/schedules"))) == 2  # nothing half-imported
        kept = data_of(
            await c.post(
                url, json={"document": doc, "passphrase": PASSPHRASE, "onConflict": "skip"}
            )
        )
        assert kept["created"] == 0 and kept["skipped"] == 6
        assert len(data_of(await c.get("/api/schedules"))) == 2


async def test_import_without_secrets(
    exported: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, nats_url: str
) -> None:
    settings = api_settings(
        tmp_path_factory.mktemp("install-c"), nats_url, ENCRYPTION_KEY=THIRD_KEY
    )
    async with serve_api(settings) as api:
        c = api.client
        done = data_of(
            await c.post("/api/system/config/import", json={"document": exported["omitted"]})
        )
        needing = {i["name"] for i in done["items"] if i["needsSecret"]}
        assert needing == {"orders-pg", "shop-maria", "offsite"}
        databases = {d["name"]: d for d in data_of(await c.get("/api/databases"))}
        pg = databases["orders-pg"]
        assert pg["hasPassword"] is False and pg["enabled"] is False
        s3 = data_of(await c.get("/api/s3-configs"))[0]
        assert s3["hasAccessKeyId"] is False and s3["enabled"] is False
        s3_url = f"/api/s3-configs/{s3['id']}"
        missing = error_of(await c.put(s3_url, json={"enabled": True}), 400, "VALIDATION_ERROR")
        assert "access_key_id" in json.dumps(missing)
        data_of(
            await c.put(
                s3_url,
                json={
                    "accessKeyId": TEST_ACCESS_KEY,
                    "secretAccessKey": TEST_SECRET_KEY,
                    "enabled": True,
                },
            )
        )
        assert data_of(await c.post(f"{s3_url}/test"))["ok"] is True
        # Giving the password back makes the configuration usable.
        data_of(
            await c.put(
                f"/api/databases/{pg['id']}", json={"password": PG_PASSWORD, "enabled": True}
            )
        )
        probe = data_of(await c.post(f"/api/databases/{pg['id']}/test-connection"))
        assert probe["connected"] is True, probe
