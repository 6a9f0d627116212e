"""The backup and database details pages of the web UI (/backups/:id, /databases/:id), driven in
the system's Chromium against a running system (real PostgreSQL, executor, scheduler)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Dialog, expect

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.test_system_roundtrip import add_database, ok, wait_done
from tests.e2e.test_ui import STATIC, XSS_NAME
from tests.e2e.test_ui_pages import TIMEOUT, sign_in
from tests.support.dbs import PG_PASSWORD, PG_USER, scratch_pg

pytestmark = [pytest.mark.e2e]


def test_backup_and_database_details(stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    assert STATIC.is_file(), "the SPA is not built: run `just web` (just test does)"
    base = stack.api_url
    errors: list[str] = []
    confirms: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 401" not in message.text:
            errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        # The one dialog expected is the delete confirmation; anything else is injected markup.
        confirms.append(dialog.message)
        if dialog.type == "confirm" and dialog.message.startswith("Delete the backup of"):
            dialog.accept()
        else:
            dialog.dismiss()

    with scratch_pg("lbdetails") as db:
        database = add_database(api, db, user=PG_USER, password=PG_PASSWORD, name=XSS_NAME)
        # one at a time: a database has at most one backup in flight
        kept, doomed = (
            wait_done(api, f"/api/backups/{ok(api.post('/api/backups', json=body), 202)['id']}")
            for body in [{"databaseId": database["id"]}] * 2
        )
        assert kept["status"] == doomed["status"] == "completed", (kept, doomed)

        with open_page() as page:
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", on_console)
            page.on("dialog", on_dialog)
            sign_in(page, base, "/backups")

            # A completed backup, opened from the list: checksum (copyable), copies, its log.
            page.locator(f'a[href="/backups/{kept["id"]}"]').click()
            page.wait_for_url(f"**/backups/{kept['id']}", timeout=TIMEOUT)
            expect(page.get_by_role("heading", name=f"Backup of {XSS_NAME}")).to_be_visible()
            expect(page.get_by_test_id("backup-checksum")).to_have_text(kept["checksum"])
            expect(page.get_by_role("button", name="Copy the SHA-256 checksum")).to_be_visible()
            expect(page.get_by_test_id("local-path")).to_contain_text(kept["fileName"])
            log = page.get_by_test_id("execution-log")
            expect(log).to_contain_text(f"sha256 {kept['checksum']}")
            assert page.get_by_test_id("log-line").count() >= 2
            expect(page.get_by_role("link", name="Restore", exact=True)).to_have_attribute(
                "href", f"/restore/new?backupId={kept['id']}"
            )
            # No S3 configuration exists here: nothing offers a copy to S3.
            expect(page.get_by_role("button", name=re.compile("S3"))).to_have_count(0)
            page.screenshot(path=str(tmp_path / "backup.png"), full_page=True)

            # Deleting one goes through a confirmation naming it, then back to the list.
            page.goto(f"{base}/backups/{doomed['id']}")
            page.get_by_role("button", name="Delete", exact=True).click()
            page.wait_for_url(f"{base}/backups", timeout=TIMEOUT)
            assert len(confirms) == 1 and XSS_NAME in confirms[0], confirms
            expect(page.get_by_test_id("backup-row")).to_have_count(1, timeout=TIMEOUT)
            assert api.get(f"/api/backups/{doomed['id']}").status_code == 404

            # The database's page, from the list: connection summary, test, backups, live backup.
            page.goto(f"{base}/databases")
            page.get_by_role("link", name=f"Details of {XSS_NAME}").click()
            page.wait_for_url(f"**/databases/{database['id']}", timeout=TIMEOUT)
            expect(page.get_by_test_id("database-host")).to_have_text(f"{db.host}:{db.port}")
            expect(page.get_by_test_id("connection-untested")).to_be_visible()
            page.get_by_role("button", name="Test connection").click()
            expect(page.get_by_test_id("connection-ok")).to_contain_text(
                "Connected in", timeout=TIMEOUT
            )
            expect(page.get_by_test_id("backup-row")).to_have_count(1)
            page.get_by_role("button", name="Backup now").click()
            page.get_by_test_id("backup-started").get_by_role("link", name="Follow it").click()
            page.wait_for_url("**/backups/*", timeout=TIMEOUT)
            # pending/running → completed without a reload (event stream, else polling)
            expect(page.get_by_test_id("backup-checksum")).to_have_text(
                re.compile(r"^[0-9a-f]{64}$"), timeout=30_000
            )
            expect(log).to_contain_text("sha256", timeout=TIMEOUT)
            page.screenshot(path=str(tmp_path / "database.png"), full_page=True)
            assert page.locator("img[src='x']").count() == 0
    assert confirms[1:] == [], confirms
    assert errors == [], errors
