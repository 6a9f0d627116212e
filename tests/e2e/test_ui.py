"""The web UI in the system's Chromium, served by the API of a running system."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.dbs import PG_USER, scratch_pg

pytestmark = [pytest.mark.e2e]

STATIC = Path(__file__).parents[2] / "services/api/src/lifeboat/api/static/index.html"
XSS_NAME = "<img src=x onerror=alert(1)>"


def test_ui_shows_databases_and_backups(stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

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
            # A 401 before sign-in is expected; anything else (CSP violations included) is not.
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and "status of 401" not in m.text
                    else None
                ),
            )
            page.on("dialog", on_dialog)
            page.goto(f"{stack.api_url}/databases")
            # not signed in: the SPA sends the browser to the sign-in page, then back
            page.wait_for_url("**/login?next=*", timeout=10_000)
            page.get_by_label("E-mail").fill(ADMIN_EMAIL)
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/databases", timeout=10_000)
            page.get_by_text(XSS_NAME, exact=True).first.wait_for(timeout=10_000)
            page.get_by_role("button", name="Backup now").first.click()
            page.goto(f"{stack.api_url}/backups")
            row = page.get_by_test_id("backup-row").filter(has_text=XSS_NAME)
            row.get_by_text("completed", exact=True).wait_for(timeout=30_000)
            assert row.get_by_role("link", name=f"Download backup of {XSS_NAME}").is_visible()
            page.goto(f"{stack.api_url}/")
            page.get_by_text("Total backups", exact=False).first.wait_for(timeout=10_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"))
            # the audit log shows the name too (as text), and the admin pages render
            page.goto(f"{stack.api_url}/audit?action=database.create")
            page.get_by_test_id("audit-row").first.wait_for(timeout=10_000)
            assert XSS_NAME in page.get_by_test_id("audit-row").first.inner_text()
            page.goto(f"{stack.api_url}/tokens")
            page.get_by_label("Token name").fill("ui-token")
            page.get_by_role("button", name="Create token").click()
            assert page.get_by_test_id("new-token").inner_text(timeout=10_000).startswith("lb_")
            page.goto(f"{stack.api_url}/users")
            page.get_by_test_id("user-row").first.wait_for(timeout=10_000)
            page.goto(f"{stack.api_url}/account")
            page.get_by_text(ADMIN_EMAIL).first.wait_for(timeout=10_000)
            assert page.locator("img[src='x']").count() == 0
            # sign out: the next page load goes back to sign-in
            page.get_by_role("button", name="Sign out", exact=True).click()
            page.wait_for_url("**/login", timeout=10_000)
        assert dialogs == [], "a user-given name was executed as HTML"
        assert errors == [], errors  # CSP violations are console errors too


def test_security_headers_on_the_spa(stack: Stack) -> None:
    response = httpx.get(f"{stack.api_url}/databases")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
