"""REST /api/s3-configs against a real API process, a real nats-server and moto's S3 server."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from tests.support.api import RunningApi, api_settings, data_of, error_of, serve_api
from tests.support.s3 import TEST_ACCESS_KEY, run_moto

SECRET = f"S3-Canary-{uuid.uuid4().hex}"
ACCESS = f"AKIA{uuid.uuid4().hex[:12].upper()}"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with run_moto() as url:
        yield url


async def make_bucket(endpoint: str) -> str:
    name = f"lb-{uuid.uuid4().hex[:12]}"
    settings = S3Settings(
        bucket=name,
        access_key_id=TEST_ACCESS_KEY,
        secret_access_key="x" * 8,
        endpoint_url=endpoint,
        addressing_style="path",
    )
    async with S3Store(settings) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=name)

        await store.call("CreateBucket", None, create)
    return name


@pytest.fixture(scope="module")
async def api(
    tmp_path_factory: pytest.TempPathFactory, nats_url: str, endpoint: str
) -> AsyncIterator[RunningApi]:
    async with serve_api(
        api_settings(
            tmp_path_factory.mktemp("api-s3"),
            nats_url,
            S3_BUCKET="env-bucket",
            S3_REGION="eu-west-1",
            S3_ENDPOINT=endpoint,
            S3_PATH_PREFIX="from-env",
            S3_ACCESS_KEY_ID=ACCESS,
            S3_SECRET_ACCESS_KEY=SECRET,
        )
    ) as running:
        yield running


def body(url: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"cfg-{uuid.uuid4().hex[:8]}",
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint": url,
        "accessKeyId": ACCESS,
        "secretAccessKey": SECRET,
        "addressingStyle": "path",
        "pathPrefix": "backups",
        **extra,
    }


def no_secret(payload: Any) -> None:
    text = str(payload)
    assert SECRET not in text
    assert ACCESS not in text


async def test_default_config_from_env(api: RunningApi) -> None:
    configs = data_of(await api.client.get("/api/s3-configs"))
    no_secret(configs)
    env = [c for c in configs if c["name"] == "default (environment)"]
    assert len(env) == 1
    cfg = env[0]
    assert cfg["isDefault"] is True
    assert cfg["bucket"] == "env-bucket" and cfg["region"] == "eu-west-1"
    assert cfg["pathPrefix"] == "from-env"
    assert cfg["hasAccessKeyId"] is True and cfg["hasSecretAccessKey"] is True
    assert "secretAccessKey" not in cfg and "accessKeyId" not in cfg


async def test_crud_secrets_never_returned_nor_stored_plain(api: RunningApi, endpoint: str) -> None:
    bucket = await make_bucket(endpoint)
    created = data_of(await api.client.post("/api/s3-configs", json=body(endpoint, bucket)), 201)
    no_secret(created)
    assert created["hasSecretAccessKey"] is True
    assert created["isDefault"] is False  # the environment's default exists already
    cid = created["id"]
    got = data_of(await api.client.get(f"/api/s3-configs/{cid}"))
    no_secret(got)
    assert got["bucket"] == bucket and got["partSizeBytes"] == 16 * 1024 * 1024

    updated = data_of(
        await api.client.put(
            f"/api/s3-configs/{cid}",
            json={"pathPrefix": "other", "concurrency": 2, "isDefault": True},
        )
    )
    no_secret(updated)
    assert updated["pathPrefix"] == "other" and updated["concurrency"] == 2
    assert updated["isDefault"] is True
    others = data_of(await api.client.get("/api/s3-configs"))
    assert [c["id"] for c in others if c["isDefault"]] == [cid]
    # the keys were kept: the access test still passes
    tested = data_of(await api.client.post(f"/api/s3-configs/{cid}/test"))
    assert tested["ok"] is True, tested

    for path in Path(api.settings.database_path).parent.iterdir():
        raw = path.read_bytes()
        assert SECRET.encode() not in raw, path
        assert ACCESS.encode() not in raw, path
    with sqlite3.connect(api.settings.database_path) as conn:
        row = conn.execute(
            "select secret_access_key_encrypted from s3_configs where id = ?", (cid,)
        ).fetchone()
    assert row[0].startswith("lb1.")

    assert data_of(await api.client.delete(f"/api/s3-configs/{cid}")) is None
    error_of(await api.client.get(f"/api/s3-configs/{cid}"), 404, "NOT_FOUND")


async def test_validation(api: RunningApi, endpoint: str) -> None:
    bad_scheme = body(endpoint, "bucket-x", endpoint="file:///etc/passwd")
    error_of(await api.client.post("/api/s3-configs", json=bad_scheme), 400, "VALIDATION_ERROR")
    creds = body(endpoint, "bucket-x", endpoint="http://user:pw@example.com")
    error_of(await api.client.post("/api/s3-configs", json=creds), 400, "VALIDATION_ERROR")
    small = body(endpoint, "bucket-x", partSizeBytes=1024)
    error_of(await api.client.post("/api/s3-configs", json=small), 400, "VALIDATION_ERROR")
    kms = body(endpoint, "bucket-x", sseKmsKeyId="k")
    error_of(await api.client.post("/api/s3-configs", json=kms), 400, "VALIDATION_ERROR")
    unknown = {**body(endpoint, "bucket-x"), "extra": 1}
    error_of(await api.client.post("/api/s3-configs", json=unknown), 400, "VALIDATION_ERROR")
    first = body(endpoint, "bucket-x")
    data_of(await api.client.post("/api/s3-configs", json=first), 201)
    error_of(await api.client.post("/api/s3-configs", json=first), 409, "CONFLICT")


async def test_access_test_reports_missing_bucket(api: RunningApi, endpoint: str) -> None:
    cfg = data_of(
        await api.client.post(
            "/api/s3-configs", json=body(endpoint, f"missing-{uuid.uuid4().hex[:8]}")
        ),
        201,
    )
    tested = data_of(await api.client.post(f"/api/s3-configs/{cfg['id']}/test"))
    no_secret(tested)
    assert tested["ok"] is False
    checks = {c["name"]: c for c in tested["checks"]}
    assert checks["head_bucket"]["status"] == "failed"
    assert checks["head_bucket"]["errorCode"] in {"404", "NoSuchBucket", "NotFound"}
    assert "head_bucket" in tested["error"]


async def test_access_test_ok_and_bucket_list(api: RunningApi, endpoint: str) -> None:
    bucket = await make_bucket(endpoint)
    cfg = data_of(await api.client.post("/api/s3-configs", json=body(endpoint, bucket)), 201)
    tested = data_of(await api.client.post(f"/api/s3-configs/{cfg['id']}/test"))
    assert tested["ok"] is True
    assert [c["status"] for c in tested["checks"]] == ["ok", "ok", "ok"]
    listed = data_of(await api.client.get(f"/api/s3-configs/{cfg['id']}/buckets"))
    assert bucket in listed["buckets"]


@contextlib.asynccontextmanager
async def private_endpoints_allowed(api: RunningApi) -> AsyncGenerator[None]:
    """The admin setting that lets S3 endpoints resolve to private addresses, on for a while."""
    setting = "/api/system/settings"
    data_of(await api.client.put(setting, json={"allow_private_endpoints": True}))
    try:
        yield
    finally:
        data_of(await api.client.put(setting, json={"allow_private_endpoints": False}))


async def test_private_endpoints_need_the_admin_setting(api: RunningApi, endpoint: str) -> None:
    bucket = await make_bucket(endpoint)
    # The same moto server under another name than the trusted S3_ENDPOINT of the environment.
    other = endpoint.replace("127.0.0.1", "localhost")
    for url in (other, "http://169.254.169.254/latest/meta-data", "http://10.1.2.3:9000"):
        refused = error_of(
            await api.client.post("/api/s3-configs", json=body(url, bucket)),
            400,
            "VALIDATION_ERROR",
        )
        assert "allow_private_endpoints" in refused["message"], refused
        assert refused["details"][0]["field"] == "endpoint"
    async with private_endpoints_allowed(api):
        cfg = data_of(await api.client.post("/api/s3-configs", json=body(other, bucket)), 201)
        assert data_of(await api.client.post(f"/api/s3-configs/{cfg['id']}/test"))["ok"] is True
    # Switched off again: the API does not call the endpoint any more, whatever is stored.
    for method, path in (
        ("POST", f"/api/s3-configs/{cfg['id']}/test"),
        ("GET", f"/api/s3-configs/{cfg['id']}/buckets"),
        ("GET", f"/api/s3-configs/{cfg['id']}/objects"),
        ("POST", f"/api/s3-configs/{cfg['id']}/import"),
    ):
        again = error_of(await api.client.request(method, path), 400, "VALIDATION_ERROR")
        assert "allow_private_endpoints" in again["message"], (path, again)
    changed = error_of(
        await api.client.put(f"/api/s3-configs/{cfg['id']}", json={"region": "eu-west-1"}),
        400,
        "VALIDATION_ERROR",
    )
    assert changed["details"][0]["field"] == "endpoint"


async def test_changes_are_audited_without_keys(api: RunningApi, endpoint: str) -> None:
    bucket = await make_bucket(endpoint)
    cfg = data_of(await api.client.post("/api/s3-configs", json=body(endpoint, bucket)), 201)
    data_of(await api.client.put(f"/api/s3-configs/{cfg['id']}", json={"secretAccessKey": SECRET}))
    data_of(await api.client.post(f"/api/s3-configs/{cfg['id']}/import"))
    data_of(await api.client.delete(f"/api/s3-configs/{cfg['id']}"))
    events = data_of(await api.client.get("/api/audit", params={"limit": 200}))
    mine = {e["action"] for e in events if e["target"] == cfg["id"]}
    assert {"s3_config.create", "s3_config.update", "s3_config.delete", "backups.import"} <= mine
    no_secret((await api.client.get("/api/audit", params={"limit": 200})).text)


async def test_unreachable_endpoint_is_an_s3_error(api: RunningApi) -> None:
    async with private_endpoints_allowed(api):
        cfg = data_of(
            await api.client.post(
                "/api/s3-configs", json=body("http://127.0.0.1:9", "bucket-y", name="unreachable")
            ),
            201,
        )
        response = await api.client.get(f"/api/s3-configs/{cfg['id']}/buckets")
    assert response.status_code >= 500
    assert response.json()["error"]["code"] == "S3_ERROR"
    no_secret(response.text)


async def test_backup_to_s3_refused_without_a_usable_config(api: RunningApi) -> None:
    error_of(
        await api.client.post(
            "/api/backups",
            json={
                "databaseId": "nope",
                "uploadToS3": False,
                "storeLocally": False,
            },
        ),
        400,
        "VALIDATION_ERROR",
    )
