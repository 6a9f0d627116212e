"""The /logs page and the dashboard's scheduler status, driven in the system's Chromium against
a running system (API, scheduler, executor): a line the executor logs reaches the page through
the real shipping path (executor → NATS → API window → GET /api/logs → UI)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from playwright.sync_api import expect

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.test_ui_pages import TIMEOUT, sign_in, watch_errors

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """Every service of this module's stack logs JSON lines."""
    return {"LOG_FORMAT": "json"}


def json_lines(stack: Stack, service: str) -> list[dict[str, Any]]:
    """The service's log file (tests/e2e/conftest.py puts it beside the data directory), each
    line parsed: a line that is not one JSON object fails the test."""
    text = (stack.data_dir.parent / "logs" / f"{service}.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


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
        # The previous answer stays on screen until the filtered one arrives.
        expect(page.locator("[data-testid=log-line]:not([data-service=executor])")).to_have_count(
            0, timeout=TIMEOUT
        )
        expect(refused.first).to_be_visible(timeout=TIMEOUT)

        page.get_by_test_id("logs-service").select_option("")
        page.get_by_test_id("logs-level").select_option("error")
        below = (
            "[data-testid=log-line]:is([data-level=debug], [data-level=info], [data-level=warning])"
        )
        expect(page.locator(below)).to_have_count(0, timeout=TIMEOUT)
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
        # An empty install offers the setup wizard in the dashboard's place first.
        dismiss = page.get_by_test_id("wizard-dismiss")
        dismiss.or_(status).first.wait_for(timeout=TIMEOUT)
        if dismiss.is_visible():
            dismiss.click()
        expect(status).to_have_attribute("data-live", "true", timeout=30_000)
        expect(status).to_contain_text("last heartbeat")
        assert errors == []


def test_every_service_logs_json_lines_uvicorn_included(stack: Stack) -> None:
    forge_a_job(stack.nats_url)
    with httpx.Client(base_url=stack.api_url) as client:
        client.get("/api/health/ready", headers={"X-Request-ID": "e2e-json-1"})

    def seen() -> bool:
        api = json_lines(stack, "api")
        return any(line.get("request_id") == "e2e-json-1" for line in api)

    deadline = time.monotonic() + 15
    while not seen() and time.monotonic() < deadline:
        time.sleep(0.2)
    api = json_lines(stack, "api")
    access = [line for line in api if line["logger"] == "uvicorn.access"]
    assert any(
        line["request_id"] == "e2e-json-1" and "/api/health/ready" in line["message"]
        for line in access
    ), access[-5:]
    assert any(line["logger"] == "uvicorn.error" for line in api)
    for service in ("api", "scheduler", "executor"):
        lines = json_lines(stack, service)
        assert lines and all(line["service"] == service for line in lines), service
        assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    executor = json_lines(stack, "executor")
    assert any("without a valid signature" in line["message"] for line in executor)
