"""How the engines' backup, restore and probe fail, against the machine's PostgreSQL and MariaDB.

Tools that misbehave are small shell scripts put first on the tool path (a compressor that
fails or writes nothing, a client that answers nonsense); everything else is the real tool.
Each failure must be an error that says what went wrong, and must leave nothing half-written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifeboat.core.errors import BackupError, DatabaseError, IntegrityError, RestoreError
from lifeboat.core.naming import Engine
from lifeboat.engines.backup import dump_database
from lifeboat.engines.common import Connection, Toolbox
from lifeboat.engines.restore import RestorePlan, restore_database
from lifeboat.engines.server_info import probe
from lifeboat.storage.local import LocalStore
from tests.support import dbs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ENV = dict(os.environ)


class RecordingSink:
    """A sink that keeps what it got and whether it was committed or aborted."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.committed = False
        self.aborted = False

    async def write(self, chunk: bytes) -> None:
        self.data += chunk

    async def commit(self, *, size: int, sha256: str) -> None:
        assert size == len(self.data) and sha256
        self.committed = True

    async def abort(self) -> None:
        self.aborted = True


def _conn(db: dbs.ScratchDb) -> Connection:
    engine: Engine = "postgresql" if db.engine == "postgresql" else "mysql"
    return Connection(
        engine=engine,
        host=db.host,
        port=db.port,
        database=db.name,
        username=db.user,
        password=db.password,
    )


def _toolbox(tmp: Path, **scripts: str) -> Toolbox:
    """The system's tools, with `scripts` (name → shell script body) found first."""
    shims = tmp / "shims"
    shims.mkdir(exist_ok=True)
    for name, body in scripts.items():
        path = shims / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return Toolbox(search_path=f"{shims}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture(scope="module")
def pg_source() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbt_engfail") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (id int primary key, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200) g")
        yield db


@pytest.fixture(scope="module")
async def pg_artifact(
    pg_source: dbs.ScratchDb, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, int]:
    """A real zstd-compressed pg_dump of `pg_source`: (path, sha256, size)."""
    storage = LocalStore(tmp_path_factory.mktemp("engfail-artifacts"))
    sink = await storage.open_sink("pg/source.dump.zst")
    result = await dump_database(
        _conn(pg_source), sink=sink, compression="zstd", level=3, toolbox=Toolbox(), base_env=ENV
    )
    return sink.path, result.sha256, result.size_bytes


# --- backup ---------------------------------------------------------------------------------


async def test_a_missing_compressor_fails_before_connecting(
    pg_source: dbs.ScratchDb, tmp_path: Path
) -> None:
    only_pg_dump = tmp_path / "tools"
    only_pg_dump.mkdir()
    found = shutil.which("pg_dump")
    assert found is not None
    (only_pg_dump / "pg_dump").symlink_to(found)
    sink = RecordingSink()
    with pytest.raises(DatabaseError, match="zstd not found"):
        await dump_database(
            _conn(pg_source),
            sink=sink,
            compression="zstd",
            level=3,
            toolbox=Toolbox(search_path=str(only_pg_dump)),
            base_env=ENV,
        )
    assert sink.aborted and not sink.committed and not sink.data


async def test_a_failing_compressor_fails_the_backup_with_its_error(
    pg_source: dbs.ScratchDb, tmp_path: Path
) -> None:
    toolbox = _toolbox(tmp_path, zstd='cat >/dev/null; echo "zstd: no space left" >&2; exit 1')
    sink = RecordingSink()
    with pytest.raises(BackupError, match="zstd exited with status 1") as raised:
        await dump_database(
            _conn(pg_source), sink=sink, compression="zstd", level=3, toolbox=toolbox, base_env=ENV
        )
    assert "no space left" in raised.value.message
    assert sink.aborted and not sink.committed


async def test_an_empty_stream_is_not_a_backup(pg_source: dbs.ScratchDb, tmp_path: Path) -> None:
    toolbox = _toolbox(tmp_path, zstd="cat >/dev/null; exit 0")
    sink = RecordingSink()
    with pytest.raises(BackupError, match="produced no output"):
        await dump_database(
            _conn(pg_source), sink=sink, compression="zstd", level=3, toolbox=toolbox, base_env=ENV
        )
    assert sink.aborted and not sink.committed


# --- probe ----------------------------------------------------------------------------------


async def test_a_server_answer_that_makes_no_sense_is_a_database_error(
    pg_source: dbs.ScratchDb, tmp_path: Path
) -> None:
    toolbox = _toolbox(tmp_path, psql="cat >/dev/null; echo 'not a version'; exit 0")
    with pytest.raises(DatabaseError, match="cannot read the server's answer"):
        await probe(_conn(pg_source), toolbox=toolbox, base_env=ENV)


# --- restore: refused before anything touches the target ----------------------------------


async def _restore(
    db: dbs.ScratchDb,
    artifact: Path,
    *,
    sha256: str,
    size: int,
    plan: RestorePlan | None = None,
    source_engine: Engine = "postgresql",
) -> list[str]:
    logged: list[str] = []

    async def log(message: str) -> None:
        logged.append(message)

    result = await restore_database(
        _conn(db),
        artifact=artifact,
        source_engine=source_engine,
        compression="zstd",
        expected_sha256=sha256,
        expected_size=size,
        plan=plan or RestorePlan(),
        toolbox=Toolbox(),
        base_env=ENV,
        on_log=log,
    )
    return logged + result.warnings


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (RestorePlan(schema_only=True, data_only=True), "cannot be combined"),
        (RestorePlan(data_only=True, clean=True), "cannot be combined with clean"),
    ],
    ids=["schema-and-data-only", "data-only-and-clean"],
)
async def test_meaningless_option_combinations_are_refused(
    pg_source: dbs.ScratchDb, tmp_path: Path, plan: RestorePlan, message: str
) -> None:
    with pytest.raises(RestoreError, match=message):
        await _restore(pg_source, tmp_path / "none.zst", sha256="0" * 64, size=1, plan=plan)


async def test_a_missing_or_unopenable_artifact_is_refused(
    pg_source: dbs.ScratchDb, tmp_path: Path, pg_artifact: tuple[Path, str, int]
) -> None:
    path, sha256, size = pg_artifact
    with pytest.raises(RestoreError, match="does not exist"):
        await _restore(pg_source, tmp_path / "gone.zst", sha256=sha256, size=size)
    link = tmp_path / "link.zst"
    link.symlink_to(path)  # never followed: the artifact must be the file itself
    with pytest.raises(RestoreError, match="cannot open the backup file"):
        await _restore(pg_source, link, sha256=sha256, size=size)


async def test_without_a_log_callback_a_wrong_checksum_is_still_refused(
    pg_source: dbs.ScratchDb, pg_artifact: tuple[Path, str, int]
) -> None:
    path, _, size = pg_artifact
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        await restore_database(
            _conn(pg_source),
            artifact=path,
            source_engine="postgresql",
            compression="zstd",
            expected_sha256="0" * 64,
            expected_size=size,
            plan=RestorePlan(),
            toolbox=Toolbox(),
            base_env=ENV,
        )


# --- restore: the tools' verdicts ------------------------------------------------------------


async def test_errors_tolerated_on_request_come_back_as_warnings(
    pg_source: dbs.ScratchDb, pg_artifact: tuple[Path, str, int]
) -> None:
    """Restoring over existing tables without clean fails on every CREATE; asked to carry on,
    pg_restore exits 1 and the restore reports its errors as warnings."""
    path, sha256, size = pg_artifact
    with dbs.scratch_pg("lbt_engfail_dst") as target:
        await _restore(target, path, sha256=sha256, size=size)
        out = await _restore(
            target, path, sha256=sha256, size=size, plan=RestorePlan(exit_on_error=False)
        )
        assert any("pg_restore exited with status 1" in line for line in out), out
        with pytest.raises(RestoreError, match="pg_restore exited with status 1"):
            await _restore(target, path, sha256=sha256, size=size)


async def test_an_artifact_that_does_not_decompress_fails_the_restore(tmp_path: Path) -> None:
    """The checksum matches (the file is the recorded one) but it is not zstd: mysql reads an
    empty script and succeeds, the decompressor's failure is what the error says."""
    artifact = tmp_path / "garbage.sql.zst"
    artifact.write_bytes(b"this is not a zstd frame\n" * 100)
    data = artifact.read_bytes()
    with (
        dbs.scratch_my("lbt_engfail_my") as target,
        pytest.raises(RestoreError, match="cannot decompress the backup"),
    ):
        await _restore(
            target,
            artifact,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            source_engine="mysql",
            plan=RestorePlan(exit_on_error=False),
        )
