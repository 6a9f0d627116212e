"""Typed inputs shared by the engines: connection facts, the tool box, child environments."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from lifeboat.core.errors import DatabaseError
from lifeboat.core.naming import Compression, Engine

# Inherited variables that would hand a password to a client tool behind our back; the
# credential file is the only channel we allow.
_STRIPPED_ENV = frozenset({"PGPASSWORD", "MYSQL_PWD", "PGSERVICEFILE", "PGSERVICE"})


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and as whom to connect; the password stays out of ``repr`` so it never logs."""

    engine: Engine
    host: str
    port: int
    database: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Toolbox:
    """Where the client tools are looked up.

    ``search_path`` is a ``PATH``-style string; ``None`` means the executor's own ``PATH``
    (the service passes it in: libraries never read the environment).
    """

    search_path: str | None = None

    def which(self, name: str) -> str:
        """Absolute path of tool `name`.

        Raises:
            DatabaseError: the tool is not installed where we look.
        """
        found = shutil.which(name, path=self.search_path)
        if found is None:
            raise DatabaseError(f"{name} not found on this executor")
        return found

    def has(self, name: str) -> bool:
        """Whether tool `name` is available."""
        return shutil.which(name, path=self.search_path) is not None


def child_env(base: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a client tool: `base` extended with `extra`, minus password variables.

    Args:
        base: The parent environment (normally ``os.environ``, passed in by the service).
        extra: Variables to add, e.g. ``PGPASSFILE``.

    Returns:
        A new dict; `base` is not modified.
    """
    env = {k: v for k, v in base.items() if k not in _STRIPPED_ENV}
    if extra:
        env.update(extra)
    return env


def compressor_argv(toolbox: Toolbox, compression: Compression, level: int) -> list[str]:
    """Argv of the compressor reading stdin and writing stdout.

    zstd uses every core (``-T0``); gzip prefers ``pigz`` when installed, for the same reason.
    """
    if compression == "zstd":
        lvl = min(max(level, 1), 19)
        return [toolbox.which("zstd"), "-q", "-T0", f"-{lvl}", "-c"]
    lvl = min(max(level, 1), 9)
    name = "pigz" if toolbox.has("pigz") else "gzip"
    return [toolbox.which(name), "-c", f"-{lvl}"]


# zstd refuses frames whose window needs more than this, so a crafted artifact cannot make
# the decompressor allocate unbounded memory.
ZSTD_MEMORY_LIMIT = "128MB"


def decompressor_argv(toolbox: Toolbox, compression: Compression) -> list[str]:
    """Argv of the decompressor reading stdin and writing stdout."""
    if compression == "zstd":
        return [toolbox.which("zstd"), "-q", "-d", "-c", f"--memory={ZSTD_MEMORY_LIMIT}"]
    name = "pigz" if toolbox.has("pigz") else "gzip"
    return [toolbox.which(name), "-d", "-c"]
