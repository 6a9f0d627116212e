"""The first-run setup wizard and Settings → Configuration, driven in Chromium.

A fresh system (no databases): signing in lands on the wizard, which adds a real PostgreSQL
database (connection tested by the executor), an S3 configuration (moto, access tested), a daily
schedule, and runs a test backup until it completes. Then the configuration is exported from
the Settings page and previewed for import. Screenshots of every step (light and dark, 390 and
1440 px wide) go to $LIFEBOAT_SHOTS (default /work/shots/config-io).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import boto3
import httpx
import pytest
from playwright.sync_api import Locator, Page

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.dbs import scratch_pg
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SHOTS = Path(os.environ.get("LIFEBOAT_SHOTS", "/work/shots/config-io"))
VARIANTS = (("light", 1440), ("dark", 1440), ("light", 390), ("dark", 390))
TIMEOUT = 15_000
PASSPHRASE = "wizard e2e passphrase"


@pytest.fixture(scope="module")
def stack_env(endpoint: str) -> dict[str, str]:
    """Trust the moto endpoint as the deployment's own S3 (the SSRF guard lets it through)."""
    return {"S3_ENDPOINT": endpoint}


def shoot(page: Page, name: str, target: Locator | None = None) -> None:
    """Screenshots of the page (or one element) in every theme and width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for scheme, width in VARIANTS:
        page.emulate_media(color_scheme="dark" if scheme == "dark" else "light")
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        path = str(SHOTS / f"{name}-{scheme}-{width}.png")
        if target is None:
            page.screenshot(path=path, full_page=True)
        else:
            target.screenshot(path=path)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1440, "height": 900})


def make_bucket(endpoint: str) -> str:
    name = f"wizard-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client(  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=TEST_ACCESS_KEY,
        aws_secret_access_key=TEST_SECRET_KEY,
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=name)
    return name


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_url("**/login?next=*", timeout=TIMEOUT)
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_wizard_is_offered_dismissed_and_resumed(stack: Stack, api: httpx.Client) -> None:
    with open_page() as page:
        sign_in(page, f"{stack.api_url}/")
        # An install without databases sends its admin to the wizard.
        page.wait_for_url("**/get-started", timeout=TIMEOUT)
        page.get_by_test_id("wizard-database").wait_for(timeout=TIMEOUT)
        page.get_by_test_id("wizard-dismiss").click()
        page.wait_for_url(f"{stack.api_url}/", timeout=TIMEOUT)
        page.get_by_text("Total backups").first.wait_for(timeout=TIMEOUT)
        settings = {s["key"]: s["value"] for s in api.get("/api/system/settings").json()["data"]}
        assert settings["setup_wizard"] == "dismissed"
        # Dismissed: not offered again, even though there is still no database.
        page.reload()
        page.get_by_text("Total backups").first.wait_for(timeout=TIMEOUT)
        assert page.url == f"{stack.api_url}/"
        assert page.get_by_test_id("wizard-resume").count() == 0
        # A wizard left half-way is offered on the dashboard, and resumes at its step.
        put = api.put("/api/system/settings", json={"setup_wizard": "schedule"})
        assert put.status_code == 200, put.text
        page.reload()
        page.get_by_test_id("wizard-resume").get_by_role("link", name="Continue setup").click()
        page.wait_for_url("**/get-started", timeout=TIMEOUT)
        page.get_by_role("button", name="Add a database").click()  # no database yet
        page.get_by_test_id("wizard-database").wait_for(timeout=TIMEOUT)


def test_wizard_to_a_completed_backup(
    stack: Stack, api: httpx.Client, endpoint: str, tmp_path: Path
) -> None:
    bucket = make_bucket(endpoint)
    errors: list[str] = []
    with scratch_pg("lbwizard") as db, open_page() as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, f"{stack.api_url}/get-started")  # resumes at step 1 (see above)
        page.wait_for_url("**/get-started", timeout=TIMEOUT)

        form = page.get_by_test_id("wizard-database")
        form.wait_for(timeout=TIMEOUT)
        shoot(page, "wizard-1-database")
        form.get_by_label("Name", exact=True).fill("orders")
        form.get_by_label("Engine").select_option("postgresql")
        form.get_by_label("Host").fill(db.host)
        form.get_by_label("Port").fill(str(db.port))
        form.get_by_label("Database name").fill(db.name)
        form.get_by_label("User").fill(db.user)
        form.get_by_label("Password").fill(db.password)
        page.get_by_role("button", name="Test connection and save").click()
        page.get_by_test_id("wizard-connected").wait_for(timeout=30_000)
        assert "PostgreSQL" in page.get_by_test_id("wizard-connected").inner_text()
        shoot(page, "wizard-1-database-connected")
        page.get_by_role("button", name="Next: S3").click()

        s3 = page.get_by_test_id("wizard-s3")
        s3.wait_for(timeout=TIMEOUT)
        s3.get_by_label("Bucket").fill(bucket)
        s3.get_by_label("Endpoint").fill(endpoint)
        s3.get_by_label("Access key id").fill(TEST_ACCESS_KEY)
        s3.get_by_label("Secret access key").fill(TEST_SECRET_KEY)
        shoot(page, "wizard-2-s3")
        page.get_by_role("button", name="Save and test").click()
        page.get_by_text("Bucket reachable").wait_for(timeout=30_000)
        page.get_by_role("button", name="Next: schedule").click()

        schedule = page.get_by_test_id("wizard-schedule")
        schedule.wait_for(timeout=TIMEOUT)
        schedule.get_by_label("Daily").check()
        shoot(page, "wizard-3-schedule")
        page.get_by_role("button", name="Create schedule").click()

        page.get_by_test_id("wizard-backup").wait_for(timeout=TIMEOUT)
        shoot(page, "wizard-4-backup")
        page.get_by_role("button", name="Run test backup").click()
        status = page.get_by_test_id("wizard-backup-status")
        status.get_by_text("completed", exact=True).wait_for(timeout=90_000)
        assert "Backup completed" in status.inner_text()
        shoot(page, "wizard-4-backup-completed")
        page.get_by_role("button", name="Finish setup").click()
        page.wait_for_url(f"{stack.api_url}/", timeout=TIMEOUT)
        page.get_by_text("Total backups").first.wait_for(timeout=TIMEOUT)

        settings = {s["key"]: s["value"] for s in api.get("/api/system/settings").json()["data"]}
        assert settings["setup_wizard"] == "done"
        schedules = api.get("/api/schedules").json()["data"]
        assert [(s["scheduleType"], s["s3UploadEnabled"]) for s in schedules] == [("daily", True)]
        backups = api.get("/api/backups").json()["data"]
        assert [(b["status"], b["s3Status"]) for b in backups] == [("completed", "completed")]

        # Settings → Configuration: export with secrets, then preview importing it back.
        page.goto(f"{stack.api_url}/settings")
        section = page.locator("section", has=page.get_by_role("heading", name="Configuration"))
        section.wait_for(timeout=TIMEOUT)
        shoot(page, "settings-configuration", section)
        export = section.get_by_test_id("config-export")
        export.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        export.get_by_label("Repeat passphrase").fill(PASSPHRASE)
        with page.expect_download() as download:
            export.get_by_role("button", name="Export configuration").click()
        saved = tmp_path / "config.json"
        download.value.save_as(saved)
        text = saved.read_text()
        assert TEST_SECRET_KEY not in text and TEST_ACCESS_KEY not in text
        document = json.loads(text)
        assert document["format"] == "lifeboat.config" and document["secrets"] == "included"
        assert [d["name"] for d in document["databases"]] == ["orders"]

        importer = section.get_by_test_id("config-import")
        importer.get_by_label("Configuration file").set_input_files(str(saved))
        importer.get_by_label("Passphrase").fill(PASSPHRASE)
        importer.get_by_role("button", name="Preview import").click()
        importer.get_by_text("already exists").first.wait_for(timeout=TIMEOUT)  # 409, listed
        importer.get_by_label("Keep what already exists").check()
        importer.get_by_role("button", name="Preview import").click()
        result = importer.get_by_test_id("config-import-result")
        result.wait_for(timeout=TIMEOUT)
        assert "Preview" in result.inner_text()
        shoot(page, "settings-configuration-preview", section)
    assert errors == []
