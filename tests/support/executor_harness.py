"""The in-process executor harness of tests/integration/test_executor_roundtrip.py: a recorder
of everything that crosses NATS, the executors' settings, publishing backup and restore jobs and
waiting for their end, and the helpers that damage databases or inspect running dump tools.

The module-scoped fixtures (the executors, the rich databases) stay in the test module.
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lifeboat.core.crypto import Sealer, generate_key
from lifeboat.core.naming import Compression, Engine, backup_file_name, backup_relative_dir
from lifeboat.engines.registry import engine_for
from lifeboat.executor.settings import Settings
from lifeboat.executor.worker import Executor
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    ExecutionLogLine,
    ExecutorEvent,
    RestoreFinished,
    RestoreJob,
    RestoreOptions,
    Target,
)
from tests.support import dbs
from tests.support.richdb import (
    my_fingerprint,
    my_row_counts,
    pg_fingerprint,
    pg_row_counts,
)

QUEUE = "itest"
NOTOOLS_QUEUE = "itest-notools"
SEAL_KEY = generate_key()
# Distinctive markers with characters that need escaping in .pgpass and option files.
PG_MARKER = "LBMARKpg7f3a:\\x'\"#"
MY_MARKER = "LBMARKmy9c1e#q\"u'o\\te; x:"
MARKERS = ("LBMARKpg7f3a", "LBMARKmy9c1e")
MY_USER = f"lbt_marker_{uuid.uuid4().hex[:8]}"


# --- harness ------------------------------------------------------------------------------------


@dataclass
class Recorder:
    """Every message seen on NATS, and the decoded executor events."""

    raw: list[tuple[str, bytes]] = field(default_factory=list[tuple[str, bytes]])
    events: list[ExecutorEvent] = field(default_factory=list[ExecutorEvent])

    def for_execution(self, execution_id: str) -> list[ExecutorEvent]:
        return [e for e in self.events if e.execution_id == execution_id]

    async def finished(
        self, execution_id: str, timeout: float = 60.0
    ) -> BackupFinished | RestoreFinished:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for event in self.for_execution(execution_id):
                if isinstance(event, BackupFinished | RestoreFinished):
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no finished event for {execution_id}")


@dataclass
class Harness:
    bus: Bus
    recorder: Recorder
    storage: Path
    tmp_dir: Path
    sealer: Sealer
    executor: Executor


def executor_settings(tmp: Path, queue: str, *, tool_path: str | None = None) -> Settings:
    env = {
        "NATS_URL": "unused",
        "EXECUTOR_QUEUE": queue,
        "DATA_DIR": str(tmp / "data"),
        "BACKUP_STORAGE_PATH": str(tmp / "backups"),
        "EXECUTOR_SEAL_KEY": SEAL_KEY,
        "EXECUTOR_ID": f"test-{queue}",
        "EXECUTOR_TMP_DIR": str(tmp / "private"),
        "EXECUTOR_SHUTDOWN_GRACE": "2",
    }
    if tool_path:
        env["EXECUTOR_TOOL_PATH"] = tool_path
    return Settings.from_env(env)


def notools_dir(tmp: Path) -> str:
    """A tool path with the clients and compressors but without pg_dump/mysqldump."""
    directory = tmp / "notools"
    directory.mkdir()
    for name in ("psql", "mysql", "pg_restore", "zstd", "gzip"):
        found = Path(f"/usr/bin/{name}")
        if found.exists():
            (directory / name).symlink_to(found)
    return str(directory)


def target_for(h: Harness, execution_id: str, db: dbs.ScratchDb, **overrides: object) -> Target:
    engine: Engine = "postgresql" if db.engine == "postgresql" else "mysql"
    password = PG_MARKER if engine == "postgresql" else MY_MARKER
    values: dict[str, object] = {
        "engine": engine,
        "host": db.host,
        "port": db.port,
        "database": db.name,
        "username": db.user if engine == "postgresql" else MY_USER,
        "password": password,
    }
    values.update(overrides)
    return Target(
        engine=engine,
        host=str(values["host"]),
        port=int(str(values["port"])),
        database=str(values["database"]),
        username=str(values["username"]),
        sealed_password=h.sealer.seal(str(values["password"]), bound_to=execution_id),
    )


async def backup(
    h: Harness,
    db: dbs.ScratchDb,
    *,
    compression: Compression = "zstd",
    queue: str = QUEUE,
    target_overrides: dict[str, object] | None = None,
) -> BackupFinished:
    execution_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    engine: Engine = "postgresql" if db.engine == "postgresql" else "mysql"
    job = BackupJob(
        execution_id=execution_id,
        target=target_for(h, execution_id, db, **(target_overrides or {})),
        database_label=db.name,
        backup_type="manual",
        compression=compression,
        relative_dir=backup_relative_dir(database=db.name, started_at=now),
        file_name=backup_file_name(
            database=db.name,
            backup_type="manual",
            started_at=now,
            execution_id=execution_id,
            extension=engine_for(engine).file_extension,
            compression=compression,
        ),
        requested_at=now,
    )
    await h.bus.publish_job(queue, job, sign=h.sealer.mac)
    finished = await h.recorder.finished(execution_id)
    assert isinstance(finished, BackupFinished)
    return finished


async def restore(
    h: Harness,
    source: BackupFinished,
    engine: Engine,
    db: dbs.ScratchDb,
    options: RestoreOptions | None = None,
    *,
    sha256: str | None = None,
) -> RestoreFinished:
    execution_id = str(uuid.uuid4())
    assert source.relative_path and source.sha256 and source.size_bytes and source.compression
    job = RestoreJob(
        execution_id=execution_id,
        target=target_for(h, execution_id, db),
        source_path=source.relative_path,
        source_engine=engine,
        compression=source.compression,
        expected_sha256=sha256 or source.sha256,
        expected_size=source.size_bytes,
        options=options or RestoreOptions(),
        requested_at=datetime.now(UTC),
    )
    await h.bus.publish_job(QUEUE, job, sign=h.sealer.mac)
    finished = await h.recorder.finished(execution_id)
    assert isinstance(finished, RestoreFinished)
    return finished


def logs_of(h: Harness, execution_id: str) -> list[ExecutionLogLine]:
    return [e for e in h.recorder.for_execution(execution_id) if isinstance(e, ExecutionLogLine)]


def storage_files(h: Harness) -> list[Path]:
    return sorted(p for p in h.storage.rglob("*") if p.is_file())


def assert_nothing_left(h: Harness, before: list[Path]) -> None:
    assert storage_files(h) == before
    assert not [p for p in h.storage.rglob("*.part")]
    assert list(h.tmp_dir.iterdir()) == []  # credential directories removed


FINGERPRINT = {"postgresql": pg_fingerprint, "mysql": my_fingerprint}
ROW_COUNTS = {"postgresql": pg_row_counts, "mysql": my_row_counts}


def scratch(engine: Engine) -> AbstractContextManager[dbs.ScratchDb]:
    return dbs.scratch_pg() if engine == "postgresql" else dbs.scratch_my()


def rich(engine: Engine, rich_pg: dbs.ScratchDb, rich_my: dbs.ScratchDb) -> dbs.ScratchDb:
    return rich_pg if engine == "postgresql" else rich_my


_BACKUPS: dict[Engine, BackupFinished] = {}


async def cached_backup(h: Harness, engine: Engine, db: dbs.ScratchDb) -> BackupFinished:
    if engine not in _BACKUPS:
        finished = await backup(h, db)
        assert finished.ok, finished.error_message
        _BACKUPS[engine] = finished
    return _BACKUPS[engine]


def add_junk(engine: Engine, name: str) -> None:
    if engine == "postgresql":
        with dbs.pg_connect(name) as conn:
            conn.execute("CREATE TABLE junk (x int); INSERT INTO junk VALUES (1)")
    else:
        conn = dbs.my_connect(name)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE junk (x int)")
            cur.execute("INSERT INTO junk VALUES (1)")
        conn.close()


def damage(engine: Engine, name: str) -> None:
    if engine == "postgresql":
        with dbs.pg_connect(name) as conn:
            conn.execute("DELETE FROM public.order_lines WHERE line_no = 2")
            conn.execute("""UPDATE "Weird Schema"."café_ü" SET "Größe" = 0""")
    else:
        conn = dbs.my_connect(name)
        with conn.cursor() as cur:
            cur.execute("DELETE FROM blobs WHERE id = 3")
            cur.execute("UPDATE `café_ü` SET `Größe` = 99")
        conn.close()


def proc_read(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def children_named(tool: str) -> list[int]:
    found: list[int] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat_line = proc_read(int(entry.name), "stat").decode(errors="replace")
        if not stat_line:
            continue
        fields = stat_line.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == me and f"({tool})" in stat_line:
            found.append(int(entry.name))
    return found


async def inspect_running_dump(
    tool: str, marker: str, task: asyncio.Future[BackupFinished]
) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        pids = children_named(tool)
        if pids:
            break
        assert not task.done(), "the dump finished before it could be inspected"
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"{tool} never started")
    for pid in pids:
        cmdline = proc_read(pid, "cmdline")
        environ = proc_read(pid, "environ")
        assert cmdline
        assert marker.encode() not in cmdline and b"LBMARK" not in cmdline
        assert b"LBMARK" not in environ
        assert b"PGPASSWORD" not in environ and b"MYSQL_PWD" not in environ
        # The credential file: 0600, in a 0700 directory, holding the password.
        if tool == "pg_dump":
            env = dict(item.split(b"=", 1) for item in environ.split(b"\x00") if b"=" in item)
            cred = Path(env[b"PGPASSFILE"].decode())
        else:
            arg = cmdline.split(b"\x00")[1].decode()
            assert arg.startswith("--defaults-extra-file=")
            cred = Path(arg.split("=", 1)[1])
        assert stat.S_IMODE(cred.stat().st_mode) == 0o600
        assert stat.S_IMODE(cred.parent.stat().st_mode) == 0o700
        assert "LBMARK" in cred.read_text()
