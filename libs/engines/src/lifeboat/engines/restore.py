"""The restore pipeline of DESIGN.md, with the raw dump kept out of Python (default)::

    artifact fd ──> zstd -d/gzip -d ──OS pipe──> pg_restore / mysql

Only MySQL schema-only/data-only restores route the decompressed SQL through Python, to filter
it (see :func:`lifeboat.engines.mysql.filter_dump`). Also owns the restore options
(:class:`RestorePlan`) and their check (:func:`check_plan`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lifeboat.core.errors import (
    RestoreError,
)
from lifeboat.core.naming import Compression, Engine
from lifeboat.engines import mysql, postgres
from lifeboat.engines.client import run_sql
from lifeboat.engines.common import (
    Connection,
    Toolbox,
    child_env,
    decompressor_argv,
)
from lifeboat.engines.credentials import credentials
from lifeboat.engines.process import Child
from lifeboat.engines.server_info import restore_tool
from lifeboat.engines.streams import (
    CHUNK_SIZE,
    PROGRESS_INTERVAL_S,
    LogFn,
    ProgressFn,
    Throttle,
    ToolExit,
    kill_all,
    open_pipe,
    report_read_progress,
    shared_position,
)
from lifeboat.engines.verify import verify_artifact


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """The restore options of SPEC §5.3.3 (mirrors ``lifeboat.wire.messages.RestoreOptions``).

    For MySQL, ``clean`` means drop-and-recreate: mysqldump output already drops and
    recreates each table, but only a fresh database also removes views, routines, events and
    tables that are not in the dump.
    """

    drop_and_recreate: bool = False
    clean: bool = False
    schema_only: bool = False
    data_only: bool = False
    no_owner: bool = False
    exit_on_error: bool = True


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A completed restore."""

    exits: tuple[ToolExit, ...]
    warnings: list[str] = field(default_factory=list[str])


async def _pieces(reader: asyncio.StreamReader) -> AsyncIterator[tuple[bytes, bool]]:
    """Lines of `reader` as ``(bytes, complete)``; over-long lines come in several pieces."""
    while True:
        try:
            yield await reader.readuntil(b"\n"), True
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                yield exc.partial, True
            return
        except asyncio.LimitOverrunError as exc:
            # A line longer than the buffer (a huge row): pass it on without holding it whole.
            yield await reader.readexactly(exc.consumed), False


async def _pump_filtered(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    dump_filter: mysql.DumpFilter,
) -> None:
    """Copy decompressed mysqldump output to the client, filtered line by line."""
    buffer: list[bytes] = []
    buffered = 0
    try:
        decision: bool | None = None
        async for piece, complete in _pieces(reader):
            if decision is None:
                decision = dump_filter.begin(piece)
            if complete:
                dump_filter.end(piece)
            if decision:
                buffer.append(piece)
                buffered += len(piece)
            if complete:
                decision = None
            if buffered >= CHUNK_SIZE:
                writer.write(b"".join(buffer))
                buffer.clear()
                buffered = 0
                await writer.drain()
        if buffer:
            writer.write(b"".join(buffer))
            await writer.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client exited early; its exit status tells why
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _no_log(_message: str) -> None:
    return None


def check_plan(engine: Engine, plan: RestorePlan) -> None:
    """Refuse option combinations that cannot mean anything.

    Raises:
        RestoreError: e.g. schema-only together with data-only.
    """
    if plan.schema_only and plan.data_only:
        raise RestoreError("schema_only and data_only cannot be combined")
    if plan.data_only and (plan.clean or plan.drop_and_recreate):
        raise RestoreError(
            "data_only loads rows into existing tables; it cannot be combined with"
            " clean or drop_and_recreate"
        )
    del engine


async def restore_database(
    conn: Connection,
    *,
    artifact: Path,
    source_engine: Engine,
    compression: Compression,
    expected_sha256: str,
    expected_size: int,
    plan: RestorePlan,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None = None,
    on_progress: ProgressFn | None = None,
    on_log: LogFn | None = None,
    progress_interval: float = PROGRESS_INTERVAL_S,
    before_touch: Callable[[], Awaitable[None]] | None = None,
) -> RestoreResult:
    """Load `artifact` into ``conn.database``.

    Order: engine and option checks, artifact checksum and size (nothing touches the target
    before they pass), tool look-up, `before_touch` (raising stops the restore before the
    target changes: the executor's lease), then the optional drop-and-recreate, then
    ``decompress | pg_restore`` or ``decompress | mysql``.

    Raises:
        IntegrityError: the artifact is not the recorded one.
        RestoreError: engine mismatch, bad options, or the loading tool failed.
        DatabaseError: a tool is missing, or the drop-and-recreate step failed.
    """
    log = on_log or _no_log
    if source_engine != conn.engine:
        raise RestoreError(
            f"a {source_engine} backup cannot be restored into a {conn.engine} database"
        )
    check_plan(conn.engine, plan)
    try:
        fd = os.open(artifact, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise RestoreError("the backup file does not exist on this executor") from None
    except OSError as exc:
        raise RestoreError(f"cannot open the backup file: {exc.strerror}") from None
    try:
        await log("Verifying checksum and size")
        await verify_artifact(fd, expected_sha256=expected_sha256, expected_size=expected_size)
        await log(f"Checksum verified ({expected_size} bytes, sha256 {expected_sha256})")
        loader = restore_tool(conn.engine)
        loader_path = toolbox.which(loader)
        decomp_argv = decompressor_argv(toolbox, compression)
        client_path = toolbox.which("psql" if conn.engine == "postgresql" else "mysql")
        del client_path  # looked up now so a missing client fails before the target changes
        if before_touch is not None:
            await before_touch()
        with credentials(conn, base_dir=tmp_dir) as creds:
            recreate = plan.drop_and_recreate or (conn.engine == "mysql" and plan.clean)
            if recreate:
                await log(f"Dropping and recreating database {conn.database}")
                if conn.engine == "postgresql":
                    sql = postgres.drop_and_recreate_sql(conn.database)
                    admin_db: str | None = postgres.MAINTENANCE_DB
                else:
                    sql = mysql.drop_and_recreate_sql(conn.database)
                    admin_db = None
                await run_sql(
                    conn,
                    creds,
                    sql,
                    toolbox=toolbox,
                    base_env=base_env,
                    database=admin_db,
                    timeout=300.0,
                    error=RestoreError,
                )
            env = child_env(base_env, creds.env)
            if conn.engine == "postgresql":
                disable_triggers = False
                if plan.data_only:
                    answer = await run_sql(
                        conn,
                        creds,
                        postgres.IS_SUPERUSER_SQL,
                        toolbox=toolbox,
                        base_env=base_env,
                        database=conn.database,
                        error=RestoreError,
                    )
                    disable_triggers = answer.strip() == "t"
                    if not disable_triggers:
                        await log(
                            "Not a superuser: triggers and foreign keys stay active during"
                            " the data-only restore"
                        )
                argv = postgres.restore_argv(
                    loader_path,
                    conn,
                    exit_on_error=plan.exit_on_error,
                    # After drop-and-recreate the database is empty: nothing to clean.
                    clean=plan.clean and not plan.drop_and_recreate,
                    schema_only=plan.schema_only,
                    data_only=plan.data_only,
                    no_owner=plan.no_owner,
                    disable_triggers=disable_triggers,
                )
                dump_filter = None
            else:
                assert creds.option_file is not None
                argv = mysql.client_argv(loader_path, creds.option_file, conn.database)
                if not plan.exit_on_error:
                    argv.append("--force")
                dump_filter = (
                    mysql.DumpFilter(schema_only=plan.schema_only, data_only=plan.data_only)
                    if plan.schema_only or plan.data_only
                    else None
                )
            await log(f"Running {loader}")
            result = await _stream_restore(
                fd,
                decomp_argv=decomp_argv,
                loader_argv=argv,
                loader=loader,
                env=env,
                secrets=creds.secrets,
                dump_filter=dump_filter,
                tolerate_errors=not plan.exit_on_error,
                on_progress=on_progress,
                progress_interval=progress_interval,
            )
            if conn.engine == "postgresql" and plan.data_only:
                await log("Refreshing materialized views")
                await run_sql(
                    conn,
                    creds,
                    postgres.REFRESH_MATVIEWS_SQL,
                    toolbox=toolbox,
                    base_env=base_env,
                    database=conn.database,
                    timeout=3600.0,
                    error=RestoreError,
                )
            return result
    finally:
        os.close(fd)


async def _stream_restore(
    fd: int,
    *,
    decomp_argv: list[str],
    loader_argv: list[str],
    loader: str,
    env: Mapping[str, str],
    secrets: tuple[str, ...],
    dump_filter: mysql.DumpFilter | None,
    tolerate_errors: bool,
    on_progress: ProgressFn | None,
    progress_interval: float,
) -> RestoreResult:
    decomp_name = Path(decomp_argv[0]).name
    children: list[Child] = []
    tasks: list[asyncio.Future[None]] = []
    throttle = Throttle(on_progress, progress_interval)
    try:
        if dump_filter is None:
            r, w = open_pipe()
            try:
                decomp = await Child.spawn(
                    decomp_argv, name=decomp_name, env=env, stdin=fd, stdout=w, secrets=secrets
                )
                children.append(decomp)
                load = await Child.spawn(
                    loader_argv, name=loader, env=env, stdin=r, secrets=secrets
                )
                children.append(load)
            finally:
                os.close(r)
                os.close(w)
        else:
            decomp = await Child.spawn(
                decomp_argv,
                name=decomp_name,
                env=env,
                stdin=fd,
                stdout=asyncio.subprocess.PIPE,
                secrets=secrets,
            )
            children.append(decomp)
            load = await Child.spawn(
                loader_argv,
                name=loader,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                secrets=secrets,
            )
            children.append(load)
            assert decomp.proc.stdout is not None and load.proc.stdin is not None
            tasks.append(
                asyncio.ensure_future(
                    _pump_filtered(decomp.proc.stdout, load.proc.stdin, dump_filter)
                )
            )
        tasks.append(asyncio.ensure_future(report_read_progress(fd, throttle, progress_interval)))
        load_code = await load.wait()
        if load_code != 0:
            # The loader gave up: the decompressor would only block on a full pipe.
            await decomp.kill()
        decomp_code = await decomp.wait()
        exits = (
            ToolExit(decomp_name, decomp_code, decomp.tail.lines),
            ToolExit(loader, load_code, load.tail.lines),
        )
        warnings: list[str] = []
        if load_code != 0:
            if tolerate_errors and load_code == 1 and decomp_code == 0:
                # Asked to continue past errors: the tool reports them with status 1.
                warnings.append(load.failure(load_code))
            else:
                raise RestoreError(load.failure(load_code), details={"exits": exits})
        if decomp_code != 0:
            raise RestoreError(
                f"cannot decompress the backup: {decomp.failure(decomp_code)}",
                details={"exits": exits},
            )
        pos = shared_position(fd)
        if pos is not None:
            await throttle(pos, force=True)
        return RestoreResult(exits=exits, warnings=warnings)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await kill_all(children)
