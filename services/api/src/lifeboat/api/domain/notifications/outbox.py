"""The one way to notify: :func:`emit` writes a delivery row per routed channel (the outbox);
the sender (:mod:`lifeboat.api.domain.notifications.sender`) works through them.

Because the rows are written in the caller's transaction when it passes its session, a state
change and its notification commit together: a crash between them loses neither, and a
redelivered executor event that changes nothing emits nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from lifeboat.api.context import ApiContext
from lifeboat.api.db.notify_models import NotificationChannel, NotificationDelivery
from lifeboat.api.domain.notifications.channels import EventName

log = logging.getLogger(__name__)

_WAKE: dict[int, asyncio.Event] = {}
_MAX_TEXT = 4000


def wake_event(ctx: ApiContext) -> asyncio.Event:
    """The event the sender of `ctx` waits on (set when deliveries were committed)."""
    return _WAKE.setdefault(id(ctx), asyncio.Event())


def _wake_after_commit(ctx: ApiContext, session: AsyncSession) -> None:
    wake = wake_event(ctx)

    def on_commit(_session: Session) -> None:
        wake.set()

    sa_event.listen(session.sync_session, "after_commit", on_commit, once=True)


def routes(channel: NotificationChannel, event: str, database_id: str | None) -> bool:
    """Whether `channel` wants `event` of `database_id` (None: an event of no database)."""
    if not channel.enabled or event not in json.loads(channel.events_json):
        return False
    if channel.database_ids_json is None or database_id is None:
        return True
    return database_id in json.loads(channel.database_ids_json)


async def enqueue(
    ctx: ApiContext,
    session: AsyncSession,
    event: str,
    *,
    database_id: str | None,
    title: str,
    body: str,
    details: Mapping[str, Any] | None,
    channel_ids: list[str] | None = None,
) -> list[str]:
    """Add one delivery per routed channel (or per channel of `channel_ids`, unrouted) to
    `session`; returns their ids."""
    query = select(NotificationChannel)
    if channel_ids is not None:
        query = query.where(NotificationChannel.id.in_(channel_ids))
    channels = (await session.scalars(query)).all()
    now = ctx.clock()
    ids: list[str] = []
    for channel in channels:
        if channel_ids is None and not routes(channel, event, database_id):
            continue
        row = NotificationDelivery(
            channel_id=channel.id,
            event=event,
            database_id=database_id,
            title=title[:_MAX_TEXT],
            body=body[:_MAX_TEXT],
            details_json=json.dumps(dict(details or {}), default=str),
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        ids.append(row.id)
    if ids:
        _wake_after_commit(ctx, session)
    return ids


async def emit(
    ctx: ApiContext,
    event: EventName,
    *,
    database_id: str | None = None,
    title: str,
    body: str,
    details: Mapping[str, Any] | None = None,
    session: AsyncSession | None = None,
) -> int:
    """Notify every enabled channel subscribed to `event` (and routed to `database_id`).

    Args:
        ctx: the API context.
        event: the wire name (``backup.failed``, ``verification.failed``...; see
            :data:`lifeboat.api.domain.notifications.channels.EVENTS`).
        database_id: the database concerned (channels limited to other databases skip it);
            None for events of no database (``disk.low``, ``executor.missing``).
        title: one line (a subject, a chat message's title).
        body: the text; secrets must not be in it.
        details: JSON-able facts for webhooks (``executionId``, ``error``...).
        session: the caller's write session to enqueue in its transaction (recommended when
            the event follows a state change); None opens a transaction of its own.

    Returns:
        How many deliveries were queued. Sending happens later, off the request path, with
        retries; with its own transaction, a failure to queue is logged, never raised.
    """
    kwargs: dict[str, Any] = {
        "database_id": database_id,
        "title": title,
        "body": body,
        "details": details,
    }
    if session is not None:
        return len(await enqueue(ctx, session, event, **kwargs))
    try:
        async with ctx.db.write() as own:
            return len(await enqueue(ctx, own, event, **kwargs))
    except Exception:
        log.exception("could not queue the %s notification", event)
        return 0
