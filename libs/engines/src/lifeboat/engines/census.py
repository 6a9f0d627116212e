"""The census of a database: exact row counts per table and schema object counts.

Taken at backup time, consistent with the dump, and again in the scratch database a
verification restores into; :func:`compare` says how the two differ.

How the counts stay consistent with the dump:

* PostgreSQL (exact): a session opens a REPEATABLE READ transaction and exports its snapshot
  (``pg_export_snapshot()``); pg_dump runs with ``--snapshot=<id>`` and the counts run in a
  second session that imports the same snapshot, so both see exactly the same rows. The holding
  session stays open (idle in transaction) until both are done.
* MySQL/MariaDB (consistent, small window): snapshots cannot be shared between sessions. A
  session starts ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` right before mysqldump starts
  its own (``--single-transaction``) and counts in it while the dump runs. Rows committed in the
  window between the two snapshots (mysqldump starting and connecting, tens of milliseconds)
  would differ; non-InnoDB
  tables (MyISAM) are not transactional and are counted live.

Each count is an exact ``count(*)``: one extra scan of every table, run beside the dump.

Engine-specific SQL lives in :mod:`lifeboat.engines.postgres` and :mod:`lifeboat.engines.mysql`;
:attr:`lifeboat.engines.base.Engine.census_taker` picks the flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lifeboat.core.errors import DatabaseError
from lifeboat.engines import mysql, postgres
from lifeboat.engines.client import run_sql
from lifeboat.engines.common import Connection, Toolbox, child_env
from lifeboat.engines.credentials import Credentials, credentials
from lifeboat.engines.process import Child
from lifeboat.engines.registry import engine_for


@dataclass(frozen=True, slots=True)
class Census:
    """Rows per table (``schema.table`` for PostgreSQL, the table name for MySQL) and schema
    objects per kind (``tables``, ``views``, ``sequences``, ``functions``...)."""

    tables: dict[str, int] = field(default_factory=dict[str, int])
    objects: dict[str, int] = field(default_factory=dict[str, int])

    @property
    def rows(self) -> int:
        """Rows in all tables."""
        return sum(self.tables.values())


def parse_census_json(text: str) -> Census:
    """The census from the JSON line PostgreSQL printed (see ``postgres.CENSUS_QUERY``)."""
    lines = [line for line in text.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise DatabaseError(f"unexpected census output: {text[:200]!r}")
    raw = json.loads(lines[-1])
    tables = {str(k): int(v) for k, v in dict(raw.get("tables") or {}).items()}
    objects = {str(k): int(v) for k, v in dict(raw.get("objects") or {}).items()}
    return Census(tables=tables, objects=objects)


def compare(expected: Census, actual: Census) -> list[str]:
    """Every difference between the recorded census and the restored one, in words (empty: they
    agree)."""
    problems: list[str] = []
    for kind in sorted(set(expected.objects) | set(actual.objects)):
        want, got = expected.objects.get(kind, 0), actual.objects.get(kind, 0)
        if want != got:
            problems.append(f"{kind}: {got} restored, {want} recorded")
    for table in sorted(set(expected.tables) | set(actual.tables)):
        want_rows, got_rows = expected.tables.get(table), actual.tables.get(table)
        if want_rows is None:
            problems.append(f"table {table}: restored ({got_rows} rows) but not recorded")
        elif got_rows is None:
            problems.append(f"table {table}: recorded ({want_rows} rows) but not restored")
        elif want_rows != got_rows:
            problems.append(f"table {table}: {got_rows} rows restored, {want_rows} recorded")
    return problems


class Session:
    """An SQL client kept open: queries go to its stdin, answers are read up to a marker line.

    Used to hold a transaction open while other processes work (the snapshot of a backup).
    """

    def __init__(self, child: Child) -> None:
        self._child = child
        self._asked = 0

    async def ask(self, sql: str) -> list[str]:
        """Run `sql` and return the lines it printed.

        Raises:
            DatabaseError: the client exited (its stderr tail says why).
        """
        proc = self._child.proc
        assert proc.stdin is not None and proc.stdout is not None
        self._asked += 1
        marker = f"lifeboat-census-{self._asked}"
        try:
            proc.stdin.write(f"{sql}SELECT '{marker}';\n".encode())
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # its exit status below says why
        lines: list[str] = []
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                code = await self._child.wait()
                raise DatabaseError(self._child.failure(code))
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line == marker:
                return lines
            lines.append(line)

    async def close(self, sql: str = "") -> None:
        """Send `sql` (e.g. ``COMMIT;``), end the session and reap the client."""
        proc = self._child.proc
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if sql:
                proc.stdin.write(sql.encode())
                await proc.stdin.drain()
            proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await self._child.wait()
        await self._child.kill()


@asynccontextmanager
async def open_session(
    conn: Connection,
    creds: Credentials,
    *,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
) -> AsyncGenerator[Session]:
    """A :class:`Session` on ``conn.database``; the client is killed on exit."""
    engine = engine_for(conn.engine)
    name = engine.client_tool
    argv = engine.session_argv(toolbox.which(name), conn, creds)
    child = await Child.spawn(
        argv,
        name=name,
        env=child_env(base_env, creds.env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        secrets=creds.secrets,
    )
    try:
        yield Session(child)
    finally:
        await child.kill()


@dataclass(slots=True)
class SnapshotCensus:
    """What a census taker hands the backup: the dump argv to use and, once the dump ran, the
    census (``None`` with ``error`` set when it could not be taken)."""

    dump_argv: list[str]
    census: Census | None = None
    error: str | None = None


class CensusTaker(Protocol):
    """One engine's way to count rows consistently with its dump, and in a scratch database."""

    def during_dump(
        self,
        conn: Connection,
        creds: Credentials,
        dump_argv: list[str],
        *,
        toolbox: Toolbox,
        base_env: Mapping[str, str],
    ) -> contextlib.AbstractAsyncContextManager[tuple[SnapshotCensus, asyncio.Future[None]]]:
        """Enter right before the dump (yields the argv to use and the counting task; the
        census is filled once that task ends); exit after it."""
        ...

    async def now(
        self, conn: Connection, creds: Credentials, *, toolbox: Toolbox, base_env: Mapping[str, str]
    ) -> Census:
        """The census of ``conn.database`` as it is (a verification's scratch database)."""
        ...


async def take_census(
    conn: Connection, *, toolbox: Toolbox, base_env: Mapping[str, str], tmp_dir: Path | None
) -> Census:
    """The census of ``conn.database`` right now.

    Raises:
        DatabaseError: the client failed or printed something unexpected.
    """
    with credentials(conn, base_dir=tmp_dir) as creds:
        return await engine_for(conn.engine).census_taker.now(
            conn, creds, toolbox=toolbox, base_env=base_env
        )


@asynccontextmanager
async def _counting(
    taken: SnapshotCensus, census: Callable[[], Awaitable[Census]], snapshot: Session
) -> AsyncGenerator[asyncio.Future[None]]:
    """Take `census` in the background while the caller dumps (a failure is kept in
    ``taken.error``: the backup goes on without counts); afterwards stop it if still running
    and end the `snapshot` session's transaction."""

    async def count() -> None:
        try:
            taken.census = await census()
        except (DatabaseError, ValueError) as exc:
            taken.error = str(exc)

    counting = asyncio.ensure_future(count())
    try:
        yield counting
    finally:
        if not counting.done():
            counting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await counting
        await snapshot.close("COMMIT;\n")


class PostgresCensus:
    """PostgreSQL: an exported snapshot shared by pg_dump and the counting session (exact)."""

    @asynccontextmanager
    async def during_dump(
        self,
        conn: Connection,
        creds: Credentials,
        dump_argv: list[str],
        *,
        toolbox: Toolbox,
        base_env: Mapping[str, str],
    ) -> AsyncGenerator[tuple[SnapshotCensus, asyncio.Future[None]]]:
        """Hold the exported snapshot while pg_dump and the counts run in it."""
        async with open_session(conn, creds, toolbox=toolbox, base_env=base_env) as holder:
            snapshot = postgres.snapshot_id(
                "\n".join(await holder.ask(postgres.SNAPSHOT_BEGIN_SQL))
            )
            taken = SnapshotCensus(dump_argv=[*dump_argv, f"--snapshot={snapshot}"])

            async def census() -> Census:
                text = await run_sql(
                    conn,
                    creds,
                    postgres.census_sql(snapshot),
                    toolbox=toolbox,
                    base_env=base_env,
                    database=conn.database,
                    timeout=None,
                )
                return parse_census_json(text)

            async with _counting(taken, census, holder) as counting:
                yield taken, counting

    async def now(
        self, conn: Connection, creds: Credentials, *, toolbox: Toolbox, base_env: Mapping[str, str]
    ) -> Census:
        """The census of ``conn.database`` in one transaction."""
        text = await run_sql(
            conn,
            creds,
            postgres.census_sql(),
            toolbox=toolbox,
            base_env=base_env,
            database=conn.database,
            timeout=None,
        )
        return parse_census_json(text)


async def _mysql_census(session: Session) -> Census:
    tables = mysql.table_names(await session.ask(mysql.LIST_TABLES_SQL))
    counts: dict[str, int] = {}
    if tables:
        answers = [line for line in await session.ask(mysql.count_rows_sql(tables)) if line]
        if len(answers) != len(tables):
            raise DatabaseError(f"expected {len(tables)} row counts, got {len(answers)}")
        counts = {name: int(n) for name, n in zip(tables, answers, strict=True)}
    objects_line = [line for line in await session.ask(mysql.OBJECTS_SQL) if line]
    if len(objects_line) != 1:
        raise DatabaseError(f"unexpected object counts: {objects_line!r}")
    return Census(tables=counts, objects=mysql.parse_objects(objects_line[0]))


class MysqlCensus:
    """MySQL/MariaDB: counts in a consistent snapshot opened just before mysqldump's."""

    @asynccontextmanager
    async def during_dump(
        self,
        conn: Connection,
        creds: Credentials,
        dump_argv: list[str],
        *,
        toolbox: Toolbox,
        base_env: Mapping[str, str],
    ) -> AsyncGenerator[tuple[SnapshotCensus, asyncio.Future[None]]]:
        """Open the snapshot, then count in it while mysqldump runs."""
        async with open_session(conn, creds, toolbox=toolbox, base_env=base_env) as session:
            await session.ask(mysql.SNAPSHOT_BEGIN_SQL)
            taken = SnapshotCensus(dump_argv=dump_argv)
            async with _counting(taken, lambda: _mysql_census(session), session) as counting:
                yield taken, counting

    async def now(
        self, conn: Connection, creds: Credentials, *, toolbox: Toolbox, base_env: Mapping[str, str]
    ) -> Census:
        """The census of ``conn.database`` in one consistent snapshot."""
        async with open_session(conn, creds, toolbox=toolbox, base_env=base_env) as session:
            await session.ask(mysql.SNAPSHOT_BEGIN_SQL)
            census = await _mysql_census(session)
            await session.close("COMMIT;\n")
            return census
