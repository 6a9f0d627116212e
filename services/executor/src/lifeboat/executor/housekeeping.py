"""Periodic housekeeping of an executor: sweeping temporary files dead attempts left behind.

Every executor sharing a storage root runs the sweep; that is harmless (a file already removed
by another one is skipped) and needs no coordination. The threshold must stay far above the
longest pause of a live write, which keeps touching its file's mtime as it writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lifeboat.storage.sweep import sweep_partials

log = logging.getLogger(__name__)


async def sweep_once(storage_root: Path, *, older_than: timedelta) -> list[Path]:
    """Run one :func:`sweep_partials` in a thread (a big tree is slow to walk); log what went."""
    removed = await asyncio.to_thread(
        sweep_partials, storage_root, older_than=older_than, now=datetime.now(UTC)
    )
    for path in removed:
        log.info("removed the abandoned temporary file %s", path)
    if removed:
        log.warning(
            "swept %d temporary file(s) older than %s left by interrupted backups",
            len(removed),
            older_than,
        )
    return removed


async def sweep_periodically(
    storage_root: Path,
    *,
    older_than: timedelta,
    interval: timedelta | float,
    stop: asyncio.Event,
) -> None:
    """Sweep `storage_root` now and then every `interval` until `stop` is set.

    A failing sweep is logged and retried at the next interval, never raised: housekeeping
    must not take the executor down.

    Args:
        storage_root: ``BACKUP_STORAGE_PATH``.
        older_than: ``PARTIAL_FILE_MAX_AGE_SECONDS``.
        interval: ``SWEEP_INTERVAL_SECONDS`` (a timedelta or seconds).
        stop: Set on shutdown; the loop returns promptly, even mid-wait.
    """
    seconds = interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
    while not stop.is_set():
        try:
            await sweep_once(storage_root, older_than=older_than)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweeping temporary files under %s failed", storage_root)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.01))
