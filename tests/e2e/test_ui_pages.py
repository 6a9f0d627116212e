"""The schedule, retention, S3 and restore pages of the web UI, driven in the system's Chromium
against a running system (real PostgreSQL, executor, scheduler, moto's S3 server)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect

from scripts.devstack import Stack
from tests.e2e.browser import open_page
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.test_s3_roundtrip import ACCESS, SECRET, add_s3_config, make_bucket
from tests.e2e.test_system_roundtrip import add_database, ok, wait_done
from tests.e2e.test_ui import STATIC, XSS_NAME
from tests.support.dbs import PG_PASSWORD, PG_USER, scratch_pg

pytestmark = [pytest.mark.e2e]

TIMEOUT = 15_000


def sign_in(page: Page, base_url: str, path: str) -> None:
    """Open `path`, get sent to sign-in, sign in as the bootstrap admin and land on `path`."""
    page.goto(f"{base_url}{path}")
    page.wait_for_url("**/login?next=*", timeout=TIMEOUT)
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}", timeout=TIMEOUT)


def watch_errors(page: Page) -> list[str]:
    """Uncaught page errors and console errors, except the expected HTTP failures: 401 before
    sign-in and the 400 of the cron preview refusing an invalid expression."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not re.search(r"status of (400|401)", message.text):
            errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        # No flow here asks for a confirmation: a dialog can only be injected markup running.
        errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", on_console)
    page.on("dialog", on_dialog)
    return errors


@pytest.fixture(scope="module")
def world(api: httpx.Client) -> Any:
    """A PostgreSQL database (with an XSS-shaped name) and one completed backup of it."""
    with scratch_pg("lbpages") as db:
        database = add_database(api, db, user=PG_USER, password=PG_PASSWORD, name=XSS_NAME)
        backup = ok(api.post("/api/backups", json={"databaseId": database["id"]}), 202)
        assert wait_done(api, f"/api/backups/{backup['id']}")["status"] == "completed"
        yield {"database": database, "backup": backup, "db": db}


def test_schedule_and_retention_pages(
    stack: Stack, api: httpx.Client, world: Any, tmp_path: Path
) -> None:
    assert STATIC.is_file(), "the SPA is not built: run `just web` (just test does)"
    base = stack.api_url
    with open_page() as page:
        errors = watch_errors(page)
        sign_in(page, base, "/schedules")

        # An invalid cron expression: the API's VALIDATION_ERROR message shows by the field.
        page.get_by_role("link", name="New schedule").click()
        page.get_by_label("Database").select_option(label=f"{XSS_NAME} (postgresql)")
        page.get_by_role("radio", name=re.compile("^Custom")).check()
        page.get_by_label("Cron expression").fill("61 * * * *")
        expect(page.locator("#schedule-cron-error")).to_contain_text(
            "minute value 61 is out of range", timeout=TIMEOUT
        )
        page.get_by_role("button", name="Save schedule").click()
        expect(page.locator("#schedule-cron-error")).to_contain_text("invalid cron expression")
        assert page.url.endswith("/schedules/new"), "an invalid schedule was saved"

        # A valid one: the preview lists the next runs, and the saved schedule its next run.
        page.get_by_label("Cron expression").fill("30 4 1 1 *")  # not firing during the test
        page.get_by_label("Time zone").fill("Europe/Berlin")
        expect(page.get_by_test_id("next-runs").locator("li")).to_have_count(5, timeout=TIMEOUT)
        page.get_by_role("button", name="Save schedule").click()
        page.wait_for_url("**/schedules", timeout=TIMEOUT)
        row = page.get_by_test_id("schedule-row").filter(has_text="30 4 1 1 *")
        expect(row).to_contain_text(XSS_NAME)
        expect(row).to_contain_text("Europe/Berlin")
        expect(row.get_by_test_id("next-run")).to_contain_text(
            re.compile(r"in \d+ (minute|hour|day)")
        )
        # The dashboard lists it among the upcoming schedules (names as text).
        page.goto(f"{base}/")
        upcoming = page.get_by_test_id("upcoming-schedule").filter(has_text=XSS_NAME)
        expect(upcoming).to_contain_text(re.compile(r"in \d+ (minute|hour|day)"), timeout=TIMEOUT)
        page.goto(f"{base}/schedules")
        row = page.get_by_test_id("schedule-row").filter(has_text="30 4 1 1 *")
        # disabling pauses it (no next run)
        row.get_by_role("switch").click()
        expect(row.get_by_test_id("next-run")).to_contain_text("paused", timeout=TIMEOUT)
        page.screenshot(path=str(tmp_path / "schedules.png"), full_page=True)

        # A retention policy, previewed on the database before it is saved, then saved.
        page.goto(f"{base}/retention-policies/new")
        page.get_by_label("Name").fill("ui <b>keep two days</b>")
        page.get_by_role("radio", name=re.compile("^Hybrid")).check()
        page.get_by_label("Daily").fill("2")
        page.get_by_role("spinbutton", name=re.compile("older than")).fill("30")
        page.get_by_label("Database", exact=True).select_option(label=XSS_NAME)
        page.get_by_role("button", name="Preview", exact=True).click()
        preview = page.get_by_test_id("retention-preview")
        expect(preview.get_by_test_id("preview-keep")).to_contain_text("Keep (1)", timeout=TIMEOUT)
        expect(preview.get_by_test_id("preview-keep")).to_contain_text("newest")
        expect(preview.get_by_test_id("preview-delete")).to_contain_text("Delete (0)")
        saved = api.get("/api/retention-policies").json()["data"]
        assert "ui <b>keep two days</b>" not in [p["name"] for p in saved]  # not saved yet
        page.get_by_role("button", name="Save policy").click()
        page.wait_for_url("**/retention-policies", timeout=TIMEOUT)
        expect(page.get_by_test_id("policy-row")).to_contain_text("ui <b>keep two days</b>")
        page.screenshot(path=str(tmp_path / "policies.png"), full_page=True)

        assert page.locator("img[src='x']").count() == 0
        assert page.locator("main b").count() == 0, "a policy name was rendered as HTML"
    assert errors == [], errors


def test_s3_and_restore_pages(
    stack: Stack, api: httpx.Client, world: Any, endpoint: str, tmp_path: Path
) -> None:
    base = stack.api_url
    bucket = make_bucket(endpoint)
    add_s3_config(api, endpoint, make_bucket(endpoint), name="other")  # allows private endpoints
    with open_page(color_scheme="dark") as page:
        errors = watch_errors(page)
        sign_in(page, base, "/s3-configs")

        page.get_by_role("link", name="Add S3 configuration").click()
        page.get_by_label("Name").fill("ui-moto")
        page.get_by_label("Endpoint URL").fill(endpoint)
        page.get_by_label("Bucket").fill(bucket)
        page.get_by_label("Path prefix").fill("ui")
        page.get_by_label("Addressing style").select_option("path")
        page.get_by_label("Access key ID").fill(ACCESS)
        page.get_by_label("Secret access key").fill(SECRET)
        page.get_by_role("button", name="Save configuration").click()
        page.wait_for_url("**/s3-configs", timeout=TIMEOUT)
        card = page.get_by_test_id("s3-card").filter(has_text="ui-moto")
        card.get_by_role("button", name="Test ui-moto").click()
        result = card.get_by_test_id("s3-test-result")
        expect(result).to_contain_text("All checks passed", timeout=TIMEOUT)
        expect(result.get_by_test_id("s3-check")).to_have_count(3)
        card.get_by_role("button", name="List buckets of ui-moto").click()
        expect(card.get_by_test_id("s3-buckets")).to_contain_text(f"{bucket} (configured)")
        assert SECRET not in page.content()

        # Editing with the key fields left blank keeps the stored keys.
        card.get_by_role("link", name="Edit ui-moto").click()
        expect(page.get_by_label("Secret access key")).to_have_value("")
        page.get_by_label("Region").fill("eu-west-1")
        page.get_by_role("button", name="Save configuration").click()
        page.wait_for_url("**/s3-configs", timeout=TIMEOUT)
        card.get_by_role("button", name="Test ui-moto").click()
        expect(card.get_by_test_id("s3-test-result")).to_contain_text(
            "All checks passed", timeout=TIMEOUT
        )
        page.screenshot(path=str(tmp_path / "s3.png"), full_page=True)

        # The restore wizard, opened from a backup; it restores only after the typed name.
        page.goto(f"{base}/backups")
        page.get_by_role("link", name=f"Restore backup of {XSS_NAME}").click()
        page.wait_for_url(f"**/restore/new?backupId={world['backup']['id']}", timeout=TIMEOUT)
        expect(page.get_by_test_id("chosen-backup")).to_contain_text(XSS_NAME, timeout=TIMEOUT)
        target = page.get_by_label(re.compile("^Restore into"))
        expect(target).to_have_value(world["database"]["id"])  # its own database by default
        page.get_by_label("Clean before restoring").check()
        start = page.get_by_role("button", name="Start restore")
        expect(start).to_be_disabled()
        page.get_by_label(re.compile("to confirm")).fill("not the name")
        expect(start).to_be_disabled()
        page.get_by_label(re.compile("to confirm")).fill(world["db"].name)
        start.click()
        page.wait_for_url("**/restores/*", timeout=TIMEOUT)
        expect(page.get_by_role("heading", name=f"Restore into {XSS_NAME}")).to_be_visible()
        expect(page.get_by_text("completed", exact=True).first).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("execution-log")).to_contain_text("Restore completed")
        page.screenshot(path=str(tmp_path / "restore.png"), full_page=True)
        page.get_by_role("link", name="← Restores").click()
        expect(page.get_by_test_id("restore-row").first).to_contain_text(XSS_NAME)
        assert page.locator("img[src='x']").count() == 0
    assert errors == [], errors


def test_restore_wizard_from_an_object_and_an_upload(
    stack: Stack, api: httpx.Client, world: Any, endpoint: str, tmp_path: Path
) -> None:
    base = stack.api_url
    config = add_s3_config(api, endpoint, make_bucket(endpoint), name="wizard-objects")
    copy = ok(
        api.post(
            "/api/backups",
            json={
                "databaseId": world["database"]["id"],
                "uploadToS3": True,
                "s3ConfigId": config["id"],
            },
        ),
        202,
    )
    copy = wait_done(api, f"/api/backups/{copy['id']}")
    assert copy["status"] == "completed", copy.get("errorMessage")
    artifact = tmp_path / copy["fileName"]
    artifact.write_bytes(api.get(f"/api/backups/{copy['id']}/download").content)
    local = stack.data_dir / "backups" / copy["localPath"]
    manifest = tmp_path / f"{copy['fileName']}.manifest.json"
    manifest.write_bytes(local.with_name(manifest.name).read_bytes())
    with open_page() as page:
        errors = watch_errors(page)
        sign_in(page, base, "/restore/new")

        # An object of a bucket: listed with its manifest flag.
        page.get_by_label("An object in an S3 bucket").check()
        page.get_by_label("Bucket", exact=True).select_option(config["id"])
        choice = page.get_by_test_id("object-choice")
        expect(choice).to_have_count(1, timeout=TIMEOUT)
        expect(page.get_by_text("manifest", exact=True)).to_be_visible()
        page.screenshot(path=str(tmp_path / "wizard-object.png"), full_page=True)

        # An upload without its manifest needs the admin's explicit confirmation.
        page.get_by_label("Upload a file").check()
        page.get_by_label("Backup file", exact=True).set_input_files(str(artifact))
        expect(page.get_by_test_id("unverified-warning")).to_be_visible()
        page.get_by_label(re.compile("^Restore into")).select_option(world["database"]["id"])
        page.get_by_label(re.compile("to confirm")).fill(world["db"].name)
        start = page.get_by_role("button", name="Start restore")
        expect(start).to_be_disabled()
        page.get_by_test_id("confirm-unverified").check()
        expect(start).to_be_enabled()
        page.screenshot(path=str(tmp_path / "wizard-unverified.png"), full_page=True)

        # With its manifest it is verified; the safety backup is on by default.
        page.get_by_label("Its manifest (optional)").set_input_files(str(manifest))
        expect(page.get_by_test_id("unverified-warning")).to_have_count(0)
        expect(page.get_by_test_id("safety-backup")).to_be_checked()
        page.get_by_label("Clean before restoring").check()
        page.screenshot(path=str(tmp_path / "wizard-upload.png"), full_page=True)
        start.click()
        page.wait_for_url("**/restores/*", timeout=TIMEOUT)
        expect(page.get_by_text("completed", exact=True).first).to_be_visible(timeout=30_000)
        log = page.get_by_test_id("execution-log")
        expect(log).to_contain_text("Checksum verified")
        expect(log).to_contain_text("Safety backup")
        expect(page.get_by_test_id("safety-backup-id")).to_be_visible()
        expect(page.get_by_text("uploaded file").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "wizard-done.png"), full_page=True)
    assert errors == [], errors
    assert not list((stack.data_dir / "backups" / ".uploads").iterdir())
