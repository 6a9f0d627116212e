"""The executor registry against a running system: a real nats-server, API and executor process.

The executor beats every second here and finds only some client tools (its tool path holds
links to PostgreSQL's tools, zstd and gzip, none of MySQL's), so the listing shows both found
and missing tools. Stopping it makes it not live at once (its last beat says it is stopping),
and readiness then warns, still 200, about every queue an enabled database uses. A heartbeat
sent by the test itself names a pending backup as running: the listing resolves it, the page
links to it, and its Cancel button cancels it.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Dialog, expect

from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import ExecutorHeartbeat
from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.test_system_roundtrip import ok
from tests.e2e.test_ui import STATIC
from tests.e2e.test_ui_pages import TIMEOUT, sign_in, watch_errors

pytestmark = [pytest.mark.e2e]

EXECUTOR_ID = "e2e-executor-1"
FOUND = ("pg_dump", "pg_restore", "psql", "zstd", "gzip")
MISSING = ("mysqldump", "mysql")


@pytest.fixture(scope="module")
def tool_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tool path with links to some client tools only."""
    tools = tmp_path_factory.mktemp("tools")
    for name in FOUND:
        real = shutil.which(name)
        assert real is not None, f"{name} is not installed"
        (tools / name).symlink_to(real)
    return tools


@pytest.fixture(scope="module")
def stack_env(tool_dir: Path) -> dict[str, str]:
    return {
        "EXECUTOR_HEARTBEAT_SECONDS": "1",
        "EXECUTOR_ID": EXECUTOR_ID,
        "EXECUTOR_TOOL_PATH": str(tool_dir),
    }


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy result of `check`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"not true after {timeout}s"
            return result
        time.sleep(0.2)


def executor(api: httpx.Client) -> dict[str, Any] | None:
    """Our executor as GET /api/executors lists it, if it does."""
    listed = ok(api.get("/api/executors"))
    return next((e for e in listed if e["id"] == EXECUTOR_ID), None)


def add_unchecked_database(api: httpx.Client, name: str, queue: str) -> dict[str, Any]:
    """A database on `queue`, saved without a connection test (nobody may serve the queue)."""
    body = {
        "name": name,
        "type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "databaseName": name,
        "username": "nobody",
        "password": "unused",
        "queue": queue,
        "skipConnectionTest": True,
    }
    return ok(api.post("/api/databases", json=body), 201)


@pytest.fixture(scope="module")
def databases(api: httpx.Client) -> Iterator[list[dict[str, Any]]]:
    """An enabled database on the default queue and one on the unserved queue "reports"."""
    yield [
        add_unchecked_database(api, "shop", "default"),
        add_unchecked_database(api, "warehouse", "reports"),
    ]


def test_registry_and_readiness(
    stack: Stack, api: httpx.Client, databases: list[dict[str, Any]], tmp_path: Path
) -> None:
    found = eventually(lambda: executor(api))
    assert found["queue"] == "default"
    assert found["live"] is True and found["stopping"] is False
    assert found["version"]
    assert found["concurrency"] == 2 and found["intervalSeconds"] == 1
    assert found["runningJobs"] == []
    assert list(found["tools"]) == [*FOUND[:3], *MISSING, *FOUND[3:]]
    for name in FOUND:
        assert found["tools"][name], name
    for name in MISSING:
        assert found["tools"][name] is None, name
    assert "pg_dump (PostgreSQL)" in found["tools"]["pg_dump"]

    # "reports" has no executor: a warning, not a failure; "default" is served.
    ready = httpx.get(f"{stack.api_url}/api/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    data = ready.json()["data"]
    assert data["status"] == "ready"
    assert len(data["warnings"]) == 1 and "'reports'" in data["warnings"][0], data
    assert "warehouse" in data["warnings"][0]
    assert data["checks"]["executors"]["ok"] is True
    assert data["checks"]["executors"]["warning"] is True
    warnings = ok(api.get("/api/executors/warnings"))
    assert [(w["queue"], w["databases"]) for w in warnings] == [("reports", ["warehouse"])]

    # The UI: the executors page lists it, live, with its tools found and missing.
    if STATIC.is_file():
        with open_page() as page:
            errors = watch_errors(page)
            sign_in(page, stack.api_url, "/executors")
            row = page.get_by_test_id("executor-row").filter(has_text=EXECUTOR_ID)
            expect(row).to_have_count(1, timeout=TIMEOUT)
            expect(row.get_by_test_id("executor-live")).to_have_text("live")
            expect(row.get_by_test_id("tool-missing")).to_have_count(len(MISSING))
            expect(row.get_by_test_id("tool-found")).to_have_count(len(FOUND))
            page.screenshot(path=str(tmp_path / "executors.png"), full_page=True)
            # The dashboard warns about the unserved queue.
            page.get_by_role("link", name="Dashboard").click()
            banner = page.get_by_test_id("executor-warning")
            expect(banner).to_contain_text("reports", timeout=TIMEOUT)
            expect(banner).to_contain_text("warehouse")
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            assert errors == [], errors

    # Stopped: its last beat says so, it is no longer live, and both queues are warned about.
    stack.stop_service("executor")
    stopped = eventually(lambda: (e := executor(api)) is not None and not e["live"] and e)
    assert stopped["stopping"] is True
    ready = httpx.get(f"{stack.api_url}/api/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    queues = {w["queue"] for w in ok(api.get("/api/executors/warnings"))}
    assert queues == {"default", "reports"}
    assert len(ready.json()["data"]["warnings"]) == 2

    # A disabled database's queue is nobody's concern.
    ok(api.put(f"/api/databases/{databases[1]['id']}", json={"enabled": False}))
    assert {w["queue"] for w in ok(api.get("/api/executors/warnings"))} == {"default"}


def publish_beat(nats_url: str, beat: ExecutorHeartbeat) -> None:
    """Send one heartbeat as an executor would (from this test, over the stack's NATS)."""

    async def send() -> None:
        bus = await Bus.connect(nats_url, name="e2e-fake-executor")
        try:
            await bus.publish(subjects.EXECUTOR_HEARTBEAT, encode(beat))
        finally:
            await bus.close()

    asyncio.run(send())


def test_running_jobs_and_cancel(stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    # A backup on a queue nobody serves stays pending; an executor claiming to run it names it.
    ledger = add_unchecked_database(api, "ledger", "batch")
    pending = ok(api.post("/api/backups", json={"databaseId": ledger["id"]}), 202)
    now = datetime.now(UTC)
    publish_beat(
        stack.nats_url,
        ExecutorHeartbeat(
            executor_id="fake-batch-1",
            queue="batch",
            version="9.9.9",
            tools={"pg_dump": "pg_dump (PostgreSQL) 16.4", "mysqldump": None},
            running=[pending["id"], "not-a-known-execution"],
            concurrency=4,
            started_at=now,
            at=now,
            interval_s=60,
        ),
    )
    fake = eventually(
        lambda: next((e for e in ok(api.get("/api/executors")) if e["id"] == "fake-batch-1"), None)
    )
    assert fake["live"] is True and fake["queue"] == "batch"
    assert fake["runningJobs"] == [
        {"id": pending["id"], "kind": "backup", "databaseName": "ledger", "status": "pending"},
        {"id": "not-a-known-execution", "kind": None, "databaseName": None, "status": None},
    ]
    assert "batch" not in {w["queue"] for w in ok(api.get("/api/executors/warnings"))}

    if not STATIC.is_file():
        return
    with open_page(color_scheme="dark") as page:
        confirms: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            confirms.append(dialog.message)
            dialog.accept()

        page.on("dialog", on_dialog)
        sign_in(page, stack.api_url, "/executors")
        row = page.get_by_test_id("executor-row").filter(has_text="fake-batch-1")
        expect(row.get_by_test_id("running-job")).to_have_count(2, timeout=TIMEOUT)
        page.screenshot(path=str(tmp_path / "executors-dark.png"), full_page=True)
        # From the running job to its page, and cancelled from there (after a confirmation).
        row.get_by_role("link", name="backup of ledger").click()
        page.wait_for_url(f"**/backups/{pending['id']}", timeout=TIMEOUT)
        page.get_by_role("button", name="Cancel the backup of ledger").click()
        expect(page.get_by_text("cancelled", exact=True).first).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_test_id("cancel-execution")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "cancelled-dark.png"), full_page=True)
        assert len(confirms) == 1 and "ledger" in confirms[0], confirms
    assert ok(api.get(f"/api/backups/{pending['id']}"))["status"] == "cancelled"
