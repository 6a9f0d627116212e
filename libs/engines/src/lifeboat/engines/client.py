"""Short SQL sessions through the engines' CLI clients (``psql`` / ``mysql``), SQL on stdin."""

from __future__ import annotations

from collections.abc import Mapping

from lifeboat.core.errors import DatabaseError, OperationError
from lifeboat.engines.base import Credentials
from lifeboat.engines.common import Connection, Toolbox, child_env
from lifeboat.engines.process import run
from lifeboat.engines.registry import engine_for


def client_tool(conn: Connection) -> str:
    """Name of the interactive client of `conn`'s engine."""
    return engine_for(conn.engine).client_tool


async def run_sql(
    conn: Connection,
    creds: Credentials,
    sql: str,
    *,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    database: str | None,
    timeout: float | None = 60.0,
    error: type[OperationError] = DatabaseError,
) -> str:
    """Run `sql` (sent on stdin, never in argv) and return the client's plain output.

    Args:
        conn: Connection facts.
        creds: The credential file of `conn` (see :func:`lifeboat.engines.credentials.credentials`).
        sql: Statements to run; the client stops at the first error.
        toolbox: Where the client is found.
        base_env: The parent environment to extend.
        database: Database to connect to; ``None`` is the engine's default (PostgreSQL:
            ``conn.database``; MySQL: none selected).
        timeout: Seconds before the client is killed.
        error: Error class raised on failure.

    Raises:
        OperationError: (of class `error`) when the client is missing, fails or times out.
    """
    engine = engine_for(conn.engine)
    name = engine.client_tool
    argv = engine.client_argv(toolbox.which(name), conn, creds, database)
    result = await run(
        argv,
        name=name,
        env=child_env(base_env, creds.env),
        input_data=sql.encode(),
        timeout=timeout,
        secrets=creds.secrets,
        error=error,
    )
    return result.stdout.decode("utf-8", errors="replace")
