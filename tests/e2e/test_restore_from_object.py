"""Restoring straight from an object of a configured bucket (no backup record): the listing of
the bucket, a verified restore by key, a tampered object refused before the target is touched,
and an object of unknown origin that only an admin may restore, unverified. Real processes
(scripts.devstack), real PostgreSQL, moto's S3 HTTP server.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from scripts.devstack import Stack
from tests.e2e.conftest import sign_in_and_make_token
from tests.e2e.test_s3_roundtrip import (
    ACCESS,
    SECRET,
    add_s3_config,
    backup_to_s3,
    make_bucket,
    pg_db,
)
from tests.e2e.test_system_roundtrip import ok, wait_done
from tests.support.dbs import PG_HOST, PG_PASSWORD, PG_PORT, PG_USER, pg_connect, scratch_pg
from tests.support.richdb import build_rich_pg, pg_fingerprint
from tests.support.s3 import run_moto

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass(frozen=True)
class World:
    """One bucket and configuration, and a rich database backed up into it (S3 only)."""

    endpoint: str
    bucket: str
    config_id: str
    source_db: str
    key: str


@pytest.fixture(scope="module")
def world(api: httpx.Client) -> Iterator[World]:
    with run_moto() as endpoint, scratch_pg("lbobj_src") as src:
        bucket = make_bucket(endpoint)
        config = add_s3_config(api, endpoint, bucket)
        build_rich_pg(src.name)
        source = pg_db(api, src)
        backup = backup_to_s3(api, source["id"], config["id"], store_locally=False)
        yield World(endpoint, bucket, config["id"], src.name, backup["s3Key"])


def s3(world: World, op: str, key: str, data: bytes | None = None) -> bytes:
    """``put`` `data` under `key`, or ``get`` its bytes, straight in the bucket."""
    settings = S3Settings(
        bucket=world.bucket,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        endpoint_url=world.endpoint,
        addressing_style="path",
    )

    async def run() -> bytes:
        async with S3Store(settings) as store:
            if op == "get":
                return await store.get_bytes(key)
            assert data is not None
            await store.put_bytes(key, data)
            return data

    return asyncio.run(run())


def error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = resp.json()
    assert resp.status_code == status, body
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]


def restore_object(
    api: httpx.Client, database_id: str, world: World, key: str, **extra: Any
) -> httpx.Response:
    return api.post(
        "/api/restores",
        json={
            "databaseId": database_id,
            "s3Object": {"s3ConfigId": world.config_id, "key": key},
            "options": {"dropAndRecreate": True},
            **extra,
        },
    )


def test_listing_flags_manifests_and_pages(api: httpx.Client, stack: Stack, world: World) -> None:
    listed = ok(api.get(f"/api/s3-configs/{world.config_id}/objects"))
    assert listed["bucket"] == world.bucket and listed["prefix"] == "lifeboat/"
    assert [o["key"] for o in listed["objects"]] == [world.key]  # manifests are not listed
    assert listed["objects"][0]["hasManifest"] is True and listed["objects"][0]["size"] > 0
    assert listed["objects"][0]["lastModified"] and listed["truncated"] is False

    # b has no manifest; a's manifest sorts after keys that fill the first S3 page.
    for key in ("p/a.dump.zst", "p/a.dump.zst-1", "p/a.dump.zst-2", "p/a.dump.zst-3"):
        s3(world, "put", key, b"x")
    s3(world, "put", "p/a.dump.zst.manifest.json", b"{}")
    s3(world, "put", "p/b.sql.gz", b"y")
    viewer = sign_in_and_make_token(stack.api_url, role="viewer")
    pages: list[dict[str, Any]] = []
    start: str | None = None
    with httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {viewer}"}
    ) as as_viewer:
        while True:
            params = {"prefix": "p/", "limit": "1", **({"startAfter": start} if start else {})}
            page = ok(as_viewer.get(f"/api/s3-configs/{world.config_id}/objects", params=params))
            pages.append(page)
            if not page["truncated"]:
                break
            start = page["nextStartAfter"]
    found = [(o["key"], o["hasManifest"]) for p in pages for o in p["objects"]]
    assert found == [
        ("p/a.dump.zst", True),
        ("p/a.dump.zst-1", False),
        ("p/a.dump.zst-2", False),
        ("p/a.dump.zst-3", False),
        ("p/b.sql.gz", False),
    ]
    assert (
        len(
            ok(api.get(f"/api/s3-configs/{world.config_id}/objects", params={"prefix": "p/"}))[
                "objects"
            ]
        )
        == 5
    )

    for bad in ("../", "p/../", "/p", "p//", "p\\x"):
        err = error(
            api.get(f"/api/s3-configs/{world.config_id}/objects", params={"prefix": bad}),
            400,
            "VALIDATION_ERROR",
        )
        assert err["details"][0]["field"] == "prefix"
    error(
        api.get(f"/api/s3-configs/{world.config_id}/objects", params={"limit": "1001"}),
        400,
        "VALIDATION_ERROR",
    )
    error(api.get("/api/s3-configs/no-such-config/objects"), 404, "NOT_FOUND")


def test_restore_by_key_matches_the_source(api: httpx.Client, world: World) -> None:
    with scratch_pg("lbobj_dst") as dst:
        target = pg_db(api, dst)
        restore = ok(restore_object(api, target["id"], world, world.key), 202)
        assert restore["sourceType"] == "s3" and restore["backupExecutionId"] is None
        assert restore["s3Bucket"] == world.bucket and restore["s3Key"] == world.key
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(world.source_db)
    logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
    assert any("checksum and size match the manifest" in line["message"] for line in logs)
    assert not any(line["logLevel"] == "warn" for line in logs)


def test_a_tampered_object_is_refused_before_the_target_is_touched(
    api: httpx.Client, world: World
) -> None:
    artifact = s3(world, "get", world.key)
    manifest = s3(world, "get", f"{world.key}.manifest.json")
    middle = len(artifact) // 2
    flipped = artifact[:middle] + bytes([artifact[middle] ^ 0xFF]) + artifact[middle + 1 :]
    same_size, shorter = "lifeboat/tampered/same.dump.zst", "lifeboat/tampered/short.dump.zst"
    for key, data in ((same_size, flipped), (shorter, artifact[:-1])):
        s3(world, "put", key, data)
        s3(world, "put", f"{key}.manifest.json", manifest)  # the original's manifest
    with scratch_pg("lbobj_tmp") as dst:
        with pg_connect(dst.name) as conn:
            conn.execute("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)")
        before = pg_fingerprint(dst.name)
        target = pg_db(api, dst)
        err = error(restore_object(api, target["id"], world, shorter), 400, "VALIDATION_ERROR")
        assert "manifest says" in err["message"]
        restore = ok(restore_object(api, target["id"], world, same_size), 202)
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "failed"
        assert "checksum mismatch" in restore["errorMessage"]
        assert pg_fingerprint(dst.name) == before  # dropAndRecreate never ran


def test_an_object_without_manifest_needs_an_admin(
    api: httpx.Client, stack: Stack, world: World
) -> None:
    dump = subprocess.run(
        ["pg_dump", "-Fc", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, world.source_db],
        env={**os.environ, "PGPASSWORD": PG_PASSWORD},
        capture_output=True,
        check=True,
    ).stdout
    packed = subprocess.run(["zstd", "-q", "-c"], input=dump, capture_output=True, check=True)
    key = "elsewhere/hand-made.dump.zst"
    s3(world, "put", key, packed.stdout)
    s3(world, "put", "elsewhere/no-suffix", packed.stdout)
    listed = ok(
        api.get(f"/api/s3-configs/{world.config_id}/objects", params={"prefix": "elsewhere/"})
    )
    assert {o["key"]: o["hasManifest"] for o in listed["objects"]} == {
        key: False,
        "elsewhere/no-suffix": False,
    }
    operator = sign_in_and_make_token(stack.api_url, role="operator")
    with scratch_pg("lbobj_unv") as dst:
        target = pg_db(api, dst)
        err = error(restore_object(api, target["id"], world, key), 400, "VALIDATION_ERROR")
        assert "no manifest" in err["message"] and "allowUnverified" in err["message"]
        with httpx.Client(
            base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
        ) as as_operator:
            denied = restore_object(as_operator, target["id"], world, key, allowUnverified=True)
            error(denied, 403, "FORBIDDEN")
        err = error(
            restore_object(api, target["id"], world, "elsewhere/no-suffix", allowUnverified=True),
            400,
            "VALIDATION_ERROR",
        )
        assert err["details"][0]["field"] == "s3Object.engine"
        restore = ok(restore_object(api, target["id"], world, key, allowUnverified=True), 202)
        assert restore["backupExecutionId"] is None and restore["s3Key"] == key
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(world.source_db)
    warnings = ok(api.get(f"/api/restores/{restore['id']}/logs", params={"level": "warn"}))
    assert any("No checksum was verified" in line["message"] for line in warnings)
    logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
    assert not any("Checksum verified" in line["message"] for line in logs)
    assert any("decompresses to" in line["message"] for line in logs)


def test_bad_object_requests_get_an_error_envelope(api: httpx.Client, world: World) -> None:
    with scratch_pg("lbobj_bad") as dst:
        target = pg_db(api, dst)
        for key in (
            "lifeboat/../etc/passwd",
            "./x.dump.zst",
            "/lifeboat/x.dump.zst",
            "a//b.dump.zst",
            "dir/",
            f"{world.key}.manifest.json",
            "x\x00.dump.zst",
        ):
            err = error(restore_object(api, target["id"], world, key), 400, "VALIDATION_ERROR")
            assert err["details"][0]["field"] == "s3Object.key", key
        error(restore_object(api, target["id"], world, "lifeboat/nope.dump.zst"), 404, "NOT_FOUND")
        unknown = api.post(
            "/api/restores",
            json={
                "databaseId": target["id"],
                "s3Object": {"s3ConfigId": "no-such-config", "key": world.key},
            },
        )
        error(unknown, 404, "NOT_FOUND")
        obj = {"s3ConfigId": world.config_id, "key": world.key}
        bodies: list[dict[str, Any]] = [
            {},
            {"backupId": "x", "s3Object": obj},
            {"backupId": "x", "allowUnverified": True},
            {"s3Object": obj, "source": "local"},
            {"s3Object": {**obj, "engine": "mysql"}},
        ]
        for body in bodies:
            resp = api.post("/api/restores", json={"databaseId": target["id"], **body})
            error(resp, 400, "VALIDATION_ERROR")
        restores = ok(api.get("/api/restores", params={"databaseId": target["id"]}))
        assert restores == []
