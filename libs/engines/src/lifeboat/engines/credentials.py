"""Credential files for the client tools: 0600 files in a private 0700 directory, always removed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from lifeboat.engines.base import Credentials
from lifeboat.engines.common import Connection
from lifeboat.engines.registry import engine_for

__all__ = ["Credentials", "credentials", "private_dir"]


def _write_private(path: Path, content: str) -> None:
    # O_EXCL: never follow or reuse something already there; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(content)


@contextmanager
def private_dir(base: Path | None = None) -> Generator[Path]:
    """A fresh 0700 directory, removed with everything in it on exit."""
    path = Path(tempfile.mkdtemp(prefix="lifeboat-", dir=base))  # mkdtemp creates it 0700
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def credentials(conn: Connection, *, base_dir: Path | None = None) -> Generator[Credentials]:
    """Write the credential file `conn` needs and remove it afterwards, whatever happens.

    Args:
        conn: The connection, password included.
        base_dir: Where to create the private directory (default: the system temp dir).

    Yields:
        The environment additions and credential file path for the tools.
    """
    engine = engine_for(conn.engine)
    secrets = (conn.password,) if conn.password else ()
    with private_dir(base_dir) as directory:
        wanted = engine.credential_file(conn)
        path = directory / wanted.name
        _write_private(path, wanted.content)
        yield Credentials(env=engine.credential_env(str(path)), file=str(path), secrets=secrets)
