"""The world of the fault suite (tests/e2e/test_faults.py): its timings and environment, the
sources and baselines it is built from (:class:`World`, :class:`Side`), starting and watching
jobs (:class:`Job`), the checks run after each fault, and the NATS cluster probes.

The module-scoped fixtures and the tests stay in test_faults.py, so the world is built once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import nats

from lifeboat.storage.manifest import decode_manifest
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from scripts.devstack import Stack
from tests.e2e.test_s3_roundtrip import (
    ACCESS,
    SECRET,
)
from tests.e2e.test_system_roundtrip import add_database, ok
from tests.support.dbs import (
    PG_PASSWORD,
    PG_USER,
    ScratchDb,
    my_connect,
    scratch_my,
    scratch_pg,
    unique_name,
)
from tests.support.faults import (
    RestoreSessions,
    Watched,
)
from tests.support.richdb import my_fingerprint, pg_fingerprint

Engine = Literal["postgresql", "mysql"]
Kind = Literal["backup", "restore"]
ENGINES: tuple[Engine, ...] = ("postgresql", "mysql")
ENDED = ("completed", "failed", "cancelled")

SHIM_DIR = Path(__file__).parents[1] / "e2e" / "faultshim"
LEASE_S = 6.0
HEARTBEAT_S = 1.0
SLACK_S = 10.0
"""Added to every bound: restarts, reconnects (nats-py waits 2 s between tries), progress
reported once a second, and a 2-core machine shared with other work."""
RECOVERY_BOUND_S = LEASE_S + HEARTBEAT_S + 3.0
"""The README's bound (a silent executor's job starts again at most JOB_LEASE_SECONDS + about
1 s after its last heartbeat), plus 2 s for the record to show it on a busy machine."""
NATS_DOWN_S = 3.0
"""How long nats-server stays dead before it is restarted: several missed heartbeats, as a
supervisor's restart would take, but less than a lease."""
FILLER_MIB = 20
COMPRESS_BPS = 4_000_000
DECOMPRESS_BPS = 8_000_000
MIDWAY = 0.15
"""A job is hurt once this fraction of its bytes went through (and well before its end)."""
SETTLE_S = 3.0
"""After a woken executor's children exited: time for it to rename, complete uploads, write
manifests (what it would do last)."""
PARTLY = "partly restored"
MY_PASSWORD = f"lbfault-{uuid.uuid4().hex}"

FAULT_ENV = {
    "JOB_LEASE_SECONDS": str(int(LEASE_S)),
    "JOB_HEARTBEAT_SECONDS": str(int(HEARTBEAT_S)),
    "EXECUTOR_TOOL_PATH": f"{SHIM_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
    "FAULTSHIM_ZSTD_COMPRESS_BPS": str(COMPRESS_BPS),
    "FAULTSHIM_ZSTD_DECOMPRESS_BPS": str(DECOMPRESS_BPS),
    "LOG_LEVEL": "info",
}


# --- the world: sources, S3, baselines ----------------------------------------------------------


@dataclass
class Side:
    """One engine's source database, as recorded by the API, and its undisturbed timings."""

    engine: Engine
    source: ScratchDb
    source_id: str
    fingerprint: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict[str, Any])
    """A completed backup of the source: what the restores restore."""
    backup_s: float = 0.0
    restore_s: float = 0.0


@dataclass
class World:
    stack: Stack
    api: httpx.Client
    endpoint: str
    bucket: str
    s3_config_id: str
    my_user: str
    sessions: RestoreSessions
    sides: dict[Engine, Side]
    report: list[str]
    targets: contextlib.ExitStack

    def job_bound(self, kind: Kind) -> float:
        """How long one job may take here: twice the slowest undisturbed one."""
        took = [s.backup_s if kind == "backup" else s.restore_s for s in self.sides.values()]
        return 2 * max(took)

    def note(self, line: str) -> None:
        self.report.append(line)
        print(line, flush=True)


def fingerprint(engine: Engine, name: str) -> dict[str, Any]:
    return pg_fingerprint(name) if engine == "postgresql" else my_fingerprint(name)


def fill_incompressible_my(dbname: str, mib: int) -> None:
    """`mib` MiB of random bytes in table ``filler`` (one MiB per row)."""
    conn = my_connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE filler (id INT PRIMARY KEY, data LONGBLOB NOT NULL)")
            for i in range(mib):
                cur.execute("INSERT INTO filler VALUES (%s, %s)", (i, os.urandom(1 << 20)))
    finally:
        conn.close()


@contextlib.contextmanager
def mysql_user() -> Generator[str]:
    """The MariaDB user Lifeboat connects as; the test's own sessions use another one, so the
    restore sessions on a target can be told apart (no performance_schema here)."""
    user = unique_name("lbf")[:30]
    conn = my_connect()
    try:
        with conn.cursor() as cur:
            for host in ("%", "localhost"):
                # pymysql formats with %: the host wildcard is doubled where arguments follow.
                quoted = host.replace("%", "%%")
                cur.execute(f"CREATE USER '{user}'@'{quoted}' IDENTIFIED BY %s", (MY_PASSWORD,))
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'{host}'")
        yield user
    finally:
        with conn.cursor() as cur:
            for host in ("%", "localhost"):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        conn.close()


def register(world_api: httpx.Client, db: ScratchDb, my_user: str, **extra: Any) -> dict[str, Any]:
    if db.engine == "postgresql":
        return add_database(world_api, db, user=PG_USER, password=PG_PASSWORD, **extra)
    return add_database(world_api, db, user=my_user, password=MY_PASSWORD, **extra)


# --- jobs ---------------------------------------------------------------------------------------


@dataclass
class Job:
    kind: Kind
    engine: Engine
    id: str
    path: str
    submitted: float
    expected_bytes: int
    target: ScratchDb | None = None
    watched: Watched | None = None


def start_backup(world: World, engine: Engine) -> Job:
    side = world.sides[engine]
    body = {
        "databaseId": side.source_id,
        "uploadToS3": True,
        "storeLocally": True,
        "s3ConfigId": world.s3_config_id,
    }
    record = ok(world.api.post("/api/backups", json=body), 202)
    size = int(side.baseline.get("fileSizeBytes") or FILLER_MIB << 20)
    return Job(
        "backup", engine, record["id"], f"/api/backups/{record['id']}", time.monotonic(), size
    )


def start_restore(world: World, engine: Engine) -> Job:
    """A restore of the engine's baseline backup into a new, empty target (each restore has its
    own, so a stray attempt of an earlier test can never be mistaken for this one's)."""
    side = world.sides[engine]
    scratch = scratch_pg if engine == "postgresql" else scratch_my
    target = world.targets.enter_context(scratch("lbf_dst"))
    # No connection test through an executor: right after a test restarted them, the
    # executors may not listen yet (the job itself waits in its queue for them).
    database = register(world.api, target, world.my_user, skipConnectionTest=True)
    watched = world.sessions.watch(engine, target.name)
    body = {
        "databaseId": database["id"],
        "backupId": side.baseline["id"],
        "options": {"dropAndRecreate": True},
    }
    record = ok(world.api.post("/api/restores", json=body), 202)
    return Job(
        "restore",
        engine,
        record["id"],
        f"/api/restores/{record['id']}",
        time.monotonic(),
        int(side.baseline["fileSizeBytes"]),
        target,
        watched,
    )


def start(world: World, kind: Kind, engine: Engine) -> Job:
    return start_backup(world, engine) if kind == "backup" else start_restore(world, engine)


def fetch(world: World, job: Job) -> dict[str, Any] | None:
    """The job's record, or None while the API cannot answer (it may be down on purpose)."""
    try:
        resp = world.api.get(job.path, timeout=5)
    except httpx.TransportError:
        return None
    if resp.status_code != 200:
        return None
    record: dict[str, Any] = resp.json()["data"]
    return record


def wait_for(
    world: World, job: Job, what: Callable[[dict[str, Any]], bool], deadline: float
) -> dict[str, Any] | None:
    """Poll the record until `what` holds (returns it) or `deadline` passes (None)."""
    while time.monotonic() < deadline:
        record = fetch(world, job)
        if record is not None and what(record):
            return record
        time.sleep(0.1)
    return None


def wait_end(world: World, job: Job, deadline: float) -> dict[str, Any]:
    record = wait_for(world, job, lambda r: r["status"] in ENDED, deadline)
    if record is None:
        last = fetch(world, job)
        raise AssertionError(
            f"{job.kind} {job.id} ({job.engine}) did not end within the bound;"
            f" last seen: {last and (last['status'], last['attempt'], last['executorId'])}"
        )
    return record


def executor_service(stack: Stack, executor_id: str) -> str:
    """The stack's name ("executor", "executor#2") of the process whose id is `executor_id`
    (``<hostname>-<pid>`` by default)."""
    for name, proc in stack.procs.items():
        if name.startswith("executor") and executor_id.endswith(f"-{proc.pid}"):
            return name
    raise AssertionError(f"no running executor has id {executor_id}")


def wait_midway(world: World, job: Job) -> tuple[str, dict[str, Any]]:
    """Wait until the job runs and has moved MIDWAY of its bytes; returns the stack name of the
    executor running it and the record at that moment."""

    def under_way(r: dict[str, Any]) -> bool:
        if r["status"] in ENDED:
            raise AssertionError(f"{job.kind} {job.id} ended before the fault: {r}")
        return (
            r["status"] == "running"
            and bool(r["executorId"])
            and r["progressBytes"] >= MIDWAY * job.expected_bytes
        )

    record = wait_for(world, job, under_way, time.monotonic() + 60)
    assert record is not None, f"{job.kind} {job.id} never got under way"
    assert record["progressBytes"] < 0.8 * job.expected_bytes, "too late to call it mid-way"
    return executor_service(world.stack, record["executorId"]), record


# --- checks -------------------------------------------------------------------------------------


def _s3(world: World) -> S3Store:
    return S3Store(
        S3Settings(
            bucket=world.bucket,
            access_key_id=ACCESS,
            secret_access_key=SECRET,
            endpoint_url=world.endpoint,
            addressing_style="path",
        )
    )


def s3_sha256(world: World, key: str) -> tuple[str, int]:
    async def digest() -> tuple[str, int]:
        h = hashlib.sha256()
        size = 0
        async with _s3(world) as store:
            async for chunk in store.stream(key):
                h.update(chunk)
                size += len(chunk)
        return h.hexdigest(), size

    return asyncio.run(digest())


def s3_manifest_sha256(world: World, key: str) -> str:
    async def read() -> str:
        async with _s3(world) as store:
            return (await store.read_manifest(S3Store.manifest_key(key))).sha256

    return asyncio.run(read())


def s3_uploads(world: World) -> list[tuple[str, str]]:
    async def listing() -> list[tuple[str, str]]:
        async with _s3(world) as store:
            return await store.list_multipart_uploads()

    return asyncio.run(listing())


def storage_root(world: World) -> Path:
    return Path(world.stack.data_dir, "backups")


def check_backup(world: World, record: dict[str, Any]) -> None:
    """A completed backup's bytes, local and in S3, and both manifests, are the recorded ones;
    a failed one says why."""
    if record["status"] != "completed":
        assert record["status"] == "failed", record
        assert record["errorMessage"], f"failed without a reason: {record}"
        return
    checksum = record["checksum"]
    assert checksum and record["localStatus"] == "completed", record
    local = storage_root(world) / record["localPath"]
    data = local.read_bytes()
    assert hashlib.sha256(data).hexdigest() == checksum, (
        f"the local file of backup {record['id']} is not the recorded one"
    )
    assert len(data) == record["fileSizeBytes"]
    manifest = decode_manifest(Path(f"{local}.manifest.json").read_bytes())
    assert manifest.sha256 == checksum, "the local manifest is not the recorded backup's"
    assert record["s3Status"] == "completed", record.get("s3Error")
    digest, size = s3_sha256(world, record["s3Key"])
    assert digest == checksum, f"the S3 object of backup {record['id']} is not the recorded one"
    assert size == record["fileSizeBytes"]
    assert s3_manifest_sha256(world, record["s3Key"]) == checksum, "the S3 manifest differs"


def check_nothing_partial(world: World, job: Job) -> None:
    """No hidden partial file and no incomplete multipart upload of this execution (their
    names end with the first 8 characters of its id, see lifeboat.core.naming)."""
    if job.kind != "backup":
        return
    mark = job.id[:8]
    parts = [p for p in storage_root(world).rglob(".*.part") if mark in p.name]
    assert parts == [], f"partial files left behind: {parts}"
    uploads = [key for key, _ in s3_uploads(world) if mark in key]
    assert uploads == [], f"incomplete multipart uploads left behind: {uploads}"


def check_restore(world: World, job: Job, record: dict[str, Any], *, vanished: bool) -> None:
    """The record describes the target; never two restore sessions at once on it.

    `vanished`: the executor running it may have vanished mid-way (SIGKILL, SIGSTOP): a failed
    record must then say that the target may be partly restored."""
    assert job.target is not None and job.watched is not None
    assert world.sessions.error is None, world.sessions.error
    assert job.watched.samples > 0, "the restore sessions were never sampled"
    assert job.watched.max_sessions <= 1, (
        f"two restores at once into {job.target.name}: {job.watched.overlaps[:5]}"
    )
    state = fingerprint(job.engine, job.target.name)
    source = world.sides[job.engine].fingerprint
    if record["status"] == "completed":
        assert state == source, "restore recorded completed but the target is not the source"
        return
    assert record["status"] == "failed", record
    message = record["errorMessage"] or ""
    assert message, f"failed without a reason: {record}"
    if vanished:
        assert PARTLY in message, f"the record does not say the target may be partly: {message}"
    elif PARTLY not in message:
        assert state != source, f"recorded failed ({message}) but the target is fully restored"


def check(world: World, job: Job, record: dict[str, Any], *, vanished: bool = False) -> None:
    if job.kind == "backup":
        check_backup(world, record)
    else:
        check_restore(world, job, record, vanished=vanished)
    check_nothing_partial(world, job)


def ensure_executors(stack: Stack) -> None:
    """Both executors run (a test restarts what it killed; this catches what a failure left)."""
    for name in ("executor", "executor#2"):
        proc = stack.procs.get(name)
        if proc is None or proc.poll() is not None:
            stack.restart_service(name)


def describe(job: Job) -> str:
    return f"{'pg' if job.engine == 'postgresql' else 'mysql'} {job.kind}"


def why(record: dict[str, Any]) -> str:
    """The reason of a failed record, for the report."""
    message = str(record.get("errorMessage") or "").splitlines()
    return f" ({message[0][:120]!r})" if record["status"] != "completed" and message else ""


def stream_leader(url: str, stream: str) -> str:
    """The server name (n0, n1, n2) of the node leading `stream`'s replicas."""

    async def ask() -> str:
        nc = await nats.connect(servers=url.split(","))
        try:
            info = await nc.jetstream().stream_info(stream)
            assert info.config.num_replicas == 3, info.config  # NATS_REPLICAS reached it
            assert info.cluster is not None and info.cluster.leader, info
            return info.cluster.leader
        finally:
            await nc.close()

    return asyncio.run(ask())


def wait_replicas_current(url: str, stream: str, timeout: float = 30) -> None:
    """Until `stream` has a leader and both followers are current again (a restarted node
    caught up), so the next job does not start in the middle of the cluster healing."""

    async def ask() -> bool:
        nc = await nats.connect(servers=url.split(","))
        try:
            info = await nc.jetstream().stream_info(stream)
        except Exception:
            return False
        finally:
            await nc.close()
        cluster = info.cluster
        replicas = cluster.replicas or [] if cluster is not None else []
        return (
            cluster is not None
            and bool(cluster.leader)
            and len(replicas) == 2
            and all(r.current and not r.offline for r in replicas)
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if asyncio.run(ask()):
            return
        time.sleep(0.5)
    raise AssertionError(f"{stream} did not get all three replicas back within {timeout:g}s")
