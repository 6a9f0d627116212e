"""The backup pipeline of DESIGN.md: :func:`dump_database` and :func:`stream_backup`.

The raw dump is kept out of Python; only the compressed stream passes through it::

    dump tool ──OS pipe──> zstd/gzip ──pipe──> Python (sha256, byte count) ──> sink
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lifeboat.core.errors import (
    BackupError,
    DatabaseError,
    LifeboatError,
)
from lifeboat.core.naming import Compression
from lifeboat.engines.census import Census
from lifeboat.engines.common import (
    Connection,
    Toolbox,
    child_env,
    compressor_argv,
)
from lifeboat.engines.credentials import credentials
from lifeboat.engines.process import Child
from lifeboat.engines.registry import engine_for
from lifeboat.engines.streams import (
    PROGRESS_INTERVAL_S,
    ProgressFn,
    Throttle,
    ToolExit,
    kill_all,
    open_pipe,
    read_chunk,
)
from lifeboat.storage.sink import Sink


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A completed backup: what was written and how each tool ended."""

    size_bytes: int
    sha256: str
    exits: tuple[ToolExit, ...]
    census: Census | None = None
    """Rows per table and schema objects, consistent with the dump (see
    :mod:`lifeboat.engines.census`); None when not asked for or not taken."""
    census_error: str | None = None
    """Why the census could not be taken (the backup itself is fine)."""


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
    throttle = Throttle(on_progress, progress_interval)
    digest = hashlib.sha256()
    size = 0
    committed = False
    try:
        r, w = open_pipe()
        out_r, out_w = open_pipe()
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
                reading = asyncio.ensure_future(asyncio.to_thread(read_chunk, out_r, digest))
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
                await kill_all(children)
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
        await kill_all(children)
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
    census: bool = True,
) -> BackupResult:
    """Back up ``conn.database`` into `sink` (pg_dump -Fc -Z0 or mysqldump, then compressed).

    With `census`, the rows of every table and the schema objects are counted consistently with
    the dump (:mod:`lifeboat.engines.census`); a census that fails leaves the backup intact and
    says why in ``census_error``.

    Raises:
        DatabaseError: tool missing or failing (wrong password, database gone...).
        BackupError: compression, empty output, or sink failure.
    """
    try:
        engine = engine_for(conn.engine)
        name = engine.dump_tool
        tool = toolbox.which(name)
        compressor_argv(toolbox, compression, level)  # fail before connecting if missing
    except LifeboatError:
        await sink.abort()
        raise
    with credentials(conn, base_dir=tmp_dir) as creds:
        argv = engine.dump_argv(tool, conn, creds)
        env = child_env(base_env, creds.env)

        async def dump(dump_argv: list[str]) -> BackupResult:
            return await stream_backup(
                dump_argv,
                dump_name=name,
                env=env,
                compression=compression,
                level=level,
                toolbox=toolbox,
                sink=sink,
                secrets=creds.secrets,
                on_progress=on_progress,
                progress_interval=progress_interval,
            )

        if not census:
            return await dump(argv)
        taker = engine.census_taker
        try:
            during = taker.during_dump(conn, creds, argv, toolbox=toolbox, base_env=base_env)
            taken, counting = await during.__aenter__()
        except DatabaseError as exc:
            result = await dump(argv)
            return dataclasses.replace(result, census_error=f"cannot count rows: {exc.message}")
        try:
            result = await dump(taken.dump_argv)
            await counting
        except BaseException as exc:
            await during.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await during.__aexit__(None, None, None)
        return dataclasses.replace(result, census=taken.census, census_error=taken.error)
