"""The async SQLite engine: WAL mode, foreign keys, one in-process writer at a time.

The API is the only process that opens the database, so serialising write transactions with an
asyncio lock removes every ``database is locked`` race between request handlers and the events
consumer, while readers (WAL) never wait for writers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

BUSY_TIMEOUT_MS = 5000


def apply_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Per-connection SQLite settings (journal mode WAL persists in the file itself)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """Engine and sessions over one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine: AsyncEngine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        event.listen(self.engine.sync_engine, "connect", apply_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def read(self) -> AsyncGenerator[AsyncSession, None]:
        """A session for queries (nothing is committed)."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncGenerator[AsyncSession, None]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._write_lock, self._sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Run ``select 1`` (readiness check)."""
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def vacuum(self) -> None:
        """Rebuild the file to reclaim free pages (SQLite ``VACUUM``, outside a transaction)."""
        async with self._write_lock, self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
