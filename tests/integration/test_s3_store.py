"""S3Store and S3Sink against a real S3 HTTP endpoint (moto in server mode)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from lifeboat.core.errors import S3Error
from lifeboat.storage.manifest import Manifest
from lifeboat.storage.s3.multipart import S3Sink
from lifeboat.storage.s3.settings import MiB, S3Settings, backup_metadata
from lifeboat.storage.s3.store import S3Store
from tests.support.s3 import (
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    Rule,
    TcpProxy,
    complete_fails_with_200,
    refuse,
    run_moto,
    s3_front,
)

PART = 5 * MiB
STARTED = datetime(2025, 11, 16, 14, 30, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto S3 server of this module."""
    with run_moto() as url:
        yield url


def _settings(endpoint: str, bucket: str, **overrides: Any) -> S3Settings:
    values: dict[str, Any] = {
        "endpoint_url": endpoint,
        "bucket": bucket,
        "access_key_id": TEST_ACCESS_KEY,
        "secret_access_key": TEST_SECRET_KEY,
        "addressing_style": "path",
        "part_size_bytes": PART,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        **overrides,
    }
    return S3Settings(**values)


@pytest.fixture
async def bucket(endpoint: str) -> str:
    """A fresh, empty bucket."""
    name = f"lb-{uuid.uuid4().hex[:12]}"
    async with S3Store(_settings(endpoint, name)) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=name)

        await store.call("CreateBucket", None, create)
    return name


@pytest.fixture
async def store(endpoint: str, bucket: str) -> AsyncIterator[S3Store]:
    """A store on the fresh bucket with 5 MiB parts."""
    async with S3Store(_settings(endpoint, bucket, path_prefix="backups")) as s:
        yield s


async def _download(store: S3Store, key: str) -> bytes:
    out = bytearray()
    async for chunk in store.stream(key, chunk_size=256 * 1024):
        assert len(chunk) <= 256 * 1024
        out += chunk
    return bytes(out)


async def _feed(sink: S3Sink, data: bytes, chunk: int = 1 * MiB) -> None:
    for i in range(0, len(data), chunk):
        await sink.write(data[i : i + chunk])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_multipart_stream_roundtrip(store: S3Store) -> None:
    data = os.urandom(3 * PART + 12345)
    key = store.key_for(database="app db", started_at=STARTED, file_name="app_manual_x.dump.zst")
    assert key == "backups/app_db/2025/11/app_manual_x.dump.zst"
    meta = backup_metadata(database="café", backup_type="manual", started_at=STARTED)
    sink = store.open_sink(key, meta)
    await _feed(sink, data)
    await sink.commit(size=len(data), sha256=_sha(data))

    assert sink.upload_id is not None  # really went multipart (4 parts)
    assert sink.state == "committed"
    assert sink.uploaded_bytes == len(data)
    assert sink.warnings == []
    downloaded = await _download(store, key)
    assert len(downloaded) == len(data)
    assert _sha(downloaded) == _sha(data)

    info = await store.head(key)
    assert info is not None
    assert info.size == len(data)
    assert info.metadata["database"] == "café"
    assert info.metadata["backup-type"] == "manual"
    assert info.metadata["started-at"] == STARTED.isoformat()

    async def tags(client: Any) -> Any:
        return await client.get_object_tagging(Bucket=store.settings.bucket, Key=key)

    tagging = await store.call("GetObjectTagging", key, tags)
    assert {"Key": "sha256", "Value": _sha(data)} in tagging["TagSet"]
    assert await store.list_multipart_uploads() == []


async def test_small_stream_is_a_single_put_with_sha256_metadata(store: S3Store) -> None:
    data = b"x" * 1000 + os.urandom(1000)
    key = "backups/small/2025/11/small.sql.gz"
    sink = store.open_sink(
        key, backup_metadata(database="small", backup_type="daily", started_at=STARTED)
    )
    await sink.write(data[:700])
    await sink.write(data[700:])
    await sink.commit(size=len(data), sha256=_sha(data))
    assert sink.upload_id is None
    assert await _download(store, key) == data
    info = await store.head(key)
    assert info is not None
    assert info.metadata == {
        "database": "small",
        "backup-type": "daily",
        "started-at": STARTED.isoformat(),
        "sha256": _sha(data),
    }


async def test_exactly_one_part_is_a_single_put(store: S3Store) -> None:
    data = os.urandom(PART)
    sink = store.open_sink("backups/one-part")
    await _feed(sink, data)
    await sink.commit(size=len(data), sha256=_sha(data))
    assert sink.upload_id is None
    assert _sha(await _download(store, "backups/one-part")) == _sha(data)


async def test_memory_stays_bounded(endpoint: str, bucket: str) -> None:
    settings = _settings(endpoint, bucket, concurrency=2)
    async with S3Store(settings) as store:
        data = os.urandom(8 * PART + 1)
        sink = store.open_sink("bounded")
        peak = 0
        for i in range(0, len(data), 512 * 1024):
            await sink.write(data[i : i + 512 * 1024])
            peak = max(peak, sink.held_bytes)
        await sink.commit(size=len(data), sha256=_sha(data))
        assert peak <= (settings.concurrency + 1) * PART
        assert peak > PART  # parts really overlapped with filling the next one
        assert _sha(await _download(store, "bounded")) == _sha(data)


async def test_commit_with_wrong_size_fails_and_abort_cleans_up(store: S3Store) -> None:
    data = os.urandom(2 * PART + 10)
    sink = store.open_sink("backups/wrong-size")
    await _feed(sink, data)
    with pytest.raises(S3Error, match="expected"):
        await sink.commit(size=len(data) + 1, sha256=_sha(data))
    assert sink.state == "failed"
    await sink.abort()
    assert await store.list_multipart_uploads() == []
    assert await store.head("backups/wrong-size") is None


async def test_abort_leaves_no_multipart_uploads(store: S3Store) -> None:
    sink = store.open_sink("backups/aborted.dump.zst")
    await _feed(sink, os.urandom(2 * PART + 100))
    assert sink.upload_id is not None
    assert await store.list_multipart_uploads() != []
    await sink.abort()
    await sink.abort()  # idempotent
    assert sink.state == "aborted"
    assert await store.list_multipart_uploads() == []
    assert await store.head("backups/aborted.dump.zst") is None
    with pytest.raises(S3Error):
        await sink.write(b"more")


async def test_abort_after_commit_removes_the_object(store: S3Store) -> None:
    # A sink fanned out with others is aborted when another one fails to commit.
    sink = store.open_sink("backups/undo")
    await sink.write(b"abc")
    await sink.commit(size=3, sha256=_sha(b"abc"))
    await sink.abort()
    assert await store.head("backups/undo") is None


async def test_outage_is_retried_then_fails_and_the_upload_can_be_aborted(
    endpoint: str, bucket: str
) -> None:
    target = urlsplit(endpoint)
    assert target.hostname is not None and target.port is not None
    proxy = TcpProxy(target.hostname, target.port)
    await proxy.up()
    settings = _settings(proxy.url, bucket, max_attempts=3, connect_timeout=1.0, read_timeout=2.0)
    key = "outage/db.dump.zst"
    try:
        async with S3Store(settings) as store:
            sink = store.open_sink(key)
            await _feed(sink, os.urandom(PART + 1))  # part 1 started
            for _ in range(200):
                if sink.uploaded_bytes >= PART:
                    break
                await asyncio.sleep(0.05)
            assert sink.uploaded_bytes == PART

            await proxy.down()
            with pytest.raises(S3Error) as info:
                await _feed(sink, os.urandom(2 * PART))
                await sink.commit(size=3 * PART + 1, sha256="0" * 64)
            assert "after 3 attempts" in info.value.message
            assert info.value.details["code"] == "ConnectionError"
            assert TEST_SECRET_KEY not in info.value.message
            assert store.retry_count >= 2

            await proxy.up()  # the endpoint is back: the caller aborts
            await sink.abort()
            assert sink.warnings == []
            assert await store.list_multipart_uploads("outage/") == []
    finally:
        await proxy.down()


async def test_abort_during_outage_does_not_raise(endpoint: str, bucket: str) -> None:
    target = urlsplit(endpoint)
    assert target.hostname is not None and target.port is not None
    proxy = TcpProxy(target.hostname, target.port)
    await proxy.up()
    settings = _settings(proxy.url, bucket, max_attempts=2, connect_timeout=1.0)
    try:
        async with S3Store(settings) as store:
            sink = store.open_sink("outage2/x")
            await _feed(sink, os.urandom(PART + 1))
            await proxy.down()
            await sink.abort()
            assert sink.warnings  # recorded, not raised
    finally:
        await proxy.down()


async def test_access_on_a_missing_bucket_reports_head_bucket(endpoint: str) -> None:
    async with S3Store(_settings(endpoint, f"missing-{uuid.uuid4().hex[:8]}")) as store:
        report = await store.test_access()
    assert not report.ok
    by_name = {c.name: c for c in report.checks}
    assert by_name["head_bucket"].status == "failed"
    assert by_name["head_bucket"].error_code in {"404", "NoSuchBucket"}
    assert by_name["put_object"].status == "failed"
    assert by_name["put_object"].error_code == "NoSuchBucket"
    assert by_name["delete_object"].status == "skipped"


async def test_access_on_a_good_bucket(store: S3Store) -> None:
    report = await store.test_access()
    assert report.ok, report
    assert [c.name for c in report.checks] == ["head_bucket", "put_object", "delete_object"]
    assert [k async for k in store.list_keys("")] == []  # the probe is gone


async def test_list_buckets(store: S3Store) -> None:
    assert store.settings.bucket in await store.list_buckets()


async def test_path_style_addressing_with_a_host_name(endpoint: str, bucket: str) -> None:
    # With a DNS name, virtual-host style would ask for <bucket>.localhost: path style does not.
    port = urlsplit(endpoint).port
    settings = _settings(f"http://localhost:{port}", bucket, addressing_style="path")
    async with S3Store(settings) as store:
        await store.put_bytes("path-style/x", b"hello")
        assert await _download(store, "path-style/x") == b"hello"
        report = await store.test_access()
        assert report.ok


def _manifest(file_name: str, data: bytes) -> Manifest:
    return Manifest(
        execution_id="e" * 32,
        database_label="App",
        database_name="app",
        engine="postgresql",
        format="pg_dump-custom",
        compression="zstd",
        size_bytes=len(data),
        sha256=_sha(data),
        backup_type="manual",
        file_name=file_name,
        started_at=STARTED,
        completed_at=STARTED,
    )


async def test_manifests_are_listed_read_and_deleted_with_the_artifact(store: S3Store) -> None:
    keys: list[str] = []
    for i in range(3):
        name = f"app_manual_{i}.dump.zst"
        key = store.key_for(database="app", started_at=STARTED, file_name=name)
        data = f"artifact {i}".encode()
        sink = store.open_sink(key)
        await sink.write(data)
        await sink.commit(size=len(data), sha256=_sha(data))
        mkey = await store.put_manifest(key, _manifest(name, data))
        assert mkey == f"{key}.manifest.json"
        keys.append(key)
    await store.put_bytes("elsewhere/x.manifest.json", b"{}")

    found = await store.list_manifests()
    assert found == sorted(f"{k}.manifest.json" for k in keys)
    assert len(await store.list_manifests("")) == 4
    manifest = await store.read_manifest(found[0])
    assert manifest.file_name == "app_manual_0.dump.zst"
    with pytest.raises(S3Error, match="not a Lifeboat manifest"):
        await store.read_manifest("elsewhere/x.manifest.json")

    assert await store.delete(keys[0]) is True
    assert await store.head(keys[0]) is None
    assert await store.head(found[0]) is None
    assert await store.delete(keys[0]) is False
    assert len(await store.list_manifests()) == 2


async def test_missing_object(store: S3Store) -> None:
    assert await store.head("nope") is None
    with pytest.raises(S3Error) as info:
        await _download(store, "nope")
    assert info.value.details["code"] == "NoSuchKey"
    assert "s3://" in info.value.message


async def test_errors_never_show_the_secret(endpoint: str, bucket: str) -> None:
    # moto accepts any key unless asked otherwise; a wrong bucket name shows the same path.
    settings = _settings(endpoint, bucket, secret_access_key="another-secret-value-xyz")
    async with S3Store(settings) as store:
        with pytest.raises(S3Error) as info:
            await _download(store, "missing-key")
    assert "another-secret-value-xyz" not in str(info.value)
    assert "another-secret-value-xyz" not in repr(info.value.details)


async def test_storage_class_and_sse_are_passed_through(endpoint: str, bucket: str) -> None:
    settings = _settings(endpoint, bucket, storage_class="STANDARD_IA", sse="AES256")
    async with S3Store(settings) as store:
        data = os.urandom(PART + 5)
        for key, payload in (("sc/big", data), ("sc/small", b"tiny")):
            sink = store.open_sink(key)
            await _feed(sink, payload)
            await sink.commit(size=len(payload), sha256=_sha(payload))
            info = await store.head(key)
            assert info is not None
            assert info.storage_class == "STANDARD_IA"

            async def head(client: Any, key: str = key) -> Any:
                return await client.head_object(Bucket=bucket, Key=key)

            raw = await store.call("HeadObject", key, head)
            assert raw.get("ServerSideEncryption") == "AES256"
        # Manifests stay in the standard class so an import can read them.
        await store.put_bytes("sc/m.manifest.json", b"{}")
        info = await store.head("sc/m.manifest.json")
        assert info is not None
        assert info.storage_class in {None, "STANDARD"}


async def test_checksums_when_supported(endpoint: str, bucket: str) -> None:
    # AWS itself accepts the newer default of botocore (CRC checksums on every request).
    async with S3Store(_settings(endpoint, bucket, checksum_mode="when_supported")) as store:
        data = os.urandom(2 * PART + 3)
        sink = store.open_sink("crc/x")
        await _feed(sink, data)
        await sink.commit(size=len(data), sha256=_sha(data))
        assert _sha(await _download(store, "crc/x")) == _sha(data)


async def test_download_resumes_after_a_lost_connection(endpoint: str, bucket: str) -> None:
    target = urlsplit(endpoint)
    assert target.hostname is not None and target.port is not None
    proxy = TcpProxy(target.hostname, target.port)
    await proxy.up()
    try:
        async with S3Store(_settings(proxy.url, bucket)) as store:
            data = os.urandom(24 * MiB)
            await store.put_bytes("resume/x", data)
            out = bytearray()
            async for chunk in store.stream("resume/x", chunk_size=64 * 1024):
                if not out:
                    await proxy.down()  # cut the connection mid-body...
                    await proxy.up()  # ...and let the ranged retry through
                out += chunk
            assert store.retry_count >= 1
            assert _sha(bytes(out)) == _sha(data)
    finally:
        await proxy.down()


async def test_complete_answering_200_with_an_error_body_is_a_failure(
    endpoint: str, bucket: str
) -> None:
    key = "c200/db.dump.zst"
    data = os.urandom(2 * PART + 1)
    async with (
        complete_fails_with_200(endpoint) as front,
        S3Store(_settings(front, bucket, max_attempts=2)) as store,
    ):
        sink = store.open_sink(key)
        await _feed(sink, data)
        assert sink.upload_id is not None  # a multipart upload, not a single put
        with pytest.raises(S3Error) as info:
            await sink.commit(size=len(data), sha256=_sha(data))
        assert "CompleteMultipartUpload" in info.value.message
        assert "InternalError" in info.value.message
        assert sink.state == "failed"
        await sink.abort()
    async with S3Store(_settings(endpoint, bucket)) as direct:
        assert await direct.head(key) is None
        assert await direct.list_multipart_uploads("c200/") == []


async def test_connection_pool_is_at_least_the_upload_concurrency(
    endpoint: str, bucket: str
) -> None:
    async with S3Store(_settings(endpoint, bucket, concurrency=32)) as store:
        client: Any = await store._client()  # pyright: ignore[reportPrivateUsage]
        assert client.meta.config.max_pool_connections >= 32


async def test_earlier_unfinished_uploads_not_checked_or_not_aborted_are_warnings(
    endpoint: str, bucket: str
) -> None:
    """Before a multipart upload, the sink aborts unfinished uploads of its own key (and of
    no other key sharing its prefix); S3 refusing to list or abort them costs a warning."""
    key = "db/x.dump.zst"
    rules: list[Rule] = []
    async with (
        S3Store(_settings(endpoint, bucket)) as direct,
        s3_front(endpoint, rules) as front,
        S3Store(_settings(front, bucket)) as fronted,
    ):

        async def start(k: str) -> str:
            async def create(client: Any) -> Any:
                return await client.create_multipart_upload(Bucket=bucket, Key=k)

            return str((await direct.call("CreateMultipartUpload", k, create))["UploadId"])

        earlier, other = await start(key), await start(f"{key}.other")
        rules.append(refuse("GET", query="uploads"))
        unchecked = S3Sink(fronted, key, {})
        await unchecked.abort_leftovers()
        [warning] = unchecked.warnings
        assert warning.startswith("earlier unfinished uploads not checked:")
        assert "AccessDenied" in warning
        rules[:] = [refuse("DELETE", query="uploadId")]
        refused = S3Sink(fronted, key, {})
        await refused.abort_leftovers()
        [warning] = refused.warnings
        assert warning.startswith("earlier unfinished upload not aborted:")
        assert "AccessDenied" in warning
        assert sorted(await direct.list_multipart_uploads("db/")) == sorted(
            [(key, earlier), (f"{key}.other", other)]
        )
        rules.clear()
        cleaning = S3Sink(fronted, key, {})
        await cleaning.abort_leftovers()
        assert cleaning.warnings == [
            f"aborted an earlier unfinished upload of this key ({earlier})"
        ]
        assert await direct.list_multipart_uploads("db/") == [(f"{key}.other", other)]
