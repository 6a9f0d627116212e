"""Scratch databases for verification restores: create, drop, sweep (names:
:mod:`lifeboat.core.scratch`).

A scratch database is named ``lifeboat_verify_<UTC minute YYYYmmddHHMM>_<8 hex>``: generated,
never user-given, so it is safe as an identifier (it is still quoted), and its creation time can
be read back from the name alone on either engine (the sweep drops those older than a day).
``CREATE DATABASE`` without ``IF NOT EXISTS`` fails on an existing name, so a verification never
restores into (or later drops) a database it did not create.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from lifeboat.core.scratch import (
    SCRATCH_PREFIX,
    SWEEP_AGE,
    check_scratch_name,
    stale_scratch,
)
from lifeboat.engines.client import run_sql
from lifeboat.engines.common import Connection, Toolbox
from lifeboat.engines.credentials import credentials
from lifeboat.engines.registry import engine_for


async def _admin_sql(
    conn: Connection,
    sql: str,
    *,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None,
    timeout: float = 300.0,
) -> str:
    with credentials(conn, base_dir=tmp_dir) as creds:
        return await run_sql(
            conn,
            creds,
            sql,
            toolbox=toolbox,
            base_env=base_env,
            database=engine_for(conn.engine).admin_database,
            timeout=timeout,
        )


async def create_scratch(
    conn: Connection,
    name: str,
    *,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None,
) -> None:
    """Create the empty scratch database `name` on the server of `conn`.

    Raises:
        ValidationError: `name` is not a scratch database name.
        DatabaseError: it exists already, or the user may not create databases.
    """
    sql = engine_for(conn.engine).create_database_sql(check_scratch_name(name))
    await _admin_sql(conn, sql, toolbox=toolbox, base_env=base_env, tmp_dir=tmp_dir)


async def drop_scratch(
    conn: Connection,
    name: str,
    *,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None,
) -> None:
    """Drop the scratch database `name` (no error if it is gone).

    Raises:
        ValidationError: `name` is not a scratch database name.
        DatabaseError: the server refused.
    """
    sql = engine_for(conn.engine).drop_database_sql(check_scratch_name(name))
    await _admin_sql(conn, sql, toolbox=toolbox, base_env=base_env, tmp_dir=tmp_dir)


async def sweep_scratch(
    conn: Connection,
    *,
    now: datetime,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None,
    older_than: timedelta = SWEEP_AGE,
) -> list[str]:
    """Drop the scratch databases on the server of `conn` older than `older_than` (left by an
    executor that died mid-verification); returns their names.

    Raises:
        DatabaseError: listing or dropping failed.
    """
    sql = engine_for(conn.engine).list_databases_sql(SCRATCH_PREFIX)
    text = await _admin_sql(conn, sql, toolbox=toolbox, base_env=base_env, tmp_dir=tmp_dir)
    names = [line.strip() for line in text.splitlines() if line.strip()]
    stale = stale_scratch(names, now, older_than)
    for name in stale:
        await drop_scratch(conn, name, toolbox=toolbox, base_env=base_env, tmp_dir=tmp_dir)
    return stale
