"""The Notifications page in the system's Chromium: add a signed webhook and an Apprise channel,
send tests to real receivers, read the deliveries; an overdue database shows red on the
dashboard and the databases page. Screenshots (light and dark, 1440 and 390 px wide) go to
``tmp_path``, or to ``$LIFEBOAT_SHOTS`` when set."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.test_system_roundtrip import ok
from tests.e2e.test_ui import STATIC
from tests.support.receivers import http_receiver

pytestmark = [pytest.mark.e2e]

TIMEOUT = 15_000
SIZES = {"wide": 1440, "narrow": 390}


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/notifications")
    page.wait_for_url("**/login?next=*", timeout=TIMEOUT)
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/notifications", timeout=TIMEOUT)


def overdue_database(stack: Stack, api: httpx.Client) -> dict[str, object]:
    """A database with an hourly schedule that became active three hours ago, never backed up."""
    db = ok(
        api.post(
            "/api/databases",
            json={
                "name": "orders-prod",
                "type": "postgresql",
                "host": "127.0.0.1",
                "port": 5432,
                "databaseName": "orders",
                "username": "lifeboat",
                "password": "",
                "skipConnectionTest": True,
            },
        ),
        201,
    )
    ok(
        api.post("/api/schedules", json={"databaseConfigId": db["id"], "scheduleType": "hourly"}),
        201,
    )
    with sqlite3.connect(stack.data_dir / "db" / "app.db") as conn:
        conn.execute(
            "UPDATE backup_schedules SET active_since = datetime('now', '-3 hours'),"
            " created_at = datetime('now', '-3 hours') WHERE database_config_id = ?",
            (db["id"],),
        )
    return db


def shoot(page: Page, out: Path, name: str) -> None:
    for label, width in SIZES.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)


def test_notifications_page(stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    assert STATIC.is_file(), "the SPA is not built: run `just web`"
    out = Path(os.environ.get("LIFEBOAT_SHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    ok(api.put("/api/system/settings", json={"allow_private_endpoints": True}))
    db = overdue_database(stack, api)
    base = stack.api_url
    with http_receiver() as receiver, open_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, base)
        expect(page.get_by_text("No channels yet")).to_be_visible(timeout=TIMEOUT)

        # A signed webhook: the secret is generated and shown once.
        page.get_by_role("button", name="Add channel").click()
        page.get_by_label("Name").fill("ops webhook")
        page.get_by_label("Type").select_option("webhook")
        page.get_by_label("URL").fill(receiver.url + "/lifeboat")
        page.get_by_role("button", name="Add channel").last.click()
        secret = page.get_by_test_id("generated-secret")
        expect(secret).to_be_visible(timeout=TIMEOUT)
        assert len(secret.inner_text()) >= 32
        page.get_by_role("button", name="Done").click()

        # An Apprise json:// channel for one database only.
        page.get_by_role("button", name="Add channel").click()
        page.get_by_label("Name").fill("team json")
        page.get_by_label("URL").fill(receiver.url.replace("http://", "json://") + "/apprise")
        page.get_by_label("All databases").uncheck()
        page.get_by_label("orders-prod").check()
        page.get_by_role("button", name="Add channel").last.click()
        cards = page.get_by_test_id("channel-card")
        expect(cards).to_have_count(2, timeout=TIMEOUT)
        expect(cards.filter(has_text="team json")).to_contain_text("json://****")
        expect(cards.filter(has_text="team json")).to_contain_text("orders-prod")

        for name in ("ops webhook", "team json"):
            card = cards.filter(has_text=name)
            card.get_by_role("button", name="Send test").click()
            expect(card.get_by_role("status")).to_contain_text("Test sent", timeout=TIMEOUT)
        assert [b.get("event") for b in receiver.bodies()].count("test") == 1  # the webhook
        assert len(receiver.received) == 2
        card = cards.filter(has_text="ops webhook")
        card.get_by_role("button", name="Deliveries").click()
        expect(card.get_by_test_id("deliveries")).to_contain_text("delivered", timeout=TIMEOUT)
        page.get_by_role("heading", name="Notifications").click()  # blur: no focus ring in shots
        shoot(page, out, "notifications-light")

        page.goto(f"{base}/databases")
        expect(page.get_by_test_id("database-overdue")).to_be_visible(timeout=TIMEOUT)
        shoot(page, out, "databases-light")
        page.goto(f"{base}/")
        expect(page.get_by_test_id("overdue-banner")).to_contain_text(
            "orders-prod", timeout=TIMEOUT
        )
        shoot(page, out, "dashboard-light")
        page.goto(f"{base}/databases/{db['id']}/edit")
        page.get_by_label(re.compile("^Alert when the last good backup")).fill("30")
        shoot(page, out, "database-form-light")
        page.get_by_role("button", name="Save database").click()
        page.wait_for_url("**/databases", timeout=TIMEOUT)
        saved = ok(api.get(f"/api/databases/{db['id']}"))
        assert saved["maxBackupAgeHours"] == 30 and saved["overdue"] is False  # 3 h < 30 h
        ok(api.put(f"/api/databases/{db['id']}", json={"maxBackupAgeHours": None}))

        page.emulate_media(color_scheme="dark")
        page.goto(f"{base}/notifications")
        card = page.get_by_test_id("channel-card").filter(has_text="ops webhook")
        card.get_by_role("button", name="Deliveries").click()
        expect(card.get_by_test_id("deliveries")).to_be_visible(timeout=TIMEOUT)
        shoot(page, out, "notifications-dark")
        page.get_by_test_id("channel-card").filter(has_text="team json").get_by_role(
            "button", name="Edit"
        ).click()
        expect(page.get_by_text("Stored as json://****")).to_be_visible(timeout=TIMEOUT)
        shoot(page, out, "notifications-edit-dark")
        page.goto(f"{base}/")
        expect(page.get_by_test_id("overdue-banner")).to_be_visible(timeout=TIMEOUT)
        shoot(page, out, "dashboard-dark")
        page.goto(f"{base}/databases")
        expect(page.get_by_test_id("database-overdue")).to_be_visible(timeout=TIMEOUT)
        shoot(page, out, "databases-dark")
    assert errors == [], errors
