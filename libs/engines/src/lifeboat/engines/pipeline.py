"""The streaming pipelines of DESIGN.md: backup and restore, with the raw dump kept out of Python.

Backup::

    dump tool ──OS pipe──> zstd/gzip ──pipe──> Python (sha256, byte count) ──> sink

Restore (default)::

    artifact fd ──> zstd -d/gzip -d ──OS pipe──> pg_restore / mysql

Only MySQL schema-only/data-only restores route the decompressed SQL through Python, to filter
it (see :func:`lifeboat.engines.mysql.filter_dump`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifeboat.core.errors import (
    BackupError,
    DatabaseError,
    IntegrityError,
    LifeboatError,
    RestoreError,
)
from lifeboat.core.naming import Compression, Engine
from lifeboat.engines import mysql, postgres
from lifeboat.engines.client import run_sql
from lifeboat.engines.common import (
    Connection,
    Toolbox,
    child_env,
    compressor_argv,
    decompressor_argv,
)
from lifeboat.engines.credentials import credentials
from lifeboat.engines.probe import dump_tool, restore_tool
from lifeboat.engines.process import Child
from lifeboat.storage.sink import Sink

CHUNK_SIZE = 1 << 20
PIPE_SIZE = 1 << 20
PROGRESS_INTERVAL_S = 1.0

ProgressFn = Callable[[int], Awaitable[None]]
LogFn = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ToolExit:
    """How one child process ended."""

    name: str
    returncode: int
    stderr_tail: list[str] = field(default_factory=list[str])


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A completed backup: what was written and how each tool ended."""

    size_bytes: int
    sha256: str
    exits: tuple[ToolExit, ...]


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


def _read_chunk(fd: int, digest: Any) -> bytes:
    """Up to CHUNK_SIZE bytes from pipe `fd` (b"" at EOF), already added to `digest`."""
    parts: list[bytes] = []
    got = 0
    while got < CHUNK_SIZE:
        part = os.read(fd, CHUNK_SIZE - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    chunk = b"".join(parts) if len(parts) != 1 else parts[0]
    digest.update(chunk)
    return chunk


def _pipe() -> tuple[int, int]:
    r, w = os.pipe()
    # A larger pipe lets both children run with fewer context switches; best effort.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    return r, w


class _Throttle:
    """Calls the progress callback at most once per interval (and never lets it fail a job)."""

    def __init__(self, callback: ProgressFn | None, interval: float) -> None:
        self._callback = callback
        self._interval = interval
        self._last = time.monotonic()

    async def __call__(self, done: int, *, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            with contextlib.suppress(Exception):
                await self._callback(done)


async def _kill_all(children: list[Child]) -> None:
    for child in children:
        await child.kill()


async def stream_backup(
    dump_argv: list[str],
    *,
    dump_name: str,
    env: Mapping[str, str],
    compression: Compression,
    level: int,
    toolbox: Toolbox,
    sink: Sink,
    secrets: tuple[str, ...] = (),
    on_progress: ProgressFn | None = None,
    progress_interval: float = PROGRESS_INTERVAL_S,
) -> BackupResult:
    """Run ``dump | compress`` and stream the compressed bytes into `sink`.

    The sink is committed only if both tools exited 0, the output is non-empty and the sink
    confirms the size; otherwise it is aborted, so nothing is left behind.

    Raises:
        DatabaseError: the dump tool failed (its stderr tail is in the message).
        BackupError: the compressor failed, the dump was empty, or the sink refused it.
    """
    comp_argv = compressor_argv(toolbox, compression, level)
    comp_name = Path(comp_argv[0]).name
    children: list[Child] = []
    throttle = _Throttle(on_progress, progress_interval)
    digest = hashlib.sha256()
    size = 0
    committed = False
    try:
        r, w = _pipe()
        out_r, out_w = _pipe()
        reading: asyncio.Future[bytes] | None = None
        try:
            try:
                dump = await Child.spawn(
                    dump_argv, name=dump_name, env=env, stdout=w, secrets=secrets
                )
                children.append(dump)
                comp = await Child.spawn(
                    comp_argv, name=comp_name, env=env, stdin=r, stdout=out_w, secrets=secrets
                )
                children.append(comp)
            finally:
                # The children hold their ends; ours must go so EOF and EPIPE propagate.
                os.close(r)
                os.close(w)
                os.close(out_w)
            # Reading and hashing happen in a worker thread on the raw pipe (hashlib drops
            # the GIL): the event loop only hands each megabyte to the sink.
            while True:
                reading = asyncio.ensure_future(asyncio.to_thread(_read_chunk, out_r, digest))
                chunk = await asyncio.shield(reading)
                if not chunk:
                    break
                size += len(chunk)
                await sink.write(chunk)
                await throttle(size)
        finally:
            if reading is not None and not reading.done():
                # Cancelled mid-read: the thread still owns the fd until the killed children's
                # EOF releases it; closing earlier could let a reused fd number be read.
                await _kill_all(children)
                with contextlib.suppress(Exception):
                    await reading
            os.close(out_r)
        dump_code = await dump.wait()
        comp_code = await comp.wait()
        exits = (
            ToolExit(dump_name, dump_code, dump.tail.lines),
            ToolExit(comp_name, comp_code, comp.tail.lines),
        )
        if dump_code != 0:
            raise DatabaseError(dump.failure(dump_code), details={"exits": exits})
        if comp_code != 0:
            raise BackupError(comp.failure(comp_code), details={"exits": exits})
        if size == 0:
            raise BackupError(f"{dump_name} produced no output")
        sha256 = digest.hexdigest()
        await sink.commit(size=size, sha256=sha256)
        committed = True
        await throttle(size, force=True)
        return BackupResult(size_bytes=size, sha256=sha256, exits=exits)
    finally:
        await _kill_all(children)
        if not committed:
            await sink.abort()


async def dump_database(
    conn: Connection,
    *,
    sink: Sink,
    compression: Compression,
    level: int,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None = None,
    on_progress: ProgressFn | None = None,
    progress_interval: float = PROGRESS_INTERVAL_S,
) -> BackupResult:
    """Back up ``conn.database`` into `sink` (pg_dump -Fc -Z0 or mysqldump, then compressed).

    Raises:
        DatabaseError: tool missing or failing (wrong password, database gone...).
        BackupError: compression, empty output, or sink failure.
    """
    name = dump_tool(conn.engine)
    try:
        tool = toolbox.which(name)
        compressor_argv(toolbox, compression, level)  # fail before connecting if missing
    except LifeboatError:
        await sink.abort()
        raise
    with credentials(conn, base_dir=tmp_dir) as creds:
        if conn.engine == "postgresql":
            argv = postgres.dump_argv(tool, conn)
        else:
            assert creds.option_file is not None
            argv = mysql.dump_argv(tool, creds.option_file, conn.database)
        return await stream_backup(
            argv,
            dump_name=name,
            env=child_env(base_env, creds.env),
            compression=compression,
            level=level,
            toolbox=toolbox,
            sink=sink,
            secrets=creds.secrets,
            on_progress=on_progress,
            progress_interval=progress_interval,
        )


def _hash_fd(fd: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
    os.lseek(fd, 0, os.SEEK_SET)
    return size, digest.hexdigest()


async def verify_artifact(fd: int, *, expected_sha256: str, expected_size: int) -> None:
    """Check an open artifact against its manifest values (file position reset to 0).

    Raises:
        IntegrityError: size or sha256 differ.
    """
    size, sha256 = await asyncio.to_thread(_hash_fd, fd)
    if size != expected_size:
        raise IntegrityError(
            f"artifact size mismatch: expected {expected_size} bytes, found {size}",
            details={"expected_size": expected_size, "size": size},
        )
    if sha256 != expected_sha256.lower():
        raise IntegrityError(
            "artifact checksum mismatch: the file is not the backup that was recorded",
            details={"expected_sha256": expected_sha256, "sha256": sha256},
        )


def _shared_position(fd: int) -> int | None:
    # The decompressor's stdin shares our open file description, so our offset is how far
    # it has read: progress without touching the data.
    try:
        return os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return None


async def _report_read_progress(fd: int, throttle: _Throttle, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        pos = _shared_position(fd)
        if pos is not None:
            await throttle(pos, force=True)


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
    throttle = _Throttle(on_progress, progress_interval)
    try:
        if dump_filter is None:
            r, w = _pipe()
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
        tasks.append(asyncio.ensure_future(_report_read_progress(fd, throttle, progress_interval)))
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
        pos = _shared_position(fd)
        if pos is not None:
            await throttle(pos, force=True)
        return RestoreResult(exits=exits, warnings=warnings)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await _kill_all(children)
