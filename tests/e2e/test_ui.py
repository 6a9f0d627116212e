"""The web UI in the system's Chromium, served by the API of a running system."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.support.dbs import PG_USER, scratch_pg

pytestmark = [pytest.mark.e2e]

STATIC = Path(__file__).parents[2] / "services/api/src/lifeboat/api/static/index.html"
XSS_NAME = "<img src=x onerror=alert(1)>"


def test_ui_shows_databases_and_backups(stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    assert STATIC.is_file(), "the SPA is not built: run `just web` (just test does)"
    with scratch_pg("lbui") as db:
        created = api.post(
            "/api/databases",
            json={
                "name": XSS_NAME,
                "type": "postgresql",
                "host": db.host,
                "port": db.port,
                "databaseName": db.name,
                "username": PG_USER,
                "password": "",
            },
        )
        assert created.status_code == 201, created.text
        errors: list[str] = []
        dialogs: list[str] = []
        with open_page() as page:
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{stack.api_url}/databases")
            page.get_by_text(XSS_NAME, exact=True).first.wait_for(timeout=10_000)
            page.get_by_role("button", name="Backup now").first.click()
            page.goto(f"{stack.api_url}/backups")
            row = page.get_by_test_id("backup-row").filter(has_text=XSS_NAME)
            row.get_by_text("completed", exact=True).wait_for(timeout=30_000)
            assert row.get_by_role("link", name=f"Download backup of {XSS_NAME}").is_visible()
            page.goto(f"{stack.api_url}/")
            page.get_by_text("Total backups", exact=False).first.wait_for(timeout=10_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"))
        assert dialogs == [], "a user-given name was executed as HTML"
        assert errors == []
