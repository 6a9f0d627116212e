"""The sender: a background task of the API working through the delivery outbox.

Each due delivery (``pending``, ``nextAttemptAt`` reached) is sent once; every try is recorded
in ``notification_attempts``. A failed try is retried with exponential backoff
(``NOTIFY_RETRY_SECONDS`` * 2^(n-1), at most an hour) until ``NOTIFY_MAX_ATTEMPTS``, then the
delivery is ``failed``. Rows survive an API restart; a try cut short by a crash is made again
(receivers get at-least-once delivery; a webhook's ``X-Lifeboat-Delivery`` identifies repeats).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import apprise
import httpx
from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.notify_models import (
    NotificationAttempt,
    NotificationChannel,
    NotificationDelivery,
)
from lifeboat.api.domain.notifications.channels import load_apprise, secret_parts, severity
from lifeboat.api.domain.notifications.outbox import wake_event
from lifeboat.api.security import allow_private_endpoints
from lifeboat.core.errors import ValidationError
from lifeboat.core.logs import scrub
from lifeboat.core.netguard import check_outbound_url

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 15.0
MAX_BACKOFF_S = 3600.0
BATCH = 20
_NOTIFY_TYPES = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}


@dataclass(frozen=True)
class Outcome:
    """How one try went (``error`` scrubbed of the channel's secrets)."""

    ok: bool
    error: str | None
    duration_ms: int


def url_context(channel_id: str) -> str:
    """Associated data binding a stored channel URL to its row."""
    return f"notification_channels.url:{channel_id}"


def secret_context(channel_id: str) -> str:
    """Associated data binding a stored webhook secret to its row."""
    return f"notification_channels.secret:{channel_id}"


def credentials(ctx: ApiContext, channel: NotificationChannel) -> tuple[str, str]:
    """The decrypted ``(url, secret)`` of `channel` (secret "" for Apprise channels)."""
    url = ctx.box.decrypt(channel.url_encrypted, context=url_context(channel.id))
    secret = (
        ctx.box.decrypt(channel.secret_encrypted, context=secret_context(channel.id))
        if channel.secret_encrypted
        else ""
    )
    return url, secret


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Lifeboat-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_body(delivery: NotificationDelivery, attempt: int) -> bytes:
    """The JSON a signed webhook receives."""
    payload: dict[str, Any] = {
        "id": delivery.id,
        "event": delivery.event,
        "severity": severity(delivery.event),
        "title": delivery.title,
        "body": delivery.body,
        "databaseId": delivery.database_id,
        "details": json.loads(delivery.details_json or "{}"),
        "createdAt": delivery.created_at.isoformat(),
        "attempt": attempt,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def _post_webhook(
    ctx: ApiContext, url: str, secret: str, delivery: NotificationDelivery, attempt: int
) -> str | None:
    allow_private = await allow_private_endpoints(ctx)
    try:
        await asyncio.to_thread(check_outbound_url, url, allow_private)
    except ValidationError as exc:
        return f"webhook URL refused: {exc.message}"
    body = webhook_body(delivery, attempt)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Lifeboat-Webhook/1",
        "X-Lifeboat-Event": delivery.event,
        "X-Lifeboat-Delivery": delivery.id,
        "X-Lifeboat-Timestamp": timestamp,
        "X-Lifeboat-Signature": sign(secret, timestamp, body),
    }
    async with httpx.AsyncClient(timeout=SEND_TIMEOUT_S, follow_redirects=False) as client:
        response = await client.post(url, content=body, headers=headers)
    if 200 <= response.status_code < 300:
        return None
    return f"the webhook answered HTTP {response.status_code}"


def _notify_apprise(url: str, title: str, body: str, event: str) -> str | None:
    """Send through Apprise (blocking); None on success, else the last error Apprise logged."""
    load_apprise()
    sender = apprise.Apprise()
    if not sender.add(url):
        return "Apprise cannot use this URL"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = bool(sender.notify(body=body, title=title, notify_type=_NOTIFY_TYPES[severity(event)]))
        text = captured.getvalue() if isinstance(captured, io.StringIO) else ""
    if ok:
        return None
    lines = [line.split(" - ", 2)[-1] for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "Apprise reported a failure"


def _scrubbed(text: str, url: str, secret: str) -> str:
    for part in sorted({*secret_parts(url), secret} - {""}, key=len, reverse=True):
        text = text.replace(part, "***")
    return scrub(text)[:1000]


async def try_send(
    ctx: ApiContext, channel: NotificationChannel, delivery: NotificationDelivery, attempt: int
) -> Outcome:
    """Send `delivery` to `channel` once; never raises (a failure is an Outcome)."""
    started = time.monotonic()
    url, secret = "", ""
    try:
        url, secret = credentials(ctx, channel)
        if channel.kind == "webhook":
            error = await _post_webhook(ctx, url, secret, delivery, attempt)
        else:
            error = await asyncio.wait_for(
                asyncio.to_thread(
                    _notify_apprise, url, delivery.title, delivery.body, delivery.event
                ),
                timeout=SEND_TIMEOUT_S * 4,
            )
    except Exception as exc:  # the receiver's problem, or ours: recorded, retried
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    elapsed = round((time.monotonic() - started) * 1000)
    if error is not None:
        error = _scrubbed(error, url, secret)
    return Outcome(ok=error is None, error=error, duration_ms=elapsed)


def backoff(ctx: ApiContext, attempts: int) -> timedelta:
    """Delay before try ``attempts + 1``."""
    base = float(ctx.settings.notify_retry_seconds)
    return timedelta(seconds=min(MAX_BACKOFF_S, base * 2 ** max(0, attempts - 1)))


async def record(
    ctx: ApiContext, delivery_id: str, outcome: Outcome, *, retry: bool = True
) -> None:
    """Store a try's outcome: the attempt row, and the delivery's status and next try."""
    async with ctx.db.write() as session:
        row = await session.get(NotificationDelivery, delivery_id)
        if row is None:  # its channel was deleted meanwhile
            return
        now = ctx.clock()
        row.attempts += 1
        session.add(
            NotificationAttempt(
                delivery_id=row.id,
                attempt=row.attempts,
                ok=outcome.ok,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                at=now,
            )
        )
        row.last_error = outcome.error
        if outcome.ok:
            row.status, row.delivered_at = "delivered", now
        elif not retry or row.attempts >= ctx.settings.notify_max_attempts:
            row.status = "failed"
        else:
            row.next_attempt_at = now + backoff(ctx, row.attempts)
    if not outcome.ok:
        log.warning("notification %s: try failed: %s", delivery_id, outcome.error)


async def send_due(ctx: ApiContext) -> int:
    """Try every due delivery once; returns how many were tried."""
    async with ctx.db.read() as session:
        due = (
            await session.execute(
                select(NotificationDelivery, NotificationChannel)
                .join(
                    NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id
                )
                .where(
                    NotificationDelivery.status == "pending",
                    NotificationDelivery.next_attempt_at <= ctx.clock(),
                )
                .order_by(NotificationDelivery.next_attempt_at)
                .limit(BATCH)
            )
        ).all()
    for delivery, channel in due:
        outcome = await try_send(ctx, channel, delivery, delivery.attempts + 1)
        await record(ctx, delivery.id, outcome)
    return len(due)


async def run_sender(ctx: ApiContext) -> None:
    """Run forever: send what is due, then sleep until woken or ``NOTIFY_POLL_SECONDS``."""
    wake = wake_event(ctx)
    while True:
        wake.clear()
        try:
            tried = await send_due(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database hiccupped: try again later
            log.exception("notification sender pass failed")
            tried = 0
        if tried:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=ctx.settings.notify_poll_seconds)
