"""The list pages of the web UI in the system's Chromium against a running system (real
PostgreSQL, executor, scheduler): the backups and restores filters and sorting kept in the URL,
the databases search, toasts of actions, the dashboard's charts, and cards on narrow screens.

With LIFEBOAT_SHOTS=<dir> it also saves screenshots of Dashboard, Backups, Restores and
Databases, light and dark, at 390 and 1440 pixels wide."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page, expect

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.test_system_roundtrip import add_database, ok, wait_done
from tests.e2e.test_ui import STATIC
from tests.e2e.test_ui_pages import TIMEOUT, sign_in, watch_errors
from tests.support.dbs import PG_PASSWORD, PG_USER, pg_connect, scratch_pg

pytestmark = [pytest.mark.e2e]


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


@pytest.fixture(scope="module")
def world(api: httpx.Client) -> Iterator[dict[str, Any]]:
    """Two databases with completed backups of different sizes, a restore of one into a third,
    and a database whose server cannot be reached."""
    with ExitStack() as stack:
        shop_db = stack.enter_context(scratch_pg("lbshop"))
        crm_db = stack.enter_context(scratch_pg("lbcrm"))
        staging_db = stack.enter_context(scratch_pg("lbstaging"))
        with pg_connect(shop_db.name) as conn:
            conn.execute(
                "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
                "FROM generate_series(1, 20000) g"
            )
        shop = add_database(api, shop_db, user=PG_USER, password=PG_PASSWORD, name="shop")
        crm = add_database(api, crm_db, user=PG_USER, password=PG_PASSWORD, name="crm")
        staging = add_database(api, staging_db, user=PG_USER, password=PG_PASSWORD, name="staging")
        broken = ok(
            api.post(
                "/api/databases",
                json={
                    "name": "broken",
                    "type": "postgresql",
                    "host": "127.0.0.1",
                    "port": 1,
                    "databaseName": "nothing",
                    "username": "nobody",
                    "password": "x",
                    "skipConnectionTest": True,
                },
            ),
            201,
        )
        backups: dict[str, list[dict[str, Any]]] = {"shop": [], "crm": []}
        for name, database in (("shop", shop), ("crm", crm), ("shop", shop), ("crm", crm)):
            started = ok(api.post("/api/backups", json={"databaseId": database["id"]}), 202)
            done = wait_done(api, f"/api/backups/{started['id']}")
            assert done["status"] == "completed", done
            backups[name].append(done)
        restore = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": staging["id"],
                    "backupId": backups["shop"][0]["id"],
                    "options": {"clean": True, "noOwner": True},
                },
            ),
            202,
        )
        assert wait_done(api, f"/api/restores/{restore['id']}")["status"] == "completed"
        yield {"shop": shop, "crm": crm, "staging": staging, "broken": broken, "backups": backups}


def test_lists_filters_sorting_search_toasts(stack: Stack, world: dict[str, Any]) -> None:
    assert STATIC.is_file(), "the SPA is not built: run `just web` (just test does)"
    base = stack.api_url
    with open_page() as page:
        errors = watch_errors(page)
        sign_in(page, base, "/backups")

        # The database filter goes to the API and into the URL.
        rows = page.get_by_test_id("backup-row")
        expect(rows).to_have_count(4, timeout=TIMEOUT)
        page.get_by_label("Database", exact=True).select_option(label="crm")
        expect(rows).to_have_count(2, timeout=TIMEOUT)
        expect(rows.filter(has_text="shop")).to_have_count(0)
        assert query_of(page)["databaseId"] == [world["crm"]["id"]]

        # Sorting by size: the shop's larger backups first, the URL says so, a reload keeps it.
        page.get_by_label("Database", exact=True).select_option(label="Any")
        expect(rows).to_have_count(4, timeout=TIMEOUT)
        page.get_by_label("Sort", exact=True).select_option(label="Largest first")
        expect(rows.first).to_contain_text("shop", timeout=TIMEOUT)
        expect(rows.nth(1)).to_contain_text("shop")
        expect(rows.nth(3)).to_contain_text("crm")
        assert query_of(page)["sort"] == ["size:desc"]
        page.reload()
        expect(page.get_by_label("Sort", exact=True)).to_have_value("size:desc", timeout=TIMEOUT)
        expect(rows.first).to_contain_text("shop", timeout=TIMEOUT)
        page.get_by_label("Sort", exact=True).select_option(label="Smallest first")
        expect(rows.first).to_contain_text("crm", timeout=TIMEOUT)
        # The column headers sort too, and say how (aria-sort).
        size_header = page.get_by_role("columnheader", name="Size")
        expect(size_header).to_have_attribute("aria-sort", "ascending")
        size_header.get_by_role("button").click()
        expect(size_header).to_have_attribute("aria-sort", "descending", timeout=TIMEOUT)
        expect(rows.first).to_contain_text("shop", timeout=TIMEOUT)
        assert query_of(page)["sort"] == ["size:desc"]
        page.get_by_role("columnheader", name="Started").get_by_role("button").click()
        expect(page.get_by_label("Sort", exact=True)).to_have_value("startedAt:desc")
        assert "sort" not in query_of(page)
        page.get_by_label("Sort", exact=True).select_option(label="Smallest first")
        expect(rows.first).to_contain_text("crm", timeout=TIMEOUT)

        # Type, status and storage filters, and a date range with nothing in it.
        page.get_by_label("Status", exact=True).select_option("failed")
        expect(page.get_by_text("No backups match these filters.")).to_be_visible(timeout=TIMEOUT)
        page.get_by_label("Status", exact=True).select_option("completed")
        page.get_by_label("Type", exact=True).select_option("manual")
        page.get_by_label("Stored in").select_option(label="S3 (uploaded)")
        expect(page.get_by_text("No backups match these filters.")).to_be_visible(timeout=TIMEOUT)
        page.get_by_label("Stored in").select_option(label="Not on S3")
        expect(rows).to_have_count(4, timeout=TIMEOUT)
        page.get_by_label("Stored in").select_option(label="Local copy")
        expect(rows).to_have_count(4, timeout=TIMEOUT)
        page.get_by_label("From", exact=True).fill("2001-01-01")
        page.get_by_label("To", exact=True).fill("2001-01-31")
        expect(page.get_by_text("No backups match these filters.")).to_be_visible(timeout=TIMEOUT)
        query = query_of(page)
        assert query["from"] == ["2001-01-01"] and query["to"] == ["2001-01-31"]
        assert query["storage"] == ["local"] and query["type"] == ["manual"]
        page.get_by_test_id("clear-filters").click()
        expect(rows).to_have_count(4, timeout=TIMEOUT)
        assert urlparse(page.url).query == ""

        # A link with filters opens filtered (the URL is the state).
        page.goto(f"{base}/backups?databaseId={world['shop']['id']}&sort=size:asc")
        expect(rows).to_have_count(2, timeout=TIMEOUT)
        expect(page.get_by_label("Database", exact=True)).to_have_value(world["shop"]["id"])

        # Restores: filter by target database and source.
        page.goto(f"{base}/restores")
        restore_rows = page.get_by_test_id("restore-row")
        expect(restore_rows).to_have_count(1, timeout=TIMEOUT)
        page.get_by_label("Source").select_option(label="S3")
        expect(page.get_by_text("No restores match these filters.")).to_be_visible(timeout=TIMEOUT)
        page.get_by_label("Source").select_option(label="Local file")
        page.get_by_label("Into database").select_option(label="staging")
        expect(restore_rows).to_have_count(1, timeout=TIMEOUT)
        page.get_by_label("Sort", exact=True).select_option(label="Slowest first")
        assert query_of(page)["sort"] == ["duration:desc"]
        assert query_of(page)["source"] == ["local"]

        # Databases: the search narrows the cards, by name or by host, and is kept in the URL.
        page.goto(f"{base}/databases")
        cards = page.get_by_test_id("database-card")
        expect(cards).to_have_count(4, timeout=TIMEOUT)
        search = page.get_by_role("searchbox", name="Search databases")
        search.fill("sho")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("shop")
        expect(page.get_by_test_id("database-count")).to_have_text("1 of 4 databases")
        page.wait_for_url(re.compile(r"q=sho"), timeout=TIMEOUT)
        search.fill("127.0.0.1:1")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("broken")
        search.fill("no such thing")
        expect(page.get_by_text("No database matches")).to_be_visible()
        search.fill("   ")  # blanks search nothing (and leave no q= behind)
        expect(cards).to_have_count(4)
        page.wait_for_timeout(600)
        assert "q" not in query_of(page)
        search.fill("")
        expect(cards).to_have_count(4)
        page.get_by_label("Type", exact=True).select_option(label="MySQL")
        expect(page.get_by_text("No database matches of type MySQL.")).to_be_visible()
        assert query_of(page)["type"] == ["mysql"]
        page.get_by_label("Type", exact=True).select_option(label="PostgreSQL")
        expect(cards).to_have_count(4)

        # Toasts: a started backup is announced politely, a failure as an alert.
        shop_card = cards.filter(has_text="shop")
        shop_card.get_by_role("button", name="Backup now").click()
        status = page.get_by_role("status").get_by_test_id("toast")
        expect(status).to_contain_text("Backup of shop started.", timeout=TIMEOUT)
        status.get_by_role("button", name="Dismiss notification").click()
        expect(status).to_have_count(0)
        broken_card = cards.filter(has_text="broken")
        broken_card.get_by_role("button", name="Test the connection to broken").click()
        alert = page.get_by_role("alert").get_by_test_id("toast")
        expect(alert).to_contain_text(
            re.compile(r"(Cannot connect to|Could not test the connection to) broken"),
            timeout=TIMEOUT,
        )

        # The backup started from its card is in the list.
        page.goto(f"{base}/backups?databaseId={world['shop']['id']}")
        expect(rows).to_have_count(3, timeout=30_000)
        assert errors == [], errors


def test_dashboard_charts_and_narrow_cards(stack: Stack, world: dict[str, Any]) -> None:
    base = stack.api_url
    shots = os.environ.get("LIFEBOAT_SHOTS")
    for scheme in ("light", "dark"):
        with open_page(color_scheme=scheme) as page:
            errors = watch_errors(page)
            sign_in(page, base, "/")
            for width in (1440, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{base}/")
                for metric in ("size", "duration"):
                    chart = page.get_by_test_id(f"chart-{metric}")
                    expect(chart.locator("canvas")).to_have_count(1, timeout=TIMEOUT)
                    label = chart.get_by_role("img").get_attribute("aria-label") or ""
                    assert re.search(r"shop: \d+ backups", label), label
                    assert re.search(r"crm: 2 backups", label), label
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                if shots:
                    shoot(page, Path(shots), "dashboard", scheme, width)

                page.goto(f"{base}/backups")
                rows = page.get_by_test_id("backup-row")
                expect(rows.first).to_be_visible(timeout=TIMEOUT)
                display = rows.first.evaluate("row => getComputedStyle(row).display")
                assert display == ("block" if width < 640 else "table-row"), display
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                if width < 640:
                    # each value is labelled by its column on the card
                    size_cell = rows.first.get_by_test_id("backup-size")
                    assert size_cell.get_attribute("data-label") == "Size"
                if shots:
                    shoot(page, Path(shots), "backups", scheme, width)

                page.goto(f"{base}/restores")
                expect(page.get_by_test_id("restore-row").first).to_be_visible(timeout=TIMEOUT)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                if shots:
                    shoot(page, Path(shots), "restores", scheme, width)

                page.goto(f"{base}/databases")
                expect(page.get_by_test_id("database-card").first).to_be_visible(timeout=TIMEOUT)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                if shots:
                    shoot(page, Path(shots), "databases", scheme, width)
            assert errors == [], errors


def shoot(page: Page, folder: Path, name: str, scheme: str, width: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the charts settle after a resize
    page.screenshot(path=str(folder / f"{name}-{scheme}-{width}.png"), full_page=True)
