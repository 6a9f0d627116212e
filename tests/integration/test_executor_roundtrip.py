"""The executor end to end over NATS: rich databases backed up and restored, failures, secrets.

An in-process executor serves queue ``itest`` (all tools) and a second one serves
``itest-notools`` (no dump tools on its tool path). Jobs are published with a plain Bus, the
events are read with a plain core subscription, and a ``>`` subscription records every
message that crosses NATS so the last test can prove no password ever did.
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats
import psycopg
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from lifeboat.core.crypto import Sealer
from lifeboat.core.naming import Compression, Engine
from lifeboat.executor.context import Context
from lifeboat.executor.worker import Executor
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import executor_event_decoder
from lifeboat.wire.messages import (
    BackupFinished,
    ExecutionLogLine,
    ExecutionStarted,
    RestoreFinished,
    RestoreJob,
    RestoreOptions,
)
from tests.support import dbs
from tests.support.executor_harness import (
    FINGERPRINT,
    MARKERS,
    MY_MARKER,
    MY_USER,
    NOTOOLS_QUEUE,
    PG_MARKER,
    QUEUE,
    ROW_COUNTS,
    SEAL_KEY,
    Harness,
    Recorder,
    add_junk,
    assert_nothing_left,
    backup,
    cached_backup,
    children_named,
    damage,
    executor_settings,
    inspect_running_dump,
    logs_of,
    notools_dir,
    restore,
    rich,
    scratch,
    storage_files,
    target_for,
)
from tests.support.richdb import (
    build_rich_my,
    build_rich_pg,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def my_user() -> Iterator[str]:
    """A MariaDB user whose password is the marker (every MySQL job here uses it)."""
    conn = dbs.my_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{MY_USER}'@'%'")
            cur.execute(f"CREATE USER '{MY_USER}'@'%%' IDENTIFIED BY %s", (MY_MARKER,))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{MY_USER}'@'%'")
        yield MY_USER
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{MY_USER}'@'%'")
        conn.close()


@pytest.fixture(scope="module")
async def harness(
    nats_url: str, tmp_path_factory: pytest.TempPathFactory, my_user: str
) -> AsyncIterator[Harness]:
    del my_user
    tmp = tmp_path_factory.mktemp("executor")
    (tmp / "private").mkdir()
    recorder = Recorder()
    spy: Client = await nats.connect(nats_url)

    async def on_any(msg: Msg) -> None:
        recorder.raw.append((msg.subject, msg.data))
        if msg.subject.startswith(f"{subjects.PREFIX}.events."):
            recorder.events.append(executor_event_decoder.decode(msg.data))

    await spy.subscribe(">", cb=on_any)
    bus = await Bus.connect(nats_url, name="itest-publisher")
    await bus.ensure_streams()
    stop = asyncio.Event()
    runners: list[asyncio.Task[None]] = []
    executors: list[Executor] = []
    for settings in (
        executor_settings(tmp, QUEUE),
        executor_settings(tmp, NOTOOLS_QUEUE, tool_path=notools_dir(tmp)),
    ):
        ex_bus = await Bus.connect(nats_url, name=f"itest-{settings.queue}")
        executor = Executor(Context.create(settings, os.environ), ex_bus)
        executors.append(executor)
        runners.append(asyncio.ensure_future(executor.run(stop)))
    try:
        yield Harness(
            bus=bus,
            recorder=recorder,
            storage=tmp / "backups",
            tmp_dir=tmp / "private",
            sealer=Sealer(SEAL_KEY),
            executor=executors[0],
        )
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*runners, return_exceptions=True), 30)
        for executor in executors:
            await executor.bus.close()
        await bus.close()
        await spy.drain()


@pytest.fixture(scope="module")
def rich_pg() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbt_richpg") as db:
        build_rich_pg(db.name)
        yield db


@pytest.fixture(scope="module")
def rich_my() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_my("lbt_richmy") as db:
        build_rich_my(db.name)
        yield db


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
async def test_roundtrip_into_new_database(
    harness: Harness,
    rich_pg: dbs.ScratchDb,
    rich_my: dbs.ScratchDb,
    engine: Engine,
    compression: Compression,
) -> None:
    h = harness
    source = rich(engine, rich_pg, rich_my)
    finished = await backup(h, source, compression=compression)
    assert finished.ok, finished.error_message
    assert finished.attempt == 1 and finished.compression == compression
    assert finished.relative_path and finished.file_name and finished.sha256
    assert finished.relative_path.endswith("/" + finished.file_name)
    assert finished.server_version and finished.tool_version
    assert finished.database_size_bytes and finished.database_size_bytes > 0
    artifact = h.storage / finished.relative_path
    assert artifact.stat().st_size == finished.size_bytes
    assert stat.S_IMODE(artifact.stat().st_mode) == 0o600
    magic = artifact.read_bytes()[:4]
    if compression == "zstd":
        assert magic == b"\x28\xb5\x2f\xfd"
    else:
        assert magic[:2] == b"\x1f\x8b"
    manifest = msgspec.json.decode(
        artifact.with_name(artifact.name + ".manifest.json").read_bytes()
    )
    assert manifest["sha256"] == finished.sha256 and manifest["sizeBytes"] == finished.size_bytes
    assert manifest["engine"] == engine

    events = h.recorder.for_execution(finished.execution_id)
    assert isinstance(events[0], ExecutionStarted) and events[0].attempt == 1
    messages = [e.message for e in logs_of(h, finished.execution_id)]
    tool = "pg_dump" if engine == "postgresql" else "mysqldump"
    assert any(m.startswith(f"Starting backup of {source.name}") for m in messages)
    assert any(m.startswith("Running") and tool in m for m in messages)
    assert any(
        m == f"Wrote {finished.size_bytes} bytes, sha256 {finished.sha256}" for m in messages
    )

    with scratch(engine) as target:
        restored = await restore(h, finished, engine, target)
        assert restored.ok, restored.error_message
        assert FINGERPRINT[engine](target.name) == FINGERPRINT[engine](source.name)
    assert not list(h.storage.rglob("*.part"))
    assert list(h.tmp_dir.iterdir()) == []


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
async def test_restore_options(
    harness: Harness, rich_pg: dbs.ScratchDb, rich_my: dbs.ScratchDb, engine: Engine
) -> None:
    h = harness
    source = rich(engine, rich_pg, rich_my)
    expected = FINGERPRINT[engine](source.name)
    finished = await cached_backup(h, engine, source)
    with scratch(engine) as target:
        add_junk(engine, target.name)
        # drop_and_recreate: junk gone, everything equal.
        done = await restore(h, finished, engine, target, RestoreOptions(drop_and_recreate=True))
        assert done.ok, done.error_message
        assert FINGERPRINT[engine](target.name) == expected
        # clean over a modified copy brings the original back.
        damage(engine, target.name)
        assert FINGERPRINT[engine](target.name) != expected
        done = await restore(h, finished, engine, target, RestoreOptions(clean=True))
        assert done.ok, done.error_message
        assert FINGERPRINT[engine](target.name) == expected
    with scratch(engine) as target:
        done = await restore(h, finished, engine, target, RestoreOptions(schema_only=True))
        assert done.ok, done.error_message
        counts = ROW_COUNTS[engine](target.name)
        assert counts and set(counts) >= set(ROW_COUNTS[engine](source.name)) - {
            "sales.status_counts"
        }
        assert all(n == 0 for n in counts.values()), counts
        done = await restore(h, finished, engine, target, RestoreOptions(data_only=True))
        assert done.ok, done.error_message
        assert FINGERPRINT[engine](target.name) == expected


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "overrides", "expected"),
    [
        ("postgresql", {"username": "lbt_no_such_role"}, 'role "lbt_no_such_role" does not exist'),
        ("mysql", {"password": "LBMARKmy9c1e-wrong"}, "Access denied"),
        ("postgresql", {"database": "lbt_gone_db"}, 'database "lbt_gone_db" does not exist'),
        ("mysql", {"database": "lbt_gone_db"}, "Unknown database"),
    ],
    ids=["pg-bad-role", "my-bad-password", "pg-db-gone", "my-db-gone"],
)
async def test_backup_failures_leave_nothing(
    harness: Harness,
    rich_pg: dbs.ScratchDb,
    rich_my: dbs.ScratchDb,
    engine: Engine,
    overrides: dict[str, object],
    expected: str,
) -> None:
    h = harness
    before = storage_files(h)
    finished = await backup(h, rich(engine, rich_pg, rich_my), target_overrides=overrides)
    assert not finished.ok
    assert finished.error_message and expected in finished.error_message
    assert finished.relative_path is None and finished.sha256 is None
    errors = [e for e in logs_of(h, finished.execution_id) if e.level == "error"]
    assert errors and expected in errors[-1].message
    assert_nothing_left(h, before)


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
async def test_backup_tool_missing(
    harness: Harness, rich_pg: dbs.ScratchDb, rich_my: dbs.ScratchDb, engine: Engine
) -> None:
    h = harness
    before = storage_files(h)
    finished = await backup(h, rich(engine, rich_pg, rich_my), queue=NOTOOLS_QUEUE)
    tool = "pg_dump" if engine == "postgresql" else "mysqldump"
    assert not finished.ok
    assert finished.error_message == f"{tool} not found on this executor"
    assert_nothing_left(h, before)


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
async def test_checksum_mismatch_leaves_target_untouched(
    harness: Harness, rich_pg: dbs.ScratchDb, rich_my: dbs.ScratchDb, engine: Engine
) -> None:
    h = harness
    finished = await cached_backup(h, engine, rich(engine, rich_pg, rich_my))
    with scratch(engine) as target:
        add_junk(engine, target.name)
        before = FINGERPRINT[engine](target.name)
        done = await restore(
            h, finished, engine, target, RestoreOptions(drop_and_recreate=True), sha256="0" * 64
        )
        assert not done.ok
        assert done.error_message and "checksum mismatch" in done.error_message
        assert FINGERPRINT[engine](target.name) == before


async def test_restore_refuses_other_engine(
    harness: Harness, rich_pg: dbs.ScratchDb, rich_my: dbs.ScratchDb
) -> None:
    finished = await cached_backup(harness, "postgresql", rich_pg)
    with dbs.scratch_my() as target:
        execution_id = str(uuid.uuid4())
        assert finished.relative_path and finished.sha256 and finished.size_bytes
        job = RestoreJob(
            execution_id=execution_id,
            target=target_for(harness, execution_id, target),
            source_path=finished.relative_path,
            source_engine="postgresql",
            compression="zstd",
            expected_sha256=finished.sha256,
            expected_size=finished.size_bytes,
            requested_at=datetime.now(UTC),
        )
        await harness.bus.publish_job(QUEUE, job, sign=harness.sealer.mac)
        done = await harness.recorder.finished(execution_id)
        assert not done.ok and done.error_message
        assert "cannot be restored into a mysql database" in done.error_message


# --- secrets --------------------------------------------------------------------------------------


async def test_no_secret_in_child_processes_pg(harness: Harness) -> None:
    h = harness
    with dbs.scratch_pg() as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        # An exclusive lock makes pg_dump wait, so it can be inspected while it runs.
        locker = psycopg.connect(
            host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=False
        )
        try:
            locker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            task = asyncio.ensure_future(backup(h, db))
            await inspect_running_dump("pg_dump", PG_MARKER, task)
        finally:
            locker.rollback()
            locker.close()
        finished = await task
        assert finished.ok, finished.error_message
    assert list(h.tmp_dir.iterdir()) == []


async def test_no_secret_in_child_processes_mysql(harness: Harness) -> None:
    h = harness
    with dbs.scratch_my() as db:
        locker = dbs.my_connect(db.name)
        try:
            with locker.cursor() as cur:
                cur.execute("CREATE TABLE t (x int) ENGINE=InnoDB")
                cur.execute("INSERT INTO t VALUES (1)")
                cur.execute("LOCK TABLES t WRITE")
            task = asyncio.ensure_future(backup(h, db))
            await inspect_running_dump("mysqldump", MY_MARKER, task)
        finally:
            with locker.cursor() as cur:
                cur.execute("UNLOCK TABLES")
            locker.close()
        finished = await task
        assert finished.ok, finished.error_message
    assert list(h.tmp_dir.iterdir()) == []


async def test_shutdown_fails_running_job_cleanly(
    nats_url: str, harness: Harness, tmp_path: Path
) -> None:
    """SIGTERM path: stop pulling, grace period, then a clean failed event and no file."""
    h = harness
    settings = executor_settings(tmp_path, "itest-stop")
    (tmp_path / "private").mkdir()
    ex_bus = await Bus.connect(nats_url, name="itest-stop")
    executor = Executor(Context.create(settings, os.environ), ex_bus)
    stop = asyncio.Event()
    runner = asyncio.ensure_future(executor.run(stop))
    try:
        with dbs.scratch_pg() as db:
            with dbs.pg_connect(db.name) as conn:
                conn.execute("CREATE TABLE t (x int)")
            locker = psycopg.connect(
                host=db.host, port=db.port, user=db.user, dbname=db.name, autocommit=False
            )
            try:
                locker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
                task = asyncio.ensure_future(backup(h, db, queue="itest-stop"))
                deadline = asyncio.get_running_loop().time() + 20
                while not children_named("pg_dump"):
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.02)
                stop.set()  # what the SIGTERM handler does
                finished = await asyncio.wait_for(task, 30)
            finally:
                locker.rollback()
                locker.close()
        assert not finished.ok
        assert finished.error_message and "shut down" in finished.error_message
        await asyncio.wait_for(runner, 30)
        assert not [p for p in (tmp_path / "backups").rglob("*") if p.is_file()]
        assert list((tmp_path / "private").iterdir()) == []
        assert not children_named("pg_dump")
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(runner, return_exceptions=True), 30)
        await ex_bus.close()


async def test_zz_no_secret_ever_crossed_nats(harness: Harness) -> None:
    """Runs last: every NATS message of this module, and every log line, is marker-free."""
    h = harness
    assert len(h.recorder.raw) > 50
    for subject, data in h.recorder.raw:
        for marker in MARKERS:
            assert marker.encode() not in data, subject
    for event in h.recorder.events:
        if isinstance(event, ExecutionLogLine):
            assert "LBMARK" not in event.message
        if isinstance(event, BackupFinished | RestoreFinished) and event.error_message:
            assert "LBMARK" not in event.error_message
