"""TeeSink: one stream to several copies; a failing copy never costs the others."""

from __future__ import annotations

import asyncio

import pytest

from lifeboat.core.errors import BackupError, FencedError, S3Error
from lifeboat.storage.tee import Copy, TeeSink


class Memory:
    """A sink keeping what it got; optionally failing at the n-th write or at commit."""

    def __init__(self, fail_at: int | None = None, fail_commit: bool = False) -> None:
        self.data = bytearray()
        self.writes = 0
        self.fail_at = fail_at
        self.fail_commit = fail_commit
        self.committed = False
        self.aborted = False

    async def write(self, chunk: bytes) -> None:
        self.writes += 1
        if self.fail_at is not None and self.writes >= self.fail_at:
            raise S3Error("S3 PutObject failed: cannot reach the endpoint (after 5 attempts)")
        await asyncio.sleep(0)
        self.data += chunk

    async def commit(self, *, size: int, sha256: str) -> None:
        if self.fail_commit:
            raise S3Error("complete failed")
        assert len(self.data) == size and sha256
        self.committed = True

    async def abort(self) -> None:
        self.aborted = True


async def feed(tee: TeeSink, chunks: int = 5) -> int:
    for i in range(chunks):
        await tee.write(bytes([i]) * 10)
    return chunks * 10


async def test_both_copies_get_every_byte() -> None:
    a, b = Memory(), Memory()
    tee = TeeSink([Copy(name="local", sink=a), Copy(name="s3", sink=b)])
    size = await feed(tee)
    await tee.commit(size=size, sha256="x")
    assert a.data == b.data and len(a.data) == size
    assert tee.copy("local").ok and tee.copy("s3").ok


async def test_failed_copy_is_aborted_and_the_other_completes() -> None:
    local, s3 = Memory(), Memory(fail_at=3)
    tee = TeeSink([Copy(name="local", sink=local), Copy(name="s3", sink=s3)])
    size = await feed(tee)
    await tee.commit(size=size, sha256="x")
    assert local.committed and len(local.data) == size
    assert s3.aborted and not s3.committed
    failed = tee.copy("s3")
    assert failed.status == "failed" and "after 5 attempts" in (failed.error or "")
    assert failed.error_code == "S3_ERROR"


async def test_commit_failure_of_one_copy() -> None:
    local, s3 = Memory(), Memory(fail_commit=True)
    tee = TeeSink([Copy(name="local", sink=local), Copy(name="s3", sink=s3)])
    await tee.commit(size=await feed(tee), sha256="x")
    assert tee.copy("local").ok and tee.copy("s3").status == "failed" and s3.aborted


async def test_every_copy_failing_raises() -> None:
    tee = TeeSink([Copy(name="a", sink=Memory(fail_at=1)), Copy(name="b", sink=Memory(fail_at=2))])
    with pytest.raises(BackupError, match="every copy failed"):
        await feed(tee)


async def test_required_copy_failing_raises() -> None:
    tee = TeeSink(
        [Copy(name="local", sink=Memory(fail_at=2), required=True), Copy(name="s3", sink=Memory())]
    )
    with pytest.raises(BackupError, match="local copy failed"):
        await feed(tee)


async def test_abort_discards_open_copies_only() -> None:
    a, b = Memory(), Memory()
    tee = TeeSink([Copy(name="a", sink=a), Copy(name="b", sink=b)])
    await feed(tee, 2)
    await tee.abort()
    assert a.aborted and b.aborted
    assert tee.copy("a").status == "failed"


class Fenced(Memory):
    """A copy whose guard finds the attempt fenced when it commits."""

    async def commit(self, *, size: int, sha256: str) -> None:
        raise FencedError("attempt 1 of e1 was replaced by attempt 2")


class Broken(Memory):
    """A copy failing with something that is not a Lifeboat error (a bug)."""

    async def write(self, chunk: bytes) -> None:
        raise RuntimeError("boom")


async def test_a_fenced_copy_stops_every_copy() -> None:
    """Fencing is not one copy failing: the whole backup stops and every copy goes."""
    local, s3 = Memory(), Fenced()
    tee = TeeSink([Copy(name="local", sink=local), Copy(name="s3", sink=s3)])
    size = await feed(tee)
    with pytest.raises(FencedError):
        await tee.commit(size=size, sha256="x")
    assert local.aborted and s3.aborted
    assert all(c.status == "failed" and c.error_code == "FENCED" for c in tee.copies)


async def test_an_unexpected_error_is_reported_as_internal() -> None:
    tee = TeeSink([Copy(name="local", sink=Memory()), Copy(name="s3", sink=Broken())])
    await tee.commit(size=await feed(tee), sha256="x")
    broken = tee.copy("s3")
    assert broken.error == "RuntimeError: boom" and broken.error_code == "INTERNAL_ERROR"


def test_copies_are_named_once_each() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TeeSink([])
    with pytest.raises(ValueError, match="unique"):
        TeeSink([Copy(name="a", sink=Memory()), Copy(name="a", sink=Memory())])
    with pytest.raises(KeyError):
        TeeSink([Copy(name="a", sink=Memory())]).copy("b")
