"""LocalStore: atomic, private, nothing left behind (the contract all stores share is in
tests/integration/test_store_contract.py)."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifeboat.core.errors import BackupError, ValidationError
from lifeboat.storage.local import SYNC_EVERY_BYTES, LocalStore
from lifeboat.storage.manifest import Manifest


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _manifest(size: int, sha: str) -> Manifest:
    now = datetime.now(UTC)
    return Manifest(
        execution_id="e1",
        database_label="app",
        database_name="app",
        engine="postgresql",
        format="pg_dump-custom",
        compression="zstd",
        size_bytes=size,
        sha256=sha,
        backup_type="manual",
        file_name="f.dump.zst",
        started_at=now,
        completed_at=now,
    )


async def test_commit_is_atomic_and_private(tmp_path: Path) -> None:
    storage = LocalStore(tmp_path / "root")
    sink = await storage.open_sink("app/2025/01/f.dump.zst")
    await sink.write(b"hello ")
    await sink.write(b"world")
    assert not sink.path.exists() and sink.temp_path.exists()
    await sink.commit(size=11, sha256=hashlib.sha256(b"hello world").hexdigest())
    assert sink.path.read_bytes() == b"hello world"
    assert not sink.temp_path.exists()
    assert _mode(sink.path) == 0o600
    for directory in (
        tmp_path / "root",
        tmp_path / "root/app",
        tmp_path / "root/app/2025",
        tmp_path / "root/app/2025/01",
    ):
        assert _mode(directory) == 0o700, directory
    assert sink.relative_path == "app/2025/01/f.dump.zst"
    manifest_name = await storage.write_manifest(sink.relative_path, _manifest(11, "ab"))
    assert manifest_name == "app/2025/01/f.dump.zst.manifest.json"
    assert _mode(storage.path_of(manifest_name)) == 0o600
    assert (await storage.read_manifest(sink.relative_path)).size_bytes == 11
    assert await storage.delete(sink.relative_path)
    assert list((tmp_path / "root/app/2025/01").iterdir()) == []


async def test_abort_and_size_mismatch_leave_nothing(tmp_path: Path) -> None:
    storage = LocalStore(tmp_path)
    sink = await storage.open_sink("d/a.zst")
    await sink.write(b"x")
    await sink.abort()
    sink2 = await storage.open_sink("d/b.zst")
    await sink2.write(b"xyz")
    with pytest.raises(BackupError, match="size mismatch"):
        await sink2.commit(size=4, sha256="0")
    assert list((tmp_path / "d").iterdir()) == []


@pytest.mark.parametrize("relative", ["../x", "/etc/passwd", "a/../../x", ""])
def test_paths_stay_under_root(tmp_path: Path, relative: str) -> None:
    with pytest.raises(ValidationError):
        LocalStore(tmp_path).path_of(relative)


async def test_file_name_cannot_be_a_path(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        await LocalStore(tmp_path).open_sink("d/../x")


async def test_large_artifacts_flush_in_the_background(tmp_path: Path) -> None:
    """Past SYNC_EVERY_BYTES a background flush runs; commit and abort wait for it."""
    storage = LocalStore(tmp_path)
    block = bytes(range(256)) * 4096  # 1 MiB
    sink = await storage.open_sink("db/2025/11/big.dump.zst")
    digest = hashlib.sha256()
    for _ in range(SYNC_EVERY_BYTES // len(block) + 3):
        await sink.write(block)
        digest.update(block)
    assert sink._syncing is not None  # pyright: ignore[reportPrivateUsage]
    size = (SYNC_EVERY_BYTES // len(block) + 3) * len(block)
    await sink.commit(size=size, sha256=digest.hexdigest())
    assert sink.path.stat().st_size == size
    assert hashlib.sha256(sink.path.read_bytes()).hexdigest() == digest.hexdigest()

    aborted = await storage.open_sink("db/2025/11/gone.dump.zst")
    for _ in range(SYNC_EVERY_BYTES // len(block) + 1):
        await aborted.write(block)
    await aborted.abort()
    assert not aborted.temp_path.exists()


# --- failures: each one leaves nothing behind and never replaces a published artifact --------


async def test_a_finished_sink_takes_no_more_writes_or_commits(tmp_path: Path) -> None:
    sink = await LocalStore(tmp_path).open_sink("d/a.zst")
    await sink.write(b"data")
    await sink.commit(size=4, sha256="0")
    with pytest.raises(BackupError, match="closed sink"):
        await sink.write(b"more")
    with pytest.raises(BackupError, match="closed sink"):
        await sink.commit(size=4, sha256="0")
    assert sink.path.read_bytes() == b"data"


async def test_abort_after_commit_withdraws_the_published_file(tmp_path: Path) -> None:
    """What a tee does with a copy that committed while the required one failed."""
    sink = await LocalStore(tmp_path).open_sink("d/a.zst")
    await sink.write(b"data")
    await sink.commit(size=4, sha256="0")
    await sink.abort()
    assert list((tmp_path / "d").iterdir()) == []


async def test_a_manifest_that_cannot_be_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    storage = LocalStore(tmp_path)
    sink = await storage.open_sink("d/a.zst")
    await sink.write(b"data")
    await sink.commit(size=4, sha256="0")
    (tmp_path / "d" / "a.zst.manifest.json").mkdir()  # the sidecar's name is taken by a directory
    with pytest.raises(BackupError, match="Is a directory"):
        await storage.write_manifest(sink.relative_path, _manifest(4, "0"))
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["a.zst", "a.zst.manifest.json"]


async def test_a_manifest_that_cannot_be_read_or_is_not_one_says_so(tmp_path: Path) -> None:
    storage = LocalStore(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.zst.manifest.json").mkdir()  # unreadable as a file
    with pytest.raises(BackupError, match=r"^cannot read the manifest of d/a\.zst: Is a directory"):
        await storage.read_manifest("d/a.zst")
    (tmp_path / "d" / "b.zst.manifest.json").write_bytes(b'{"not": "a manifest"}')
    with pytest.raises(BackupError, match=r"^the manifest of d/b\.zst is not a Lifeboat manifest"):
        await storage.read_manifest("d/b.zst")
    written = _manifest(4, "0")
    await storage.write_manifest("d/c.zst", written)
    assert await storage.read_manifest("d/c.zst") == written
