"""Credential files for the client tools: 0600 files in a private 0700 directory, always removed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lifeboat.engines import mysql, postgres
from lifeboat.engines.common import Connection


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a job's tools need to authenticate.

    Attributes:
        env: Variables to add to the tools' environment (e.g. ``PGPASSFILE``; never a password).
        option_file: For MySQL, the path given as ``--defaults-extra-file``.
        secrets: Strings to scrub from anything the tools print.
    """

    env: dict[str, str]
    option_file: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)


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
        The environment additions and option file path for the tools.
    """
    secrets = (conn.password,) if conn.password else ()
    with private_dir(base_dir) as directory:
        if conn.engine == "postgresql":
            path = directory / "pgpass"
            _write_private(path, postgres.pgpass_content(conn))
            yield Credentials(env=postgres.pg_env(str(path)), secrets=secrets)
        else:
            path = directory / "client.cnf"
            _write_private(path, mysql.option_file_content(conn))
            yield Credentials(env={}, option_file=str(path), secrets=secrets)
