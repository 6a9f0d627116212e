"""The /logs page and the dashboard's scheduler status, driven in the system's Chromium against
a running system (API, scheduler, executor): a line the executor logs reaches the page through
the real shipping path (executor → NATS → API window → GET /api/logs → UI)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest
from playwright.sync_api import expect

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.test_ui_pages import TIMEOUT, sign_in, watch_errors

pytestmark = [pytest.mark.e2e]


def forge_a_job(nats_url: str) -> None:
    """Put a job without the API's signature on the default queue: the executor refuses it and
    logs an error, which it ships to the API."""

    async def publish() -> None:
        nc = await nats.connect(nats_url)
        try:
            await nc.jetstream().publish("lifeboat.jobs.default", b'{"forged": true}')
        finally:
            await nc.close()

    asyncio.run(publish())


def test_logs_page_shows_and_filters_shipped_lines(stack: Stack, tmp_path: Path) -> None:
    forge_a_job(stack.nats_url)
    with open_page() as page:
        errors = watch_errors(page)
        sign_in(page, stack.api_url, "/logs")
        expect(page.get_by_role("heading", name="Logs")).to_be_visible()
        refused = page.get_by_test_id("log-line").filter(has_text="without a valid signature")
        expect(refused.first).to_be_visible(timeout=30_000)  # polled every 3 s while live
        expect(refused.first).to_have_attribute("data-service", "executor")
        expect(refused.first).to_have_attribute("data-level", "error")

        page.get_by_test_id("logs-service").select_option("executor")
        lines = page.get_by_test_id("log-line")
        expect(lines.first).to_be_visible(timeout=TIMEOUT)
        for service in lines.evaluate_all("(els) => els.map((el) => el.dataset.service)"):
            assert service == "executor"

        page.get_by_test_id("logs-service").select_option("")
        page.get_by_test_id("logs-level").select_option("error")
        expect(refused.first).to_be_visible(timeout=TIMEOUT)
        for level in lines.evaluate_all("(els) => els.map((el) => el.dataset.level)"):
            assert level in ("error", "critical")

        page.get_by_test_id("logs-level").select_option("")
        page.get_by_test_id("logs-text").fill("no line says this 7f3a")
        expect(page.get_by_text("No log line matches these filters.")).to_be_visible(
            timeout=TIMEOUT
        )
        page.get_by_test_id("logs-text").fill("valid signature")
        expect(refused.first).to_be_visible(timeout=TIMEOUT)

        page.get_by_test_id("logs-live").click()
        expect(page.get_by_test_id("logs-live")).to_have_attribute("aria-pressed", "false")
        page.screenshot(path=str(tmp_path / "logs.png"), full_page=True)

        page.get_by_role("link", name="Dashboard").first.click()
        status = page.get_by_test_id("scheduler-status")
        expect(status).to_have_attribute("data-live", "true", timeout=30_000)
        expect(status).to_contain_text("last heartbeat")
        assert errors == []
