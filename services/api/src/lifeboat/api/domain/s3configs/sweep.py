"""Sweeping unfinished multipart uploads that dead attempts left in the configured buckets.

An upload whose executor died (or whose abort could not reach S3) keeps its parts, billed,
until someone aborts it; S3 never finishes or forgets it by itself unless the bucket has a
lifecycle rule. Every ``SWEEP_INTERVAL_SECONDS`` the API lists the unfinished uploads under
each enabled configuration's path prefix and aborts those initiated more than
``PARTIAL_UPLOAD_MAX_AGE_SECONDS`` ago, except the uploads of a backup still in flight (its
``s3_key``, or a key derived from it, while the backup is pending/running or its S3 copy is
pending): a slow live upload must not be cut because the threshold was set low. Each abort is
logged and audited (``s3.upload_abort``, actor ``system:sweep``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from lifeboat.api.auth.audit import record_audit
from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import ACTIVE_STATUSES, BackupExecution, S3Config
from lifeboat.api.domain.s3configs.service import store_for
from lifeboat.core.errors import LifeboatError
from lifeboat.core.naming import attempt_s3_key
from lifeboat.storage.s3.results import S3Upload
from lifeboat.wire.bus import JOB_MAX_DELIVER

log = logging.getLogger(__name__)

ACTOR = "system:sweep"


@dataclass
class SweepReport:
    """What one sweep aborted and what went wrong, per configuration id."""

    aborted: dict[str, list[S3Upload]] = field(default_factory=dict[str, list[S3Upload]])
    errors: dict[str, str] = field(default_factory=dict[str, str])


def is_stale(upload: S3Upload, *, older_than: timedelta, now: datetime) -> bool:
    """Whether `upload` was initiated more than `older_than` before `now`.

    An upload whose initiation time S3 did not say is left alone: nothing proves it is old.
    """
    if upload.initiated is None:
        return False
    return now - upload.initiated >= older_than


def belongs_to_live_backup(key: str, live_keys: set[str]) -> bool:
    """Whether `key` is a live backup's key or the key one of its delivery attempts writes
    (``…-a<n>.dump.zst``, see ``lifeboat.core.naming.attempt_s3_key``)."""
    attempts = range(1, JOB_MAX_DELIVER + 1)
    return any(key in {attempt_s3_key(live, n) for n in attempts} for live in live_keys)


async def _live_keys(ctx: ApiContext, bucket: str) -> set[str]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(BackupExecution.s3_key).where(
                BackupExecution.s3_bucket == bucket,
                BackupExecution.s3_key.is_not(None),
                or_(
                    BackupExecution.status.in_(ACTIVE_STATUSES),
                    BackupExecution.s3_status == "pending",
                ),
            )
        )
        return {key for key in rows if key}


async def sweep_config(
    ctx: ApiContext, row: S3Config, *, older_than: timedelta, now: datetime
) -> list[S3Upload]:
    """Abort the stale unfinished uploads under `row`'s path prefix; returns those aborted.

    Raises:
        LifeboatError: the bucket could not be listed (S3Error) or its endpoint is refused.
    """
    aborted: list[S3Upload] = []
    async with await store_for(ctx, row) as store:
        uploads = await store.list_incomplete_uploads()
        stale = [u for u in uploads if is_stale(u, older_than=older_than, now=now)]
        if not stale:
            return aborted
        # Read after listing: a backup that started meanwhile has an upload too young to be
        # stale, unless the threshold is tiny; checking afterwards covers both cases.
        live = await _live_keys(ctx, row.bucket)
        for upload in stale:
            if belongs_to_live_backup(upload.key, live):
                log.info(
                    "sweep: keeping s3://%s/%s (upload %s): its backup is still running",
                    row.bucket,
                    upload.key,
                    upload.upload_id,
                )
                continue
            try:
                existed = await store.abort_multipart(upload.key, upload.upload_id)
            except LifeboatError as exc:
                log.warning("sweep: %s", exc.message)
                continue
            if existed:
                aborted.append(upload)
    for upload in aborted:
        log.warning(
            "sweep: aborted the unfinished multipart upload %s of s3://%s/%s (initiated %s)",
            upload.upload_id,
            row.bucket,
            upload.key,
            upload.initiated.isoformat() if upload.initiated else "?",
        )
    if aborted:
        async with ctx.db.write() as session:
            for upload in aborted:
                await record_audit(
                    session,
                    ACTOR,
                    "s3.upload_abort",
                    f"s3://{row.bucket}/{upload.key}",
                    {
                        "s3ConfigId": row.id,
                        "s3ConfigName": row.name,
                        "uploadId": upload.upload_id,
                        "initiated": upload.initiated.isoformat() if upload.initiated else None,
                        "olderThanSeconds": int(older_than.total_seconds()),
                    },
                )
    return aborted


async def sweep_all(ctx: ApiContext, *, older_than: timedelta) -> SweepReport:
    """Sweep every enabled S3 configuration (a failing one does not stop the others)."""
    report = SweepReport()
    async with ctx.db.read() as session:
        rows = list(await session.scalars(select(S3Config).where(S3Config.enabled.is_(True))))
    # One bucket + prefix may appear in several configurations: sweep it once.
    seen: set[tuple[str | None, str, str]] = set()
    for row in rows:
        where = (row.endpoint, row.bucket, row.path_prefix.strip("/"))
        if where in seen:
            continue
        seen.add(where)
        try:
            aborted = await sweep_config(ctx, row, older_than=older_than, now=ctx.clock())
        except asyncio.CancelledError:
            raise
        except LifeboatError as exc:
            report.errors[row.id] = exc.message
            log.warning("sweep of S3 configuration %s failed: %s", row.name, exc.message)
            continue
        if aborted:
            report.aborted[row.id] = aborted
    return report


async def run_periodic_upload_sweep(ctx: ApiContext) -> None:
    """Run :func:`sweep_all` every ``SWEEP_INTERVAL_SECONDS`` (forever; first run after one
    interval, so start-up stays quick)."""
    settings = ctx.settings
    older_than = timedelta(seconds=settings.partial_upload_max_age_seconds)
    while True:
        await asyncio.sleep(settings.sweep_interval_seconds)
        try:
            report = await sweep_all(ctx, older_than=older_than)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the next interval tries again
            log.exception("periodic sweep of unfinished S3 uploads failed")
            continue
        total = sum(len(v) for v in report.aborted.values())
        if total:
            log.info("periodic S3 sweep aborted %d unfinished upload(s)", total)
