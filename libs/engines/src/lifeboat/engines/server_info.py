"""What is on the other end: server version, database size, and the local tools' versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lifeboat.core.errors import DatabaseError
from lifeboat.engines.client import run_sql
from lifeboat.engines.common import Connection, Toolbox, child_env
from lifeboat.engines.credentials import credentials
from lifeboat.engines.process import run
from lifeboat.engines.registry import engine_for

_TOOL_VERSIONS: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a probe found."""

    server_version: str
    database_size_bytes: int


async def probe(
    conn: Connection,
    *,
    toolbox: Toolbox,
    base_env: Mapping[str, str],
    tmp_dir: Path | None = None,
    timeout: float = 30.0,
) -> ProbeResult:
    """Connect with the engine's CLI client and report server version and database size.

    Raises:
        DatabaseError: the client is missing, the login is refused, the database does not
            exist, or the server does not answer within `timeout`.
    """
    engine = engine_for(conn.engine)
    with credentials(conn, base_dir=tmp_dir) as creds:
        text = await run_sql(
            conn,
            creds,
            engine.probe_sql,
            toolbox=toolbox,
            base_env=base_env,
            database=conn.database,
            timeout=timeout,
        )
    try:
        version, size = engine.parse_probe_output(text)
    except ValueError as exc:
        raise DatabaseError(f"cannot read the server's answer: {exc}") from exc
    return ProbeResult(server_version=version, database_size_bytes=size)


async def tool_version(toolbox: Toolbox, name: str, *, base_env: Mapping[str, str]) -> str:
    """First line of ``<name> --version``, cached per resolved binary.

    Raises:
        DatabaseError: the tool is not installed (``"pg_dump not found on this executor"``).
    """
    path = toolbox.which(name)
    cached = _TOOL_VERSIONS.get(path)
    if cached is not None:
        return cached
    result = await run([path, "--version"], name=name, env=child_env(base_env), timeout=15.0)
    lines = result.stdout.decode("utf-8", errors="replace").strip().splitlines()
    version = lines[0].strip() if lines else name
    _TOOL_VERSIONS[path] = version
    return version
