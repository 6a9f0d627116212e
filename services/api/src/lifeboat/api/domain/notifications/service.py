"""Notification channels: CRUD with URL and secret encrypted at rest, deliveries, the test.

The URL and the webhook secret are written once and never returned (``urlMasked`` and
``hasSecret`` only; a generated secret is shown in the create response, once). Both are
registered with the log redaction filter when saved and at start-up (:func:`protect_all`).
"""

from __future__ import annotations

import json
import logging
import secrets as pysecrets

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import DatabaseConfig, new_id
from lifeboat.api.db.notify_models import (
    NotificationAttempt,
    NotificationChannel,
    NotificationDelivery,
)
from lifeboat.api.domain.notifications.channels import (
    ChannelKind,
    check_events,
    check_url,
    masked,
    protect,
)
from lifeboat.api.domain.notifications.outbox import enqueue
from lifeboat.api.domain.notifications.schemas import (
    AttemptOut,
    ChannelCreate,
    ChannelCreated,
    ChannelOut,
    ChannelUpdate,
    DeliveryOut,
    TestOut,
)
from lifeboat.api.domain.notifications.sender import (
    credentials,
    record,
    secret_context,
    try_send,
    url_context,
)
from lifeboat.core.errors import ConflictError, NotFoundError, ValidationError

log = logging.getLogger(__name__)

MAX_DELIVERIES = 200


def _kind(row: NotificationChannel) -> ChannelKind:
    return "webhook" if row.kind == "webhook" else "apprise"


def to_out(ctx: ApiContext, row: NotificationChannel) -> ChannelOut:
    """The REST view of a row: the URL masked, the secret absent."""
    url, _ = credentials(ctx, row)
    ids = json.loads(row.database_ids_json) if row.database_ids_json is not None else None
    return ChannelOut(
        id=row.id,
        name=row.name,
        kind=_kind(row),
        url_masked=masked(_kind(row), url),
        has_secret=bool(row.secret_encrypted),
        events=json.loads(row.events_json),
        database_ids=ids,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def load(session: AsyncSession, channel_id: str) -> NotificationChannel:
    """The channel `channel_id`, or NotFoundError."""
    row = await session.get(NotificationChannel, channel_id)
    if row is None:
        raise NotFoundError(
            f"notification channel {channel_id} not found", details={"id": channel_id}
        )
    return row


async def _check_name_free(session: AsyncSession, name: str, except_id: str | None) -> None:
    query = select(NotificationChannel.id).where(NotificationChannel.name == name)
    if except_id is not None:
        query = query.where(NotificationChannel.id != except_id)
    if await session.scalar(query) is not None:
        raise ConflictError(
            f"a notification channel named {name!r} already exists", details={"name": name}
        )


async def _check_databases(session: AsyncSession, ids: list[str] | None) -> str | None:
    """The JSON of `ids` (None: every database); ValidationError naming unknown ones."""
    if ids is None:
        return None
    unique = list(dict.fromkeys(ids))
    found = set(
        await session.scalars(select(DatabaseConfig.id).where(DatabaseConfig.id.in_(unique)))
    )
    missing = [i for i in unique if i not in found]
    if missing:
        raise ValidationError(
            f"unknown database(s): {', '.join(missing)}",
            details=[{"field": "databaseIds", "message": "unknown database id"}],
        )
    return json.dumps(unique)


async def list_channels(ctx: ApiContext) -> list[ChannelOut]:
    """Every channel by name, with its latest delivery's status."""
    async with ctx.db.read() as session:
        rows = (
            await session.scalars(select(NotificationChannel).order_by(NotificationChannel.name))
        ).all()
        latest = (
            await session.execute(
                select(
                    NotificationDelivery.channel_id,
                    NotificationDelivery.status,
                    func.max(NotificationDelivery.created_at),
                ).group_by(NotificationDelivery.channel_id)
            )
        ).all()
    last = {cid: (status, at) for cid, status, at in latest}
    out: list[ChannelOut] = []
    for row in rows:
        view = to_out(ctx, row)
        if row.id in last:
            view.last_delivery_status, view.last_delivery_at = last[row.id]
        out.append(view)
    return out


async def get_channel(ctx: ApiContext, channel_id: str) -> ChannelOut:
    """One channel."""
    async with ctx.db.read() as session:
        return to_out(ctx, await load(session, channel_id))


async def create_channel(ctx: ApiContext, data: ChannelCreate) -> ChannelCreated:
    """Validate, encrypt and store a channel (a webhook without a secret gets one)."""
    events = check_events(data.events)
    check_url(data.kind, data.url)
    generated = None
    secret = data.secret or ""
    if data.kind == "webhook" and not secret:
        secret = generated = pysecrets.token_urlsafe(32)
    protect(data.url, secret)
    channel_id = new_id()
    row = NotificationChannel(
        id=channel_id,
        name=data.name.strip(),
        kind=data.kind,
        url_encrypted=ctx.box.encrypt(data.url, context=url_context(channel_id)),
        secret_encrypted=(
            ctx.box.encrypt(secret, context=secret_context(channel_id)) if secret else ""
        ),
        events_json=json.dumps(events),
        enabled=data.enabled,
    )
    async with ctx.db.write() as session:
        await _check_name_free(session, row.name, None)
        row.database_ids_json = await _check_databases(session, data.database_ids)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    view = to_out(ctx, row)
    return ChannelCreated(**msgspec.structs.asdict(view), generated_secret=generated)


async def update_channel(ctx: ApiContext, channel_id: str, data: ChannelUpdate) -> ChannelOut:
    """Apply a partial update; the URL and secret stay unless given."""
    async with ctx.db.write() as session:
        row = await load(session, channel_id)
        url, secret = credentials(ctx, row)
        kind: ChannelKind = _kind(row) if isinstance(data.kind, msgspec.UnsetType) else data.kind
        url = url if isinstance(data.url, msgspec.UnsetType) else data.url
        secret = secret if isinstance(data.secret, msgspec.UnsetType) else data.secret
        if kind == "webhook" and not secret:
            raise ValidationError(
                "a webhook needs a secret",
                details=[{"field": "secret", "message": "required for a webhook"}],
            )
        check_url(kind, url)
        protect(url, secret)
        if not isinstance(data.events, msgspec.UnsetType):
            row.events_json = json.dumps(check_events(data.events))
        if not isinstance(data.name, msgspec.UnsetType):
            await _check_name_free(session, data.name.strip(), channel_id)
            row.name = data.name.strip()
        if not isinstance(data.database_ids, msgspec.UnsetType):
            row.database_ids_json = await _check_databases(session, data.database_ids)
        if not isinstance(data.enabled, msgspec.UnsetType):
            row.enabled = data.enabled
        row.kind = kind
        row.url_encrypted = ctx.box.encrypt(url, context=url_context(channel_id))
        row.secret_encrypted = (
            ctx.box.encrypt(secret, context=secret_context(channel_id)) if secret else ""
        )
        await session.flush()
        await session.refresh(row)
    return to_out(ctx, row)


async def delete_channel(ctx: ApiContext, channel_id: str) -> None:
    """Delete a channel and (cascade) its deliveries."""
    async with ctx.db.write() as session:
        await session.delete(await load(session, channel_id))


async def list_deliveries(ctx: ApiContext, channel_id: str, limit: int) -> list[DeliveryOut]:
    """The channel's latest deliveries, newest first, each with its tries."""
    async with ctx.db.read() as session:
        await load(session, channel_id)
        rows = (
            await session.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.channel_id == channel_id)
                .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id)
                .limit(min(limit, MAX_DELIVERIES))
            )
        ).all()
        tries = (
            await session.scalars(
                select(NotificationAttempt)
                .where(NotificationAttempt.delivery_id.in_([r.id for r in rows]))
                .order_by(NotificationAttempt.attempt)
            )
        ).all()
    by_delivery: dict[str, list[AttemptOut]] = {}
    for t in tries:
        by_delivery.setdefault(t.delivery_id, []).append(
            AttemptOut(
                attempt=t.attempt, ok=t.ok, error=t.error, duration_ms=t.duration_ms, at=t.at
            )
        )
    return [_delivery_out(r, by_delivery.get(r.id, [])) for r in rows]


def _delivery_out(row: NotificationDelivery, tries: list[AttemptOut]) -> DeliveryOut:
    status = row.status if row.status in ("delivered", "failed") else "pending"
    return DeliveryOut(
        id=row.id,
        channel_id=row.channel_id,
        event=row.event,
        database_id=row.database_id,
        title=row.title,
        body=row.body,
        status=status,  # type: ignore[arg-type]
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at if status == "pending" else None,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        tries=tries,
    )


async def test_channel(ctx: ApiContext, channel_id: str) -> TestOut:
    """Send a ``test`` notification now, once (recorded as a delivery, never retried)."""
    async with ctx.db.write() as session:
        channel = await load(session, channel_id)
        ids = await enqueue(
            ctx,
            session,
            "test",
            database_id=None,
            title="Lifeboat test notification",
            body=f"This is a test of the channel {channel.name!r}. It works.",
            details={"channelId": channel_id},
            channel_ids=[channel_id],
        )
        delivery = await session.get(NotificationDelivery, ids[0])
        assert delivery is not None
        # Not due for the sender: this request sends it.
        delivery.next_attempt_at = ctx.clock().replace(year=9999)
    outcome = await try_send(ctx, channel, delivery, 1)
    await record(ctx, delivery.id, outcome, retry=False)
    return TestOut(
        ok=outcome.ok, error=outcome.error, duration_ms=outcome.duration_ms, delivery_id=ids[0]
    )


async def protect_all(ctx: ApiContext) -> None:
    """Register every stored channel URL and secret with the log redaction filter."""
    async with ctx.db.read() as session:
        rows = (await session.scalars(select(NotificationChannel))).all()
    for row in rows:
        try:
            url, secret = credentials(ctx, row)
        except Exception:  # unreadable (key trouble): the key check reports it, keep starting
            log.warning("notification channel %s: its URL cannot be decrypted", row.id)
            continue
        protect(url, secret)
