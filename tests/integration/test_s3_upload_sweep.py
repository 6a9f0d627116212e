"""The API's periodic sweep of unfinished S3 multipart uploads, against moto's S3 server.

moto cannot backdate an upload, so the threshold is 0: every unfinished upload is stale.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from lifeboat.api.db.models import BackupExecution, utcnow
from lifeboat.api.domain.s3configs.sweep import is_stale, sweep_all
from lifeboat.storage.s3.results import S3Upload
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    eventually,
    serve_api,
)
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, run_moto

PREFIX = "sweep-prefix"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with run_moto() as url:
        yield url


def store_settings(endpoint: str, bucket: str) -> S3Settings:
    return S3Settings(
        bucket=bucket,
        access_key_id=TEST_ACCESS_KEY,
        secret_access_key=TEST_SECRET_KEY,
        endpoint_url=endpoint,
        addressing_style="path",
    )


async def new_bucket(endpoint: str) -> str:
    name = f"lb-sweep-{uuid.uuid4().hex[:10]}"
    async with S3Store(store_settings(endpoint, name)) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=name)

        await store.call("CreateBucket", None, create)
    return name


async def start_upload(store: S3Store, key: str) -> str:
    """A multipart upload of `key` with one part, never completed (a dead attempt's)."""

    async def go(client: Any) -> str:
        bucket = store.settings.bucket
        created = await client.create_multipart_upload(Bucket=bucket, Key=key)
        upload_id = str(created["UploadId"])
        await client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"p" * 1024
        )
        return upload_id

    return await store.call("CreateMultipartUpload", key, go)


async def add_s3_config(api: RunningApi, endpoint: str, bucket: str) -> dict[str, Any]:
    data_of(await api.client.put("/api/system/settings", json={"allow_private_endpoints": True}))
    body = {
        "name": f"sweep-{uuid.uuid4().hex[:8]}",
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint": endpoint,
        "accessKeyId": TEST_ACCESS_KEY,
        "secretAccessKey": TEST_SECRET_KEY,
        "addressingStyle": "path",
        "pathPrefix": PREFIX,
    }
    return data_of(await api.client.post("/api/s3-configs", json=body), 201)


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(
        api_settings(
            tmp_path_factory.mktemp("api-sweep"),
            nats_url,
            PARTIAL_UPLOAD_MAX_AGE_SECONDS="0",
            SWEEP_INTERVAL_SECONDS="1",
        )
    ) as running:
        yield running


def test_staleness() -> None:
    now = utcnow()
    young = S3Upload(key="k", upload_id="u", initiated=now - timedelta(minutes=5))
    assert not is_stale(young, older_than=timedelta(hours=6), now=now)
    assert is_stale(young, older_than=timedelta(minutes=5), now=now)
    assert not is_stale(
        S3Upload(key="k", upload_id="u", initiated=None), older_than=timedelta(0), now=now
    )


async def test_stale_uploads_are_aborted_and_audited(api: RunningApi, endpoint: str) -> None:
    assert api.settings.partial_upload_max_age_seconds == 0
    bucket = await new_bucket(endpoint)
    async with S3Store(store_settings(endpoint, bucket)) as store:
        done_key = f"{PREFIX}/db/2025/06/done.dump.zst"
        await store.put_bytes(done_key, b"completed backup bytes")
        dead_key = f"{PREFIX}/db/2025/06/dead.dump.zst"
        dead_id = await start_upload(store, dead_key)
        outside_key = "other-prefix/x.dump.zst"
        outside_id = await start_upload(store, outside_key)
        # Only now does the sweep (threshold 0) know the bucket: it must not race the set-up.
        config = await add_s3_config(api, endpoint, bucket)

        # The sweep runs every second: the dead upload goes, the rest stays.
        async def swept() -> bool:
            keys = {u.key for u in await store.list_incomplete_uploads("")}
            return dead_key not in keys

        await eventually(swept, timeout=20, interval=0.2)
        left = await store.list_incomplete_uploads("")
        assert [(u.key, u.upload_id) for u in left] == [(outside_key, outside_id)]
        assert await store.get_bytes(done_key) == b"completed backup bytes"
        assert await store.abort_multipart(dead_key, dead_id) is False  # already gone

    audit = data_of(await api.client.get("/api/audit", params={"action": "s3.upload_abort"}))
    entries = [a for a in audit if a["target"] == f"s3://{bucket}/{dead_key}"]
    assert len(entries) == 1, audit
    assert entries[0]["actor"] == "system:sweep"
    assert dead_id in str(entries[0]["details"]) and config["id"] in str(entries[0]["details"])


async def test_a_live_backups_upload_is_kept(api: RunningApi, endpoint: str) -> None:
    bucket = await new_bucket(endpoint)
    config = await add_s3_config(api, endpoint, bucket)
    database = data_of(
        await api.client.post("/api/databases", json=database_body("sweep-db", "default")), 201
    )
    live_key = f"{PREFIX}/db/2025/06/live.dump.zst"
    async with api.ctx.db.write() as session:
        session.add(
            BackupExecution(
                database_config_id=database["id"],
                backup_type="manual",
                status="running",
                started_at=utcnow(),
                s3_bucket=bucket,
                s3_key=live_key,
                s3_status="pending",
                s3_config_id=config["id"],
            )
        )
    async with S3Store(store_settings(endpoint, bucket)) as store:
        live_id = await start_upload(store, live_key)
        dead_key = f"{PREFIX}/db/2025/06/dead2.dump.zst"
        await start_upload(store, dead_key)
        report = await sweep_all(api.ctx, older_than=timedelta(0))
        assert [u.key for u in report.aborted.get(config["id"], [])] in ([dead_key], [])
        left = await store.list_incomplete_uploads("")
        assert [(u.key, u.upload_id) for u in left] == [(live_key, live_id)]
        assert await store.abort_multipart(live_key, live_id) is True
