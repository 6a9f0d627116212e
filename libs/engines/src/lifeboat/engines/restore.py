"""The restore pipeline of DESIGN.md, with the raw dump kept out of Python (default)::

    artifact fd ──> zstd -d/gzip -d ──OS pipe──> pg_restore / mysql

Only when the engine asks for a line filter (MySQL schema-only/data-only restores, see
:func:`lifeboat.engines.mysql.filter_dump`) does the decompressed dump go through Python.
What differs between engines comes from :mod:`lifeboat.engines.registry`; the restore options
(:class:`~lifeboat.engines.base.RestorePlan`) are checked by :func:`check_plan`.
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
from lifeboat.core.naming import Compression
from lifeboat.core.naming import Engine as EngineName
from lifeboat.engines.base import (
    Credentials,
    Engine,
    LineFilter,
    RestorePlan,
    raise_on_problems,
)
from lifeboat.engines.client import run_sql
from lifeboat.engines.common import (
    Connection,
    Toolbox,
    child_env,
    decompressor_argv,
)
from lifeboat.engines.credentials import credentials
from lifeboat.engines.process import Child
from lifeboat.engines.registry import engine_for
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

__all__ = ["RestorePlan", "RestoreResult", "check_plan", "restore_database"]


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
    dump_filter: LineFilter,
) -> None:
    """Copy the decompressed dump to the loader, filtered line by line."""
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


def check_plan(engine: EngineName, plan: RestorePlan) -> None:
    """Refuse option combinations that cannot mean anything (the engine's rules).

    Raises:
        RestoreError: e.g. schema-only together with data-only.
    """
    raise_on_problems(engine_for(engine).restore_option_problems(plan))


async def restore_database(
    conn: Connection,
    *,
    artifact: Path,
    source_engine: EngineName,
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
        engine = engine_for(conn.engine)
        loader_path = toolbox.which(engine.restore_tool)
        decomp_argv = decompressor_argv(toolbox, compression)
        # Looked up now so a missing client fails before the target changes.
        toolbox.which(engine.client_tool)
        if before_touch is not None:
            await before_touch()
        with credentials(conn, base_dir=tmp_dir) as creds:
            return await _load(
                engine,
                conn,
                creds,
                fd,
                plan=plan,
                loader_path=loader_path,
                decomp_argv=decomp_argv,
                toolbox=toolbox,
                base_env=base_env,
                log=log,
                on_progress=on_progress,
                progress_interval=progress_interval,
            )
    finally:
        os.close(fd)


async def _load(
    engine: Engine,
    conn: Connection,
    creds: Credentials,
    fd: int,
    *,
    plan: RestorePlan,
    loader_path: str,
    decomp_argv: list[str],
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    log: LogFn,
    on_progress: ProgressFn | None,
    progress_interval: float,
) -> RestoreResult:
    """The part of a restore that changes the target: recreate, load, then the engine's
    epilogue."""

    async def sql(statements: str, *, database: str | None, timeout: float = 60.0) -> str:
        return await run_sql(
            conn,
            creds,
            statements,
            toolbox=toolbox,
            base_env=base_env,
            database=database,
            timeout=timeout,
            error=RestoreError,
        )

    if engine.recreates(plan):
        await log(f"Dropping and recreating database {conn.database}")
        await sql(
            engine.drop_and_recreate_sql(conn.database),
            database=engine.admin_database,
            timeout=300.0,
        )
    command = await engine.restore_command(loader_path, conn, creds, plan, sql=sql, log=log)
    await log(f"Running {engine.restore_tool}")
    result = await _stream_restore(
        fd,
        decomp_argv=decomp_argv,
        loader_argv=command.argv,
        loader=engine.restore_tool,
        env=child_env(base_env, creds.env),
        secrets=creds.secrets,
        dump_filter=command.line_filter,
        tolerate_errors=not plan.exit_on_error,
        on_progress=on_progress,
        progress_interval=progress_interval,
    )
    epilogue = engine.after_restore(plan)
    if epilogue is not None:
        await log(epilogue.description)
        await sql(epilogue.sql, database=conn.database, timeout=epilogue.timeout)
    return result


async def _stream_restore(
    fd: int,
    *,
    decomp_argv: list[str],
    loader_argv: list[str],
    loader: str,
    env: Mapping[str, str],
    secrets: tuple[str, ...],
    dump_filter: LineFilter | None,
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
