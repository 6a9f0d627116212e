"""The artifact-store contract (:mod:`lifeboat.storage.base`), one suite for every store.

The ``store`` fixture is parametrised over :class:`MemoryStore`, :class:`LocalStore` (a temporary
directory) and :class:`S3ArtifactStore` (a fresh bucket of a moto S3 server), so each test runs
three times; ``leftovers`` looks behind each store's back for anything a failed write left.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lifeboat.core.errors import FencedError, NotFoundError, OperationError, ValidationError
from lifeboat.storage.base import ArtifactStore
from lifeboat.storage.local import LocalStore
from lifeboat.storage.manifest import Manifest
from lifeboat.storage.memory import MemoryStore
from lifeboat.storage.s3.artifacts import S3ArtifactStore
from lifeboat.storage.s3.settings import MiB, S3Settings
from lifeboat.storage.s3.store import S3Store
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, run_moto

STORES = ["memory", "local", "s3"]
SMALL = b"hello, artifact store\n"
# Larger than one 5 MiB part: the S3 store takes its multipart path.
LARGE = os.urandom(5 * MiB + 123)
NAME = "app/2025/11/app_manual_20251116_143022_1a2b3c4d.dump.zst"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto S3 server of this module."""
    with run_moto() as url:
        yield url


@pytest.fixture
def memory_store() -> MemoryStore:
    """A fresh in-memory store."""
    return MemoryStore()


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    """A local store rooted in a directory of its own (``tmp_path/root``)."""
    return LocalStore(tmp_path / "root")


@pytest.fixture
async def s3_store(endpoint: str) -> AsyncIterator[S3ArtifactStore]:
    """An S3 store on a fresh, empty bucket with 5 MiB parts."""
    settings = S3Settings(
        endpoint_url=endpoint,
        bucket=f"lb-{uuid.uuid4().hex[:12]}",
        access_key_id=TEST_ACCESS_KEY,
        secret_access_key=TEST_SECRET_KEY,
        addressing_style="path",
        part_size_bytes=5 * MiB,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
    )
    async with S3ArtifactStore(S3Store(settings)) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=settings.bucket)

        await store.s3.call("CreateBucket", None, create)
        yield store


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    """Each store in turn."""
    found: ArtifactStore = request.getfixturevalue(f"{request.param}_store")
    return found


async def leftovers(store: ArtifactStore) -> list[str]:
    """Everything the store holds, seen from below its interface (temporary files, unfinished
    uploads and manifests included)."""
    if isinstance(store, MemoryStore):
        return sorted([*store.artifacts, *store.manifests])
    if isinstance(store, LocalStore):
        if not store.root.exists():
            return []
        return sorted(
            str(Path(here, name).relative_to(store.root))
            for here, _dirs, files in os.walk(store.root)
            for name in files
        )
    assert isinstance(store, S3ArtifactStore)
    keys = [key async for key in store.s3.list_keys("")]
    uploads = [f"upload:{u.key}" for u in await store.s3.list_incomplete_uploads("")]
    return sorted(keys + uploads)


def manifest_for(data: bytes, name: str = NAME) -> Manifest:
    """A manifest describing `data`."""
    at = datetime(2025, 11, 16, 14, 30, 22, tzinfo=UTC)
    return Manifest(
        execution_id="e1",
        database_label="app",
        database_name="app",
        engine="postgresql",
        format="pg_dump-custom",
        compression="zstd",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        backup_type="manual",
        file_name=name.rpartition("/")[2],
        started_at=at,
        completed_at=at,
    )


async def publish(
    store: ArtifactStore,
    name: str,
    data: bytes,
    *,
    guard: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Write `data` as artifact `name` in chunks of 64 KiB and commit it."""
    sink = await store.open_sink(name, guard=guard)
    try:
        for start in range(0, len(data), 64 * 1024):
            await sink.write(data[start : start + 64 * 1024])
        await sink.commit(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    except BaseException:
        await sink.abort()
        raise


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["small", "multipart"])
async def test_round_trip(store: ArtifactStore, data: bytes) -> None:
    calls: list[bool] = []

    async def guard() -> None:
        # Right before the publication: the artifact is not visible yet.
        calls.append(await store.exists(NAME))

    await publish(store, NAME, data, guard=guard)
    assert calls == [False]
    chunks = [chunk async for chunk in store.read(NAME, chunk_size=256 * 1024)]
    assert all(len(c) <= 256 * 1024 for c in chunks)
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == hashlib.sha256(data).hexdigest()
    info = await store.stat(NAME)
    assert info is not None and info.name == NAME and info.size == len(data)
    assert await store.exists(NAME)
    assert await store.size(NAME) == len(data)
    assert await leftovers(store) == [NAME]


async def test_sink_is_invisible_until_committed(store: ArtifactStore) -> None:
    sink = await store.open_sink(NAME)
    await sink.write(SMALL)
    assert not await store.exists(NAME)
    assert [i async for i in store.list_artifacts()] == []
    await sink.commit(size=len(SMALL), sha256=hashlib.sha256(SMALL).hexdigest())
    assert sink.name == NAME and sink.warnings == []
    assert await store.read_bytes(NAME) == SMALL


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["small", "multipart"])
async def test_no_replace(store: ArtifactStore, data: bytes) -> None:
    await publish(store, NAME, SMALL)
    with pytest.raises(OperationError, match="already exists"):
        await publish(store, NAME, data + b"other")
    assert await store.read_bytes(NAME) == SMALL
    assert await leftovers(store) == [NAME]


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["small", "multipart"])
async def test_guard_raising_stops_the_commit(store: ArtifactStore, data: bytes) -> None:
    async def fenced() -> None:
        raise FencedError("a newer attempt holds the lease")

    with pytest.raises(FencedError):
        await publish(store, NAME, data, guard=fenced)
    assert not await store.exists(NAME)
    assert await leftovers(store) == []


async def test_failed_commit_leaves_nothing_without_abort(store: ArtifactStore) -> None:
    # The sink cleans up after itself: a caller that forgets abort() leaks nothing.
    async def fenced() -> None:
        raise FencedError("fenced")

    sink = await store.open_sink(NAME, guard=fenced)
    await sink.write(LARGE)
    with pytest.raises(FencedError):
        await sink.commit(size=len(LARGE), sha256=hashlib.sha256(LARGE).hexdigest())
    assert await leftovers(store) == []
    await sink.abort()  # still safe


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["small", "multipart"])
async def test_abort_leaves_nothing(store: ArtifactStore, data: bytes) -> None:
    sink = await store.open_sink(NAME)
    await sink.write(data)
    await sink.abort()
    await sink.abort()  # idempotent
    assert not await store.exists(NAME)
    assert await leftovers(store) == []


async def test_size_mismatch_is_refused(store: ArtifactStore) -> None:
    sink = await store.open_sink(NAME)
    await sink.write(SMALL)
    with pytest.raises(OperationError):
        await sink.commit(size=len(SMALL) + 1, sha256="0" * 64)
    await sink.abort()
    assert await leftovers(store) == []


async def test_manifest_round_trip(store: ArtifactStore) -> None:
    await publish(store, NAME, SMALL)
    with pytest.raises(NotFoundError):
        await store.read_manifest(NAME)
    first = manifest_for(SMALL)
    manifest_name = await store.write_manifest(NAME, first)
    assert manifest_name == f"{NAME}.manifest.json"
    assert await store.read_manifest(NAME) == first
    second = manifest_for(SMALL + b"!")
    await store.write_manifest(NAME, second)  # a manifest is replaced, not refused
    assert await store.read_manifest(NAME) == second
    assert await leftovers(store) == [NAME, manifest_name]
    # A manifest is no artifact.
    assert [i.name async for i in store.list_artifacts()] == [NAME]


async def test_delete(store: ArtifactStore) -> None:
    await publish(store, NAME, SMALL)
    await store.write_manifest(NAME, manifest_for(SMALL))
    assert await store.delete(NAME) is True
    assert await store.delete(NAME) is False
    assert not await store.exists(NAME)
    with pytest.raises(NotFoundError):
        await store.read_manifest(NAME)
    assert await leftovers(store) == []
    # The name is free again.
    await publish(store, NAME, LARGE[:1000])
    assert await store.read_bytes(NAME) == LARGE[:1000]


async def test_remove_leftovers(store: ArtifactStore) -> None:
    await publish(store, NAME, SMALL)
    await store.write_manifest(NAME, manifest_for(SMALL))
    other = "app/2025/11/other.dump.zst"
    await publish(store, other, SMALL)
    # A writer that died mid-way (never aborted, never committed).
    dead = await store.open_sink("app/2025/11/dead.dump.zst")
    await dead.write(LARGE)
    assert await store.remove_leftovers(NAME)
    assert await store.remove_leftovers("app/2025/11/dead.dump.zst") is not None
    left = await leftovers(store)
    assert NAME not in left and f"{NAME}.manifest.json" not in left
    assert other in left
    if not isinstance(store, MemoryStore):  # memory sinks hold their bytes to themselves
        assert left == [other]
    await dead.abort()


async def test_listing(store: ArtifactStore) -> None:
    names = [
        "db1/2025/01/a.dump.zst",
        "db1/2025/02/b.dump.zst",
        "db1/2025/10/c.dump.zst",
        "db10/2025/01/d.dump.zst",
        "db2/2024/12/e.dump.zst",
        "top.dump.zst",
    ]
    for i, name in enumerate(reversed(names)):
        await publish(store, name, SMALL[: i + 1])
        await store.write_manifest(name, manifest_for(SMALL[: i + 1], name))

    async def listed(prefix: str = "") -> list[str]:
        return [info.name async for info in store.list_artifacts(prefix)]

    assert await listed() == sorted(names)
    assert await listed("db1/") == names[:3]
    assert await listed("db1") == names[:4]
    assert await listed("db1/2025/0") == names[:2]
    assert await listed("db2/2024/12/e.dump.zst") == [names[4]]
    assert await listed("nothing/") == []
    sizes = {info.name: info.size async for info in store.list_artifacts()}
    assert sizes["top.dump.zst"] == 1 and sizes["db1/2025/01/a.dump.zst"] == 6


async def test_missing_artifact(store: ArtifactStore) -> None:
    missing = "app/2025/11/missing.dump.zst"
    with pytest.raises(NotFoundError):
        await store.read_bytes(missing)
    with pytest.raises(NotFoundError):
        await store.size(missing)
    with pytest.raises(NotFoundError):
        await store.read_manifest(missing)
    assert await store.stat(missing) is None
    assert not await store.exists(missing)
    assert await store.delete(missing) is False


BAD_NAMES = [
    "../x",
    "a/../../x",
    "a/..",
    "/etc/passwd",
    "",
    "a//b",
    "a/./b",
    "a/",
    "a\\..\\x",
    "nul\x00byte",
    "line\nbreak",
    "tab\there",
    "f.dump.zst.manifest.json",
    "x" * 1025,
]


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_bad_names_are_refused(store: ArtifactStore, name: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        await store.open_sink(name)
    with pytest.raises(ValidationError):
        await store.read_bytes(name)
    with pytest.raises(ValidationError):
        await store.stat(name)
    with pytest.raises(ValidationError):
        await store.write_manifest(name, manifest_for(SMALL))
    with pytest.raises(ValidationError):
        await store.read_manifest(name)
    with pytest.raises(ValidationError):
        await store.delete(name)
    with pytest.raises(ValidationError):
        await store.remove_leftovers(name)
    assert await leftovers(store) == []
    # Nothing appeared beside a local root either.
    assert _entries(tmp_path) in ([], ["root"])


@pytest.mark.parametrize("prefix", ["../", "a/../", "/", "a//"])
async def test_bad_prefixes_are_refused(store: ArtifactStore, prefix: str) -> None:
    with pytest.raises(ValidationError):
        [info async for info in store.list_artifacts(prefix)]


ODD_NAMES = [
    "app db/2025/11/with space.dump.zst",
    "ümlaut/€uro/日本語.dump.zst",
    "p/percent%20and+plus=eq&amp;(x)[y]{z}!'~.dump.zst",
    "dots/..hidden-looking but not.dump",
    "colon:semi;comma,at@hash#.gz",
]


@pytest.mark.parametrize("name", ODD_NAMES)
async def test_odd_but_valid_names_round_trip(store: ArtifactStore, name: str) -> None:
    await publish(store, name, SMALL)
    await store.write_manifest(name, manifest_for(SMALL, name))
    assert await store.read_bytes(name) == SMALL
    assert (await store.read_manifest(name)).size_bytes == len(SMALL)
    assert [info.name async for info in store.list_artifacts()] == (
        [] if any(part.startswith(".") for part in name.split("/")) else [name]
    )
    assert await store.delete(name)
    assert await leftovers(store) == []
