"""The engines Lifeboat knows, by name: the one place that lists them.

Everything that depends on the engine asks here (``engine_for(conn.engine).dump_tool``)
instead of comparing names; a new engine is one module implementing
:class:`lifeboat.engines.base.Engine` plus one entry in :data:`ENGINES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from lifeboat.core.errors import DatabaseError
from lifeboat.core.naming import Compression, split_format
from lifeboat.core.naming import Engine as EngineName
from lifeboat.engines import mysql, postgres
from lifeboat.engines.base import Engine

ENGINES: Mapping[EngineName, Engine] = MappingProxyType(
    {engine.name: engine for engine in (postgres.ENGINE, mysql.ENGINE)}
)
"""Every engine, by name, in the order the UI lists them."""

ENGINE_NAMES: tuple[EngineName, ...] = tuple(ENGINES)
"""The names of :data:`ENGINES`."""

_BY_NAME: Mapping[str, Engine] = {engine.name: engine for engine in ENGINES.values()}
_BY_EXTENSION: Mapping[str, Engine] = {engine.file_extension: engine for engine in ENGINES.values()}


def engine_for(name: str) -> Engine:
    """The engine called `name`.

    Raises:
        DatabaseError: no engine has that name.
    """
    engine = _BY_NAME.get(name)
    if engine is None:
        raise DatabaseError(
            f"unknown database engine {name!r} (this Lifeboat knows {', '.join(ENGINE_NAMES)})"
        )
    return engine


def tools() -> tuple[str, ...]:
    """Every client tool some engine's jobs run, each once, engine by engine."""
    names: list[str] = []
    for engine in ENGINES.values():
        for tool in (engine.dump_tool, engine.restore_tool, engine.client_tool):
            if tool not in names:
                names.append(tool)
    return tuple(names)


def format_of(name: str) -> tuple[EngineName | None, Compression | None]:
    """Engine and compression read from the suffixes of an artifact's name or key (``….dump.zst``
    is PostgreSQL and zstd, ``….sql.gz`` MySQL and gzip); None for what the name does not say.

    The inverse of :func:`lifeboat.core.naming.backup_file_name` given the engine's
    :attr:`~lifeboat.engines.base.Engine.file_extension`.
    """
    extension, compression = split_format(name)
    engine = _BY_EXTENSION.get(extension) if extension is not None else None
    return (engine.name if engine is not None else None), compression
