"""Fencing with the real pieces: the leases bucket on a real nats-server, real pg_dump and
pg_restore, the executor's backup and restore code, and the executor process loop.

The interleavings a frozen executor produces are forced here deterministically: two attempts
of one execution claim the lease in a chosen order, and a stale attempt is "frozen" at the worst
moment (right after its last successful hold) by a fence that lets the newer attempt run there.
The fault suite (tests/e2e/test_faults.py) does the same with SIGSTOP on real processes.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import nats
import pytest
from nats.aio.msg import Msg

from lifeboat.core.crypto import Sealer
from lifeboat.core.errors import FencedError, JobCancelledError
from lifeboat.core.naming import attempt_file_name
from lifeboat.executor.backup import run_backup
from lifeboat.executor.context import Context
from lifeboat.executor.restore import run_restore
from lifeboat.executor.settings import Settings
from lifeboat.executor.worker import Executor
from lifeboat.wire import subjects
from lifeboat.wire.bus import JOB_MAC_HEADER, LEASE_TTL_S, Bus, job_dedup_id
from lifeboat.wire.codec import encode, executor_event_decoder
from lifeboat.wire.lease import Fence, LeasePhase, request_cancel, verdict
from lifeboat.wire.messages import (
    BackupFinished,
    ExecutionStarted,
    ExecutorEvent,
    RestoreFinished,
    RestoreOptions,
)
from tests.support import dbs
from tests.support.fencing import (
    QUEUE,
    SEAL_KEY,
    FreezingFence,
    backup_job,
    claimed,
    files_of,
    reporter,
    restore_job,
    sha256_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-fencing")
    await connected.ensure_streams()
    await connected.ensure_fencing(ttl_s=LEASE_TTL_S)
    yield connected
    await connected.close()


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    tmp = tmp_path_factory.mktemp("fencing")
    (tmp / "private").mkdir()
    settings = Settings.from_env(
        {
            "EXECUTOR_QUEUE": QUEUE,
            "DATA_DIR": str(tmp / "data"),
            "BACKUP_STORAGE_PATH": str(tmp / "backups"),
            "EXECUTOR_SEAL_KEY": SEAL_KEY,
            "EXECUTOR_ID": "fencing-test",
            "EXECUTOR_TMP_DIR": str(tmp / "private"),
            "JOB_LEASE_SECONDS": "6",
            "JOB_HEARTBEAT_SECONDS": "1",
        }
    )
    context = Context.create(settings, os.environ)
    context.storage.ensure_root()
    return context


@pytest.fixture(scope="module")
def source() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbfence") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (id int primary key, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) AS g")
        yield db


# --- the lease itself -----------------------------------------------------------------------------


def test_verdicts() -> None:
    from lifeboat.wire.lease import Lease

    at = datetime.now(UTC)

    def lease(attempt: int, phase: LeasePhase, touched_by: int | None = None) -> Lease:
        return Lease(
            execution_id="x",
            attempt=attempt,
            executor_id="e",
            phase=phase,
            at=at,
            touched_by=touched_by,
        )

    assert verdict(None, attempt=1, restore=False) == "run"
    assert verdict(lease(1, "claimed"), attempt=2, restore=False) == "run"
    assert verdict(lease(1, "claimed"), attempt=1, restore=False) == "stale"
    assert verdict(lease(3, "claimed"), attempt=2, restore=True) == "stale"
    assert verdict(lease(1, "finished"), attempt=2, restore=False) == "ended"
    assert verdict(lease(1, "finished"), attempt=1, restore=True) == "ended"
    assert verdict(lease(1, "claimed"), attempt=2, restore=True) == "run"
    assert verdict(lease(1, "touching", touched_by=1), attempt=2, restore=True) == "interrupted"
    # A replayed copy of a running job (another stream message) never takes the lease over,
    # whatever its delivery count.
    replayed = msgspec.structs.replace(lease(1, "claimed"), message=7)
    assert verdict(replayed, attempt=3, restore=False, message=8) == "duplicate"
    assert verdict(replayed, attempt=2, restore=False, message=7) == "run"
    assert (
        verdict(
            msgspec.structs.replace(replayed, phase="finished"), attempt=1, restore=False, message=8
        )
        == "ended"
    )


async def test_a_newer_attempt_fences_the_older_one(bus: Bus) -> None:
    execution_id = str(uuid.uuid4())
    first = await claimed(bus, execution_id, 1)
    await first.hold()
    second = await claimed(bus, execution_id, 2)
    with pytest.raises(FencedError):
        await first.hold()
    assert not await first.still_mine()
    assert await second.still_mine()
    await second.hold()
    await second.finish(b"result")
    with pytest.raises(FencedError):
        await first.finish(b"stale result")
    third = Fence(bus, execution_id=execution_id, attempt=3, executor_id="ex-3")
    assert await third.claim(restore=False) == "ended"
    assert third.previous is not None and third.previous.result == b"result"


async def test_one_attempts_concurrent_holds_take_turns(bus: Bus) -> None:
    """The local and S3 copies of one backup commit at once: both holds must pass."""
    fence = await claimed(bus, str(uuid.uuid4()), 1)
    await asyncio.gather(fence.hold(), fence.hold(), fence.hold())
    assert await fence.still_mine()


async def test_cancellation_is_seen_by_every_hold(bus: Bus) -> None:
    execution_id = str(uuid.uuid4())
    fence = await claimed(bus, execution_id, 1)
    await fence.hold()
    await request_cancel(bus, execution_id, by="alice@example.com")
    with pytest.raises(JobCancelledError, match="alice"):
        await fence.hold()
    with pytest.raises(JobCancelledError):
        await fence.finish(b"done")
    # What the executor records after cleaning up goes through.
    await fence.finish(b"cancelled", cancellable=False)


# --- backups --------------------------------------------------------------------------------------


async def test_a_stale_backup_attempt_changes_nothing(
    bus: Bus, ctx: Context, source: dbs.ScratchDb
) -> None:
    """Attempt 1 is overtaken before it publishes: attempt 2 completes, then attempt 1 runs to
    its end — its commit is refused and it leaves no file, partial or complete."""
    job = backup_job(source)
    first = await claimed(bus, job.execution_id, 1)
    second = await claimed(bus, job.execution_id, 2)
    done = await run_backup(
        ctx, job, reporter(bus, job.execution_id, 2), second, started_at=datetime.now(UTC)
    )
    assert done.ok and done.relative_path is not None
    assert done.file_name == attempt_file_name(job.file_name, 2) != job.file_name
    await second.finish(encode(done))
    recorded = ctx.storage.path_of(done.relative_path)
    before = (sha256_of(recorded), recorded.stat().st_mtime_ns, files_of(ctx, job))
    assert before[0] == done.sha256

    with pytest.raises(FencedError):
        await run_backup(
            ctx, job, reporter(bus, job.execution_id, 1), first, started_at=datetime.now(UTC)
        )
    assert (sha256_of(recorded), recorded.stat().st_mtime_ns, files_of(ctx, job)) == before
    assert not any(name.endswith(".part") for name in files_of(ctx, job))


async def test_a_backup_attempt_frozen_right_after_its_hold_is_undone(
    bus: Bus, ctx: Context, source: dbs.ScratchDb
) -> None:
    """The worst moment: attempt 1 proved it held the job, then froze before publishing; attempt
    2 takes over and completes meanwhile. Attempt 1 then publishes (under its own name, never
    over attempt 2's), finds the lease gone before the manifest, and removes what it made."""
    job = backup_job(source)
    first = await claimed(bus, job.execution_id, 1)
    results: list[BackupFinished] = []

    async def newer_attempt_runs() -> None:
        second = await claimed(bus, job.execution_id, 2)
        done = await run_backup(
            ctx, job, reporter(bus, job.execution_id, 2), second, started_at=datetime.now(UTC)
        )
        await second.finish(encode(done))
        results.append(done)

    frozen = FreezingFence(first, freeze_after=1, while_frozen=newer_attempt_runs)
    try:
        stale = await run_backup(
            ctx, job, reporter(bus, job.execution_id, 1), frozen, started_at=datetime.now(UTC)
        )
    except FencedError:
        pass
    else:
        # Attempt 2 removed attempt 1's temporary file while it was frozen, so its publish
        # failed; either way it can record nothing.
        assert not stale.ok
        with pytest.raises(FencedError):
            await frozen.finish(encode(stale))
    [done] = results
    assert done.ok and done.relative_path is not None
    assert sha256_of(ctx.storage.path_of(done.relative_path)) == done.sha256
    names = files_of(ctx, job)
    assert names == sorted([done.file_name or "", f"{done.file_name}.manifest.json"])


async def test_a_newer_attempt_removes_what_a_killed_one_left(
    bus: Bus, ctx: Context, source: dbs.ScratchDb
) -> None:
    job = backup_job(source)
    directory = ctx.storage.path_of(job.relative_dir)
    directory.mkdir(parents=True, exist_ok=True)
    # A killed attempt 1: a half-written temporary file, and a published artifact without
    # its manifest (killed between the two).
    (directory / f".{job.file_name}.0123456789ab.part").write_bytes(b"half")
    (directory / job.file_name).write_bytes(b"complete but never recorded")
    await claimed(bus, job.execution_id, 1)
    second = await claimed(bus, job.execution_id, 2)
    done = await run_backup(
        ctx, job, reporter(bus, job.execution_id, 2), second, started_at=datetime.now(UTC)
    )
    assert done.ok
    assert files_of(ctx, job) == sorted([done.file_name or "", f"{done.file_name}.manifest.json"])


# --- restores -------------------------------------------------------------------------------------


async def test_a_restore_touches_its_target_at_most_once(
    bus: Bus, ctx: Context, source: dbs.ScratchDb
) -> None:
    """Attempt 1 holds the restore and freezes after it started changing the target; attempt 2
    must not run; attempt 1's real outcome is what gets recorded."""
    job = backup_job(source)
    backup_fence = await claimed(bus, job.execution_id, 1)
    done = await run_backup(
        ctx, job, reporter(bus, job.execution_id, 1), backup_fence, started_at=datetime.now(UTC)
    )
    assert done.ok and done.relative_path and done.sha256 and done.size_bytes
    with dbs.scratch_pg("lbfence_target") as target:
        restore = restore_job(done, target, RestoreOptions())
        restore_id = restore.execution_id
        first = await claimed(bus, restore_id, 1, restore=True)
        verdicts: list[str] = []

        async def newer_attempt_arrives() -> None:
            second = Fence(bus, execution_id=restore_id, attempt=2, executor_id="ex-2")
            decided = await second.claim(restore=True)
            verdicts.append(decided)
            assert second.previous is not None
            assert await second.conclude(b"interrupted", touched_by=second.previous.touched_by)

        frozen = FreezingFence(first, freeze_after=1, while_frozen=newer_attempt_arrives)
        result = await run_restore(
            ctx,
            restore,
            reporter(bus, restore_id, 1, "restore"),
            frozen,
            started_at=datetime.now(UTC),
        )
        assert verdicts == ["interrupted"]
        assert result.ok, result.error_message
        # The attempt that touched the target records its real outcome over the verdict.
        await first.finish(encode(result))
        late = Fence(bus, execution_id=restore_id, attempt=3, executor_id="ex-3")
        assert await late.claim(restore=True) == "ended"
        assert late.previous is not None and late.previous.result == encode(result)
        with dbs.pg_connect(target.name) as conn:
            row = conn.execute("SELECT count(*), sum(id) FROM t").fetchone()
        assert row == (20000, 20000 * 20001 // 2)


async def test_a_fenced_restore_never_touches_the_target(
    bus: Bus, ctx: Context, source: dbs.ScratchDb
) -> None:
    job = backup_job(source)
    backup_fence = await claimed(bus, job.execution_id, 1)
    done = await run_backup(
        ctx, job, reporter(bus, job.execution_id, 1), backup_fence, started_at=datetime.now(UTC)
    )
    assert done.ok and done.relative_path and done.sha256 and done.size_bytes
    with dbs.scratch_pg("lbfence_untouched") as target:
        restore = restore_job(done, target, RestoreOptions(drop_and_recreate=True))
        restore_id = restore.execution_id
        with dbs.pg_connect(target.name) as conn:
            conn.execute("CREATE TABLE sentinel (x int)")
        first = await claimed(bus, restore_id, 1, restore=True)
        await claimed(bus, restore_id, 2, restore=True)
        with pytest.raises(FencedError):
            await run_restore(
                ctx,
                restore,
                reporter(bus, restore_id, 1, "restore"),
                first,
                started_at=datetime.now(UTC),
            )
        with dbs.pg_connect(target.name) as conn:
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        assert tables == [("sentinel",)]


# --- the executor loop: replayed and forged job messages ------------------------------------------


@pytest.fixture(scope="module")
async def executor(ctx: Context, nats_url: str, bus: Bus) -> AsyncIterator[Executor]:
    del bus  # streams and buckets first
    ex_bus = await Bus.connect(nats_url, name="fencing-executor")
    running = Executor(ctx, ex_bus)
    stop = asyncio.Event()
    task = asyncio.ensure_future(running.run(stop))
    yield running
    stop.set()
    await asyncio.wait_for(task, 30)
    await ex_bus.close()


async def test_replayed_and_forged_job_messages_change_nothing(
    executor: Executor, nats_url: str, ctx: Context, source: dbs.ScratchDb
) -> None:
    del executor
    seen: list[ExecutorEvent] = []
    spy = await nats.connect(nats_url)

    async def on_event(msg: Msg) -> None:
        seen.append(executor_event_decoder.decode(msg.data))

    await spy.subscribe(f"{subjects.PREFIX}.events.>", cb=on_event)
    js = spy.jetstream()
    sealer = Sealer(SEAL_KEY)

    async def results(execution_id: str, count: int) -> list[BackupFinished]:
        for _ in range(300):
            found = [
                e for e in seen if isinstance(e, BackupFinished) and e.execution_id == execution_id
            ]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"{count} result(s) of {execution_id} never came")

    try:
        job = backup_job(source)
        data = encode(job)
        headers = {"Nats-Msg-Id": job_dedup_id(job), JOB_MAC_HEADER: sealer.mac(data)}
        await js.publish(subjects.job_subject(QUEUE), data, headers=headers)
        [first] = await results(job.execution_id, 1)
        assert first.ok and first.relative_path
        recorded = ctx.storage.path_of(first.relative_path)
        before = (recorded.stat().st_ino, recorded.stat().st_mtime_ns, files_of(ctx, job))

        # Replayed later under another message id (past the de-duplication window).
        await js.publish(
            subjects.job_subject(QUEUE), data, headers={**headers, "Nats-Msg-Id": "replay-1"}
        )
        _, again = await results(job.execution_id, 2)
        assert again == first  # the stored result, published again; nothing ran
        starts = [
            e
            for e in seen
            if isinstance(e, ExecutionStarted) and e.execution_id == job.execution_id
        ]
        assert len(starts) == 1
        assert (recorded.stat().st_ino, recorded.stat().st_mtime_ns, files_of(ctx, job)) == before

        # Forged: no signature, a wrong one, a signature of other bytes, an old job.
        forged = [backup_job(source) for _ in range(4)]
        old = msgspec.structs.replace(
            forged[3], requested_at=datetime.now(UTC) - timedelta(days=30)
        )
        attempts: list[tuple[bytes, dict[str, str]]] = [
            (encode(forged[0]), {}),
            (encode(forged[1]), {JOB_MAC_HEADER: "0" * 64}),
            (encode(forged[2]), {JOB_MAC_HEADER: sealer.mac(encode(forged[0]))}),
            (encode(old), {JOB_MAC_HEADER: sealer.mac(encode(old))}),
        ]
        for payload, extra in attempts:
            await js.publish(
                subjects.job_subject(QUEUE),
                payload,
                headers={"Nats-Msg-Id": str(uuid.uuid4()), **extra},
            )
        await asyncio.sleep(3)
        forged_ids = {j.execution_id for j in forged}
        assert not [e for e in seen if e.execution_id in forged_ids]
        for j in forged:
            assert files_of(ctx, j) == [] or not any(
                j.execution_id[:8] in n for n in files_of(ctx, j)
            )
    finally:
        await spy.drain()


async def test_restore_results_carry_what_happened(bus: Bus) -> None:
    """The worker's verdict for a redelivered restore whose older attempt touched the target."""
    restore_id = str(uuid.uuid4())
    first = await claimed(bus, restore_id, 1, restore=True)
    await first.hold("touching")
    second = Fence(bus, execution_id=restore_id, attempt=2, executor_id="ex-2")
    assert await second.claim(restore=True) == "interrupted"
    assert second.previous is not None and second.previous.touched_by == 1
    stored = encode(
        RestoreFinished(
            execution_id=restore_id,
            attempt=2,
            ok=False,
            started_at=datetime.now(UTC),
            finished_at=datetime.now(UTC),
            error_message="the target may be partly restored",
            interrupted_attempt=1,
        )
    )
    assert await second.conclude(stored, touched_by=1)
    # A third delivery (or a replay) only republishes that verdict.
    third = Fence(bus, execution_id=restore_id, attempt=3, executor_id="ex-3")
    assert await third.claim(restore=True) == "ended"
