"""What the verification tests share: the API with an in-process executor, the engines'
scratch-database probes, and backing up / verifying through the API."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

from lifeboat.core.scratch import SCRATCH_PREFIX
from lifeboat.executor.context import Context
from lifeboat.executor.settings import Settings as ExecutorSettings
from lifeboat.executor.worker import Executor
from lifeboat.wire.bus import Bus
from tests.support import dbs
from tests.support.api import (
    TEST_SEAL_KEY,
    RunningApi,
    api_settings,
    data_of,
    eventually,
    serve_api,
)
from tests.support.richdb import build_rich_my, build_rich_pg, my_row_counts, pg_row_counts

QUEUE = "verify"


@contextlib.asynccontextmanager
async def serve_verify_api(tmp: Path, nats_url: str) -> AsyncGenerator[RunningApi]:
    """The API with an in-process executor serving :data:`QUEUE`."""
    async with serve_api(api_settings(tmp, nats_url)) as running:
        private = tmp / "executor-private"
        private.mkdir()
        settings = ExecutorSettings.from_env(
            {
                "NATS_URL": nats_url,
                "EXECUTOR_QUEUE": QUEUE,
                "DATA_DIR": str(tmp / "executor"),
                "BACKUP_STORAGE_PATH": str(running.settings.backup_storage_path),
                "EXECUTOR_SEAL_KEY": TEST_SEAL_KEY,
                "EXECUTOR_ID": "test-verify",
                "EXECUTOR_TMP_DIR": str(private),
                "EXECUTOR_SHUTDOWN_GRACE": "2",
            }
        )
        bus = await Bus.connect(nats_url, name="itest-verify-executor")
        executor = Executor(Context.create(settings, os.environ), bus)
        stop = asyncio.Event()
        runner = asyncio.ensure_future(executor.run(stop))
        try:
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(runner, return_exceptions=True), 30)
            await bus.close()


def pg_scratch_left() -> set[str]:
    with dbs.pg_admin() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_verify\\_%'"
        ).fetchall()
    return {str(r[0]) for r in rows}


def my_scratch_left() -> set[str]:
    conn = dbs.my_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE 'lifeboat\\_verify\\_%'")
            return {str(r[0]) for r in cur.fetchall()}
    finally:
        conn.close()


def pg_table_counts(name: str) -> dict[str, int]:
    """Rows of the ordinary tables (materialized views are not counted: a restore refreshes
    them, so a stale one would differ for no fault of the backup)."""
    with dbs.pg_connect(name) as conn:
        rows = conn.execute("SELECT schemaname || '.' || matviewname FROM pg_matviews").fetchall()
    matviews = {str(r[0]) for r in rows}
    return {k: v for k, v in pg_row_counts(name).items() if k not in matviews}


def pg_create(name: str) -> None:
    with dbs.pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def my_create(name: str) -> None:
    conn = dbs.my_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
    finally:
        conn.close()


ENGINES: dict[str, dict[str, Any]] = {
    "postgresql": {
        "scratch": dbs.scratch_pg,
        "build": build_rich_pg,
        "counts": pg_table_counts,
        "left": pg_scratch_left,
        "create": pg_create,
    },
    "mysql": {
        "scratch": dbs.scratch_my,
        "build": build_rich_my,
        "counts": my_row_counts,
        "left": my_scratch_left,
        "create": my_create,
    },
}


async def wait(api: RunningApi, path: str, done: Callable[[dict[str, Any]], bool]) -> Any:
    async def check() -> dict[str, Any] | None:
        record: dict[str, Any] = data_of(await api.client.get(path))
        return record if done(record) else None

    return await eventually(check, timeout=120, interval=0.2)


async def back_up(api: RunningApi, db: dbs.ScratchDb) -> dict[str, Any]:
    body = {
        "name": f"verify-{db.name}",
        "type": db.engine,
        "host": db.host,
        "port": db.port,
        "databaseName": db.name,
        "username": db.user,
        "password": db.password,
        "queue": QUEUE,
        "skipConnectionTest": True,
    }
    config = data_of(await api.client.post("/api/databases", json=body), 201)
    backup = data_of(await api.client.post("/api/backups", json={"databaseId": config["id"]}), 202)
    path = f"/api/backups/{backup['id']}"
    return await wait(api, path, lambda r: r["status"] in ("completed", "failed"))


async def verify(api: RunningApi, backup_id: str) -> dict[str, Any]:
    started = data_of(await api.client.post(f"/api/backups/{backup_id}/verify"), 202)
    assert started["status"] == "pending" and started["scratchDatabase"].startswith(SCRATCH_PREFIX)
    path = f"/api/verifications/{started['id']}"
    return await wait(api, path, lambda r: r["status"] in ("completed", "failed", "cancelled"))
