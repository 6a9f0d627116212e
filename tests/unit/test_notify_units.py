"""Notification building blocks without I/O: URL checks and masking, event names, signatures,
the dead man's switch's arithmetic."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from lifeboat.api.db.models import BackupSchedule
from lifeboat.api.domain.notifications.channels import (
    check_events,
    check_url,
    masked,
    secret_parts,
    severity,
)
from lifeboat.api.domain.notifications.overdue import Watch, schedule_gap
from lifeboat.api.domain.notifications.sender import sign
from lifeboat.core.errors import ValidationError

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_masking_shows_no_secret() -> None:
    assert masked("apprise", "slack://TOKENA/TOKENB/TOKENC") == "slack://****"
    assert masked("apprise", "mailto://u:p@smtp.example.com") == "mailto://****"
    assert (
        masked("webhook", "https://hooks.example.com/s3cr3t?k=v")
        == "https://hooks.example.com/****"
    )
    assert masked("webhook", "http://10.0.0.1:8080/x") == "http://10.0.0.1:8080/****"
    parts = secret_parts("json://user:hunter22@h.example.com/abcdefghijkl?token=0123456789")
    assert {"hunter22", "abcdefghijkl", "0123456789"} <= set(parts)


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("apprise", "nope://x"),
        ("apprise", "no scheme"),
        ("webhook", "ftp://h.example.com/x"),
        ("webhook", "https:///nohost"),
        ("webhook", "http://h.example.com:99999/"),
    ],
)
def test_bad_urls_are_refused(kind: str, url: str) -> None:
    with pytest.raises(ValidationError):
        check_url(kind, url)  # type: ignore[arg-type]


def test_good_urls_pass() -> None:
    check_url("apprise", "json://127.0.0.1:8080/hook")
    check_url(
        "apprise", "mailto://u:p@127.0.0.1:2525?mode=insecure&from=lb@example.com&to=a@example.com"
    )
    check_url("webhook", "https://hooks.example.com/lifeboat")


def test_events_are_checked_and_deduplicated() -> None:
    assert check_events(["backup.failed", "disk.low", "backup.failed"]) == [
        "backup.failed",
        "disk.low",
    ]
    with pytest.raises(ValidationError, match=r"backup\.exploded"):
        check_events(["backup.exploded"])
    assert severity("backup.failed") == "failure" and severity("backup.overdue") == "failure"
    assert severity("backup.overdue.cleared") == "success" and severity("disk.low") == "warning"


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    body = b'{"event":"test"}'
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k" * 16, "1700000000", body) == "sha256=" + expected


def test_expected_age_and_overdue() -> None:
    daily = BackupSchedule(cron_expression="0 2 * * *", timezone="UTC")
    weekdays = BackupSchedule(cron_expression="0 2 * * 1-5", timezone="UTC")
    assert schedule_gap(daily, NOW) == timedelta(days=1)
    assert schedule_gap(weekdays, NOW) == timedelta(days=3)  # Friday to Monday
    watch = Watch(
        database_id="d",
        name="d",
        expected=timedelta(hours=36),
        last_good=NOW - timedelta(hours=30),
        since=NOW - timedelta(days=10),
        override_seconds=None,
    )
    assert not watch.overdue(NOW) and watch.overdue(NOW + timedelta(hours=7))
    fresh = Watch("d", "d", timedelta(hours=36), None, NOW - timedelta(hours=1), None)
    assert not fresh.overdue(NOW) and fresh.overdue(NOW + timedelta(hours=36))
    unwatched = Watch("d", "d", None, None, NOW - timedelta(days=100), None)
    assert not unwatched.overdue(NOW)
