"""Notifications end to end with real receivers this module runs: a signed webhook (signature
and replay window checked), an SMTP server reached through Apprise ``mailto://``, an Apprise
``json://`` endpoint. Executor results are simulated on a real nats-server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lifeboat.api.db.models import BackupExecution
from lifeboat.api.db.notify_models import NotificationAttempt, NotificationDelivery
from lifeboat.api.domain.notifications.monitor import (
    prune_deliveries,
)
from lifeboat.api.domain.notifications.outbox import emit
from lifeboat.api.domain.notifications.overdue import check_overdue
from lifeboat.api.domain.notifications.sender import sign
from lifeboat.api.domain.schedules.firing import apply_fire
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupJob,
    ScheduleFired,
    VerifyFinished,
    VerifyJob,
)
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    error_of,
    eventually,
    serve_api,
)
from tests.support.executor_sim import finish_backup, next_job
from tests.support.natsd import free_port
from tests.support.notify_api import (
    SECRET,
    deliveries,
    new_channel,
    new_database,
    run_backup,
    serve_notify_api,
    settled,
    unique,
)
from tests.support.receivers import (
    HttpReceiver,
    SmtpReceiver,
    http_receiver,
    smtp_receiver,
    verify_signature,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_notify_api(tmp_path_factory.mktemp("api-notify"), nats_url) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-notify")
    await connected.ensure_streams()
    yield connected
    await connected.close()


@pytest.fixture
def webhook() -> Iterator[HttpReceiver]:
    with http_receiver(secret=SECRET) as receiver:
        yield receiver


@pytest.fixture
def json_endpoint() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver() as receiver:
        yield receiver


async def test_crud_masks_and_validates(api: RunningApi) -> None:
    created = await new_channel(api, "json://127.0.0.1:9/hook-path-token-123", enabled=False)
    assert created["urlMasked"] == "json://****" and created["kind"] == "apprise"
    assert "url" not in created and created["generatedSecret"] is None
    assert created["databaseIds"] is None and created["events"] == ["backup.failed"]
    hook = await new_channel(api, "https://hooks.example.com/x/y", kind="webhook")
    assert hook["urlMasked"] == "https://hooks.example.com/****" and hook["hasSecret"]
    assert len(hook["generatedSecret"]) >= 32
    fetched = data_of(await api.client.get(f"/api/notification-channels/{hook['id']}"))
    assert "generatedSecret" not in fetched and hook["generatedSecret"] not in str(fetched)

    updated = data_of(
        await api.client.put(
            f"/api/notification-channels/{created['id']}",
            json={"events": ["backup.failed", "disk.low"], "enabled": True},
        )
    )
    assert updated["events"] == ["backup.failed", "disk.low"] and updated["enabled"]
    assert updated["urlMasked"] == "json://****"

    bad = [
        ({"events": ["backup.exploded"]}, "unknown event"),
        ({"url": "nope://whatever"}, "Apprise cannot use this URL"),
        ({"url": "ftp://x.example.com", "kind": "webhook"}, "http:// or https://"),
        ({"databaseIds": ["no-such-db"]}, "unknown database"),
    ]
    for fields, needle in bad:
        body = {"name": unique("bad-"), "url": "json://127.0.0.1:9/x", "events": ["test"]}
        body["events"] = ["backup.failed"]
        body.update(fields)
        error = error_of(
            await api.client.post("/api/notification-channels", json=body), 400, "VALIDATION_ERROR"
        )
        assert needle in error["message"], (fields, error)
    listed = data_of(await api.client.get("/api/notification-channels"))
    assert {c["id"] for c in listed} >= {created["id"], hook["id"]}
    data_of(await api.client.delete(f"/api/notification-channels/{created['id']}"))
    error_of(await api.client.get(f"/api/notification-channels/{created['id']}"), 404, "NOT_FOUND")
    data_of(await api.client.delete(f"/api/notification-channels/{hook['id']}"))


async def test_failing_backup_notifies_each_routed_channel_once(
    api: RunningApi,
    bus: Bus,
    webhook: HttpReceiver,
    json_endpoint: HttpReceiver,
    smtp: SmtpReceiver,
) -> None:
    db, other = await new_database(api), await new_database(api)
    routed = {"databaseIds": [db["id"]]}
    hook = await new_channel(
        api, webhook.url + "/lifeboat", kind="webhook", secret=SECRET, **routed
    )
    mail = await new_channel(api, smtp.url(), **routed)
    jsonc = await new_channel(
        api, f"json://127.0.0.1:{json_endpoint.url.rsplit(':', 1)[1]}/in", **routed
    )
    elsewhere = await new_channel(
        api, json_endpoint.url.replace("http", "json") + "/other", databaseIds=[other["id"]]
    )

    execution_id = await run_backup(api, bus, db, ok=False)
    for channel in (hook, mail, jsonc):
        rows = await settled(api, channel, 1)
        assert len(rows) == 1 and rows[0]["status"] == "delivered", rows
        assert rows[0]["event"] == "backup.failed" and rows[0]["attempts"] == 1
    assert await deliveries(api, elsewhere) == []

    [sent] = webhook.bodies()
    assert sent["event"] == "backup.failed" and sent["databaseId"] == db["id"]
    assert sent["details"]["executionId"] == execution_id and sent["severity"] == "failure"
    assert webhook.rejected == []
    [request] = webhook.received
    headers = request["headers"]
    assert headers["X-Lifeboat-Event"] == "backup.failed"
    assert headers["X-Lifeboat-Signature"].startswith("sha256=")
    assert [b for b in json_endpoint.bodies()] and len(json_endpoint.received) == 1
    assert json_endpoint.received[0]["path"] == "/in"
    assert "Backup failed" in json_endpoint.bodies()[0]["title"]
    assert len(smtp.mails) == 1 and "Backup failed" in smtp.mails[0]["subject"]

    # A backup of a database no channel is routed to, and a completed one: nothing more.
    await run_backup(api, bus, await new_database(api), ok=False)
    await run_backup(api, bus, db, ok=True)
    await settled(api, hook, 1)
    assert len(webhook.received) == 1 and len(smtp.mails) == 1
    assert len(json_endpoint.received) == 1


async def test_failed_verification_notifies_a_routed_channel_once(
    api: RunningApi, bus: Bus, json_endpoint: HttpReceiver
) -> None:
    """A verification that finds a difference queues exactly one ``verification.failed``
    delivery per routed channel (in the transaction that records the failure)."""
    db, other = await new_database(api), await new_database(api)
    events = {"events": ["verification.failed"]}
    channel = await new_channel(
        api, json_endpoint.url.replace("http", "json") + "/verify", databaseIds=[db["id"]], **events
    )
    elsewhere = await new_channel(
        api, json_endpoint.url.replace("http", "json") + "/x", databaseIds=[other["id"]], **events
    )
    backup_id = await run_backup(api, bus, db, ok=True)
    async with api.ctx.db.write() as session:  # the simulated executor counted nothing
        row = await session.get(BackupExecution, backup_id)
        assert row is not None
        row.row_counts = json.dumps({"public.t": 2})
        row.object_counts = json.dumps({"tables": 1})
    created = data_of(await api.client.post(f"/api/backups/{backup_id}/verify"), 202)
    job = await next_job(bus, db["queue"])
    assert isinstance(job, VerifyJob) and job.execution_id == created["id"]
    started = datetime.now(UTC)
    mismatch = "table public.t: 1 rows restored, 2 recorded"
    await bus.publish_event(
        "verify",
        VerifyFinished(
            execution_id=job.execution_id,
            backup_id=backup_id,
            attempt=1,
            ok=False,
            started_at=started,
            finished_at=started + timedelta(seconds=1),
            tables=1,
            rows=1,
            mismatches=[mismatch],
            error_message=mismatch,
        ),
    )
    rows = await settled(api, channel, 1)
    assert [(r["event"], r["status"]) for r in rows] == [("verification.failed", "delivered")]
    [sent] = json_endpoint.bodies()
    assert "Verification failed" in sent["title"], sent
    assert backup_id in str(sent) and mismatch in str(sent), sent
    assert await deliveries(api, elsewhere) == []
    record = data_of(await api.client.get(f"/api/backups/{backup_id}"))
    assert record["verificationStatus"] == "failed"

    # The same result delivered again changes nothing: still one delivery.
    await bus.publish_event(
        "verify",
        VerifyFinished(
            execution_id=job.execution_id,
            backup_id=backup_id,
            attempt=1,
            ok=False,
            started_at=started,
            finished_at=started + timedelta(seconds=1),
            mismatches=[mismatch],
            error_message=mismatch,
        ),
    )
    await asyncio.sleep(1.5)
    assert len(await deliveries(api, channel)) == 1 and len(json_endpoint.received) == 1


async def test_webhook_signature_and_replay_window() -> None:
    body = b'{"event":"test"}'
    now = int(datetime.now(UTC).timestamp())
    signature = sign(SECRET, str(now), body)
    assert verify_signature(SECRET, str(now), body, signature) is None
    assert verify_signature(SECRET, str(now), body + b" ", signature) == "bad signature"
    assert verify_signature("other-secret-0123456789", str(now), body, signature) == "bad signature"
    # The same request replayed ten minutes later is refused, even with a valid signature.
    replay = verify_signature(SECRET, str(now), body, signature, now=now + 600)
    assert replay == "timestamp outside the replay window"
    # A moved timestamp breaks the signature.
    assert verify_signature(SECRET, str(now + 1), body, signature) == "bad signature"


async def test_retries_then_delivers_and_test_action(api: RunningApi) -> None:
    with http_receiver(secret=SECRET, fail_first=2) as flaky:
        channel = await new_channel(
            api, flaky.url, kind="webhook", secret=SECRET, events=["disk.low"]
        )
        tested = data_of(await api.client.post(f"/api/notification-channels/{channel['id']}/test"))
        assert tested["ok"] is False and "HTTP 500" in tested["error"]
        assert await emit(api.ctx, "disk.low", title="Disk low", body="1 GiB left") == 1
        rows = await settled(api, channel, 2)
        retried = next(r for r in rows if r["event"] == "disk.low")
        assert retried["status"] == "delivered" and retried["attempts"] == 2
        assert [t["ok"] for t in retried["tries"]] == [False, True]
        assert "HTTP 500" in retried["tries"][0]["error"]
        test_row = next(r for r in rows if r["event"] == "test")
        assert test_row["status"] == "failed" and test_row["attempts"] == 1
        tested = data_of(await api.client.post(f"/api/notification-channels/{channel['id']}/test"))
        assert tested["ok"] is True and tested["error"] is None
        assert [b["event"] for b in flaky.bodies()] == ["disk.low", "test"]


async def test_overdue_alerts_once_then_all_clear(
    api: RunningApi, bus: Bus, json_endpoint: HttpReceiver
) -> None:
    db = await new_database(api)
    data_of(
        await api.client.post(
            "/api/schedules",
            json={"databaseConfigId": db["id"], "scheduleType": "hourly"},
        ),
        201,
    )
    channel = await new_channel(
        api,
        json_endpoint.url.replace("http", "json") + "/overdue",
        events=["backup.overdue", "backup.overdue.cleared"],
        databaseIds=[db["id"]],
    )
    ctx = api.ctx
    real = ctx.clock
    try:
        ctx.clock = lambda: real() + timedelta(hours=2)  # hourly: overdue after 1.5 h
        assert await check_overdue(ctx) == [("backup.overdue", db["id"])]
        assert await check_overdue(ctx) == []  # one alert, not one per check
        view = data_of(await api.client.get(f"/api/databases/{db['id']}"))
        assert view["overdue"] is True and view["lastGoodBackupAt"] is None
        assert view["expectedBackupAgeHours"] == 1.5
        ctx.clock = lambda: real() + timedelta(hours=2, minutes=30)
        assert await check_overdue(ctx) == []  # no reminder before OVERDUE_REMINDER_HOURS
        ctx.clock = lambda: real() + timedelta(hours=26, minutes=30)
        assert await check_overdue(ctx) == [("backup.overdue", db["id"])]  # the reminder
        assert await check_overdue(ctx) == []
    finally:
        ctx.clock = real
    await run_backup(api, bus, db, ok=True)  # the all-clear comes with the backup
    assert await check_overdue(ctx) == []
    rows = await settled(api, channel, 3)
    assert sorted(r["event"] for r in rows) == [
        "backup.overdue",
        "backup.overdue",
        "backup.overdue.cleared",
    ]
    assert all(r["status"] == "delivered" for r in rows)
    titles = [b["title"] for b in json_endpoint.bodies()]
    assert [t.split(":")[0] for t in titles] == [
        "Backup overdue",
        "Backup overdue",
        "Backups back on track",
    ]
    assert titles[1].endswith("(reminder)") and not titles[0].endswith("(reminder)")
    view = data_of(await api.client.get(f"/api/databases/{db['id']}"))
    assert view["overdue"] is False and view["lastGoodBackupAt"] is not None


async def test_override_and_secrets_never_leak(
    api: RunningApi, caplog: pytest.LogCaptureFixture
) -> None:
    db = await new_database(api)
    updated = data_of(
        await api.client.put(f"/api/databases/{db['id']}", json={"maxBackupAgeHours": 30})
    )
    assert updated["maxBackupAgeHours"] == 30 and updated["expectedBackupAgeHours"] == 30
    marker = f"Canary{uuid.uuid4().hex}"
    url = f"json://user:{marker}@127.0.0.1:9/{marker}"
    channel = await new_channel(api, url)
    hook = await new_channel(api, "http://127.0.0.1:9/x", kind="webhook", secret=marker + "-hook")
    tested = data_of(await api.client.post(f"/api/notification-channels/{channel['id']}/test"))
    assert tested["ok"] is False
    data_of(await api.client.post(f"/api/notification-channels/{hook['id']}/test"))
    for path in (
        "/api/notification-channels",
        f"/api/notification-channels/{channel['id']}/deliveries",
        f"/api/notification-channels/{hook['id']}/deliveries",
        "/api/audit",
    ):
        response = await api.client.get(path)
        assert marker not in response.text, path
    assert marker not in caplog.text


async def test_outbox_survives_an_api_restart(
    tmp_path_factory: pytest.TempPathFactory, nats_url: str
) -> None:
    """A delivery whose receiver is down when the API stops is sent by the next API."""
    settings = api_settings(
        tmp_path_factory.mktemp("api-notify-restart"),
        nats_url,
        NOTIFY_POLL_SECONDS="1",
        NOTIFY_RETRY_SECONDS="1",
        NOTIFY_MAX_ATTEMPTS="10",
    )
    port = free_port()
    async with serve_api(settings) as first:
        channel = await new_channel(first, f"json://127.0.0.1:{port}/late", events=["disk.low"])
        assert await emit(first.ctx, "disk.low", title="Disk low", body="1 GiB left") == 1

        async def tried() -> bool | None:
            rows = await deliveries(first, channel)
            return True if rows and rows[0]["attempts"] >= 1 else None

        await eventually(tried, timeout=20)
    with http_receiver(port=port) as receiver:
        async with serve_api(settings) as second:
            [row] = await settled(second, channel, 1)
            assert row["status"] == "delivered" and row["attempts"] >= 2
            assert row["tries"][0]["ok"] is False and row["tries"][-1]["ok"] is True
        assert len(receiver.received) == 1 and receiver.received[0]["path"] == "/late"


async def test_skipped_slot_and_retention_notify(
    api: RunningApi, bus: Bus, json_endpoint: HttpReceiver
) -> None:
    """``schedule.missed`` when a slot produces no backup (here: the database is disabled), and
    ``retention.deleted`` once per cleanup that deleted something."""
    db = await new_database(api)
    policy = data_of(
        await api.client.post(
            "/api/retention-policies",
            json={"name": unique("keep-1-"), "mode": "age", "maxAgeDays": 1},
        ),
        201,
    )
    schedule = data_of(
        await api.client.post(
            "/api/schedules",
            json={
                "databaseConfigId": db["id"],
                "scheduleType": "daily",
                "retentionPolicyId": policy["id"],
            },
        ),
        201,
    )
    channel = await new_channel(
        api,
        json_endpoint.url.replace("http", "json") + "/ops",
        events=["schedule.missed", "retention.deleted"],
        databaseIds=[db["id"]],
    )
    data_of(await api.client.put(f"/api/databases/{db['id']}", json={"enabled": False}))
    slot = datetime.now(UTC).replace(microsecond=0)
    assert await apply_fire(api.ctx, ScheduleFired(schedule_id=schedule["id"], slot=slot)) == (
        "skipped"
    )
    data_of(await api.client.put(f"/api/databases/{db['id']}", json={"enabled": True}))
    # Two manual backups under the policy, the first "three days old": the second's cleanup
    # deletes the first.
    for days_ago in (3.0, 0.0):
        created = data_of(
            await api.client.post(
                "/api/backups",
                json={"databaseId": db["id"], "retentionPolicyId": policy["id"]},
            ),
            202,
        )
        job = await next_job(bus, db["queue"])
        assert isinstance(job, BackupJob)
        started = datetime.now(UTC) - timedelta(days=days_ago)
        await finish_backup(api, bus, job, ok=True, started_at=started)

        async def completed(backup_id: str = created["id"]) -> bool | None:
            record = data_of(await api.client.get(f"/api/backups/{backup_id}"))
            return True if record["status"] == "completed" else None

        await eventually(completed)
    rows = await settled(api, channel, 2)
    assert sorted(r["event"] for r in rows) == ["retention.deleted", "schedule.missed"]
    missed = next(b for b in json_endpoint.bodies() if "skipped" in b["title"])
    assert "disabled" in missed["message"], missed
    assert any("Retention deleted 1 backup" in b["title"] for b in json_endpoint.bodies())


async def test_old_deliveries_are_pruned(api: RunningApi, json_endpoint: HttpReceiver) -> None:
    channel = await new_channel(api, json_endpoint.url.replace("http", "json") + "/prune")
    assert data_of(await api.client.post(f"/api/notification-channels/{channel['id']}/test"))["ok"]
    assert len(await deliveries(api, channel)) == 1
    ctx, real = api.ctx, api.ctx.clock
    try:
        ctx.clock = lambda: real() + timedelta(days=89)
        assert await prune_deliveries(ctx) == 0
        ctx.clock = lambda: real() + timedelta(days=91)
        assert await prune_deliveries(ctx) >= 1
    finally:
        ctx.clock = real
    assert await deliveries(api, channel) == []
    async with ctx.db.read() as session:
        orphans = await session.scalar(
            select(func.count())
            .select_from(NotificationAttempt)
            .where(~NotificationAttempt.delivery_id.in_(select(NotificationDelivery.id)))
        )
    assert orphans == 0  # the tries went with their deliveries (foreign key cascade)
