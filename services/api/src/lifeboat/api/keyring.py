"""The at-rest key: a start-up check that ENCRYPTION_KEY is the right one, and key rotation.

* At first start a key-check token (a known text encrypted with the key) is stored in
  ``system_settings`` (``internal.key_check``) with the key version (``internal.key_version``).
  Every later start decrypts it; a different key is refused with a clear message instead of
  failing later on the first stored secret.
* ``python -m lifeboat.api rotate-key`` re-encrypts every ``*_encrypted`` column of every table
  (database passwords, S3 keys, whatever is added later) from ENCRYPTION_KEY to
  NEW_ENCRYPTION_KEY with the next key version, in one SQLite transaction: a running API keeps
  serving (it waits on the write lock at most), and nothing is half-rotated.

A secret in column ``<name>_encrypted`` of table ``<table>`` is bound to
:func:`secret_context` ``(<table>, <column>, <row id>)`` = ``"<table>.<name>:<row id>"``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import SystemSetting
from lifeboat.core.crypto import DecryptionError, SecretBox
from lifeboat.core.errors import ConfigurationError, UnavailableError

log = logging.getLogger(__name__)

KEY_CHECK = "internal.key_check"
KEY_VERSION = "internal.key_version"
_CHECK_TEXT = "lifeboat key check"
_CHECK_CONTEXT = "system_settings.key_check"
ENCRYPTED_SUFFIX = "_encrypted"

WRONG_KEY = (
    "ENCRYPTION_KEY is not the key this data directory was encrypted with: the stored key check "
    "does not decrypt. Start with the original key (or rotate keys with "
    "`python -m lifeboat.api rotate-key`); refusing to start."
)


def secret_context(table: str, column: str, row_id: str) -> str:
    """The associated data binding a secret in `table`.`column` to its row."""
    return f"{table}.{column.removesuffix(ENCRYPTED_SUFFIX)}:{row_id}"


async def verify_key(ctx: ApiContext) -> None:
    """Check ENCRYPTION_KEY against the stored key check (store one at first start)."""
    async with ctx.db.write() as session:
        rows = {
            r.key: r
            for r in (
                await session.scalars(
                    select(SystemSetting).where(SystemSetting.key.in_([KEY_CHECK, KEY_VERSION]))
                )
            ).all()
        }
        version_row = rows.get(KEY_VERSION)
        version = int(version_row.value) if version_row is not None else 1
        ctx.box.version = version
        check = rows.get(KEY_CHECK)
        if check is None:
            session.add(
                SystemSetting(
                    key=KEY_CHECK,
                    value=ctx.box.encrypt(_CHECK_TEXT, context=_CHECK_CONTEXT),
                    value_type="string",
                    description="Encrypted with ENCRYPTION_KEY: detects a wrong key at start",
                )
            )
            if version_row is None:
                session.add(SystemSetting(key=KEY_VERSION, value="1", value_type="number"))
            return
        try:
            ok = ctx.box.decrypt(check.value, context=_CHECK_CONTEXT) == _CHECK_TEXT
        except DecryptionError:
            ok = False
    if not ok:
        log.error(WRONG_KEY)
        raise ConfigurationError(WRONG_KEY)


@dataclass(frozen=True)
class RotationResult:
    """What a key rotation changed."""

    version: int
    secrets: int
    columns: list[str]


def _encrypted_columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    tables = [
        name
        for (name,) in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
        )
    ]
    found: list[tuple[str, str]] = []
    for table in tables:
        columns = [row[1] for row in conn.execute(f'pragma table_info("{table}")')]
        if "id" not in columns:
            continue
        found += [(table, c) for c in columns if c.endswith(ENCRYPTED_SUFFIX)]
    return found


def rotate_key(database_path: Path, old_key: str, new_key: str) -> RotationResult:
    """Re-encrypt every stored secret from `old_key` to `new_key` in one transaction."""
    if old_key == new_key:
        raise ConfigurationError("NEW_ENCRYPTION_KEY is the same as ENCRYPTION_KEY")
    if not database_path.exists():
        raise ConfigurationError(f"no database at {database_path}")
    old = SecretBox(old_key)
    conn = sqlite3.connect(database_path, isolation_level=None, timeout=30)
    try:
        conn.execute("pragma busy_timeout = 30000")
        conn.execute("begin immediate")
        try:
            version = _check_current_key(conn, old) + 1
            new = SecretBox(new_key, version=version)
            columns = _encrypted_columns(conn)
            count = sum(
                _reencrypt_column(conn, table, column, old, new) for table, column in columns
            )
            _store_key_check(conn, new, version)
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    finally:
        conn.close()
    return RotationResult(version=version, secrets=count, columns=[f"{t}.{c}" for t, c in columns])


def _check_current_key(conn: sqlite3.Connection, old: SecretBox) -> int:
    """Refuse an `old` key that is not the data directory's current one; its version."""
    settings = dict(
        conn.execute(
            "select key, value from system_settings where key in (?, ?)",
            (KEY_CHECK, KEY_VERSION),
        ).fetchall()
    )
    if KEY_CHECK in settings:
        try:
            old.decrypt(settings[KEY_CHECK], context=_CHECK_CONTEXT)
        except DecryptionError:
            raise ConfigurationError(
                "ENCRYPTION_KEY is not the current key of this data directory"
            ) from None
    return int(settings.get(KEY_VERSION, "1"))


def _reencrypt_column(
    conn: sqlite3.Connection, table: str, column: str, old: SecretBox, new: SecretBox
) -> int:
    """Re-encrypt every secret of `table`.`column`; how many there were."""
    rows = conn.execute(
        f'select id, "{column}" from "{table}" where "{column}" is not null and "{column}" != \'\''
    ).fetchall()
    for row_id, token in rows:
        context = secret_context(table, column, str(row_id))
        try:
            plain = old.decrypt(token, context=context)
        except DecryptionError:
            raise ConfigurationError(
                f"{table}.{column} of row {row_id} does not decrypt with "
                "ENCRYPTION_KEY; nothing was changed"
            ) from None
        conn.execute(
            f'update "{table}" set "{column}" = ? where id = ?',
            (new.encrypt(plain, context=context), row_id),
        )
    return len(rows)


def _store_key_check(conn: sqlite3.Connection, new: SecretBox, version: int) -> None:
    """Record the new key's check value and version (what the next start verifies)."""
    for key, value, kind in (
        (KEY_CHECK, new.encrypt(_CHECK_TEXT, context=_CHECK_CONTEXT), "string"),
        (KEY_VERSION, str(version), "number"),
    ):
        conn.execute(
            "insert into system_settings (key, value, value_type) values (?, ?, ?) "
            "on conflict(key) do update set value = excluded.value, "
            "updated_at = CURRENT_TIMESTAMP",
            (key, value, kind),
        )


ROTATED = (
    "the encryption key was rotated while this API ran: restart it with the new ENCRYPTION_KEY"
)


class RotatedBox(SecretBox):
    """Stands in for the key of a running API after a rotation: refuses to encrypt or decrypt,
    so nothing is written under the retired key."""

    def __init__(self, version: int) -> None:  # no key material at all
        self.version = version

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Refuse."""
        raise UnavailableError(ROTATED)

    def decrypt(self, token: str, *, context: str) -> str:
        """Refuse."""
        raise UnavailableError(ROTATED)


async def watch_key_version(ctx: ApiContext, every_s: float = 2.0) -> None:
    """Stop using the key once ``rotate-key`` bumped the stored key version."""
    while True:
        await asyncio.sleep(every_s)
        try:
            async with ctx.db.read() as session:
                row = await session.get(SystemSetting, KEY_VERSION)
        except Exception:
            log.exception("could not read the key version")
            continue
        if row is not None and int(row.value) != ctx.box.version:
            log.error(ROTATED)
            ctx.box = RotatedBox(int(row.value))
            return
