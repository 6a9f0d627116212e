"""Sweeping what dead attempts leave behind in local storage.

A writer that dies between opening its temporary file and renaming it (SIGKILL, power loss, a
frozen executor whose job moved on) leaves a hidden ``.<name>.<token>.part`` file beside where
the artifact would have gone. Nobody else will ever rename it, so after a grace period far
longer than any live write between two flushes it is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
"""Temporary files of :mod:`lifeboat.storage.local` are hidden and end with this."""

SKIPPED_DIRS = frozenset({".uploads"})
"""Top-level directories whose files belong to someone else (the API sweeps its uploads)."""


def is_partial_name(name: str) -> bool:
    """Whether `name` looks like a temporary file of local storage (``.<anything>.part``)."""
    return name.startswith(".") and name.endswith(PART_SUFFIX) and len(name) > len(PART_SUFFIX) + 1


def sweep_partials(root: Path, *, older_than: timedelta, now: datetime) -> list[Path]:
    """Remove the temporary files under `root` last modified more than `older_than` before `now`.

    Only regular files whose name :func:`is_partial_name` accepts are removed. Symbolic links
    are never followed nor removed (a link in storage is not ours and could point anywhere),
    the walk never leaves `root`, and the top-level ``.uploads`` directory is left to the API.
    A file that vanishes or cannot be removed meanwhile is skipped (logged), never an error.

    Args:
        root: The storage root (missing: nothing to do).
        older_than: Age threshold; a file exactly that old is kept.
        now: The current time (timezone-aware); passed in so tests need no clock.

    Returns:
        The paths removed.
    """
    cutoff = (now - older_than).timestamp()
    removed: list[Path] = []
    try:
        root_stat = root.lstat()
    except FileNotFoundError:
        return removed
    if not stat.S_ISDIR(root_stat.st_mode):
        return removed

    def on_error(exc: OSError) -> None:
        # An unreadable directory must not stop the sweep of the others.
        log.warning("sweep: cannot list %s: %s", exc.filename, exc.strerror)

    for directory, dirnames, filenames in os.walk(root, followlinks=False, onerror=on_error):
        here = Path(directory)
        if here == root:
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
        for name in filenames:
            if not is_partial_name(name):
                continue
            path = here / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue  # finished (renamed) or removed meanwhile
            except OSError as exc:
                log.warning("sweep: cannot inspect %s: %s", path, exc.strerror)
                continue
            # lstat: a symbolic link named like a temporary file is reported here, not followed.
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= cutoff:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("sweep: cannot remove %s: %s", path, exc.strerror)
                continue
            removed.append(path)
    if removed:
        # Make the removals durable, like every other change of the storage's directories.
        for parent in {p.parent for p in removed}:
            with contextlib.suppress(OSError):
                fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    return removed
