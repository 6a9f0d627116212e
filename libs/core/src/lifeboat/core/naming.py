"""Pure naming rules for backup artifacts (SPEC §5.2.3, §5.6.4; DESIGN "Naming")."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

Engine = Literal["postgresql", "mysql"]
Compression = Literal["zstd", "gzip"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

COMPRESSION_SUFFIX: dict[Compression, str] = {"zstd": "zst", "gzip": "gz"}
_COMPRESSION_BY_SUFFIX: dict[str, Compression] = {
    **{suffix: compression for compression, suffix in COMPRESSION_SUFFIX.items()},
    "zstd": "zstd",
    "gzip": "gzip",
}


def split_format(name: str) -> tuple[str | None, Compression | None]:
    """The dump extension and the compression read from the suffixes of an artifact's name or
    key, the inverse of :func:`backup_file_name` (``….dump.zst`` is ``("dump", "zstd")``);
    None for what the name does not say. Which engine writes which extension is the engines'
    business (``lifeboat.engines.registry.format_of``)."""
    parts = name.rpartition("/")[2].lower().split(".")[1:]
    compression = _COMPRESSION_BY_SUFFIX.get(parts[-1]) if parts else None
    if compression is not None:
        parts = parts[:-1]
    return (parts[-1] if parts else None), compression


def safe_component(name: str) -> str:
    """A file-system-safe form of a user-given name: no separators, no dot-dot, never empty."""
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned[:100] or "db"


def backup_file_name(
    *,
    database: str,
    backup_type: str,
    started_at: datetime,
    execution_id: str,
    extension: str,
    compression: Compression,
) -> str:
    """``{database}_{type}_{YYYYmmdd_HHMMSS}_{id8}.{extension}.{zst|gz}``.

    `extension` is the engine's (``lifeboat.engines.base.Engine.file_extension``: ``dump``
    for PostgreSQL, ``sql`` for MySQL).
    """
    stamp = started_at.strftime("%Y%m%d_%H%M%S")
    return (
        f"{safe_component(database)}_{safe_component(backup_type)}_{stamp}_{execution_id[:8]}"
        f".{extension}.{COMPRESSION_SUFFIX[compression]}"
    )


def backup_relative_dir(*, database: str, started_at: datetime) -> str:
    """``<database>/<yyyy>/<mm>`` under the storage root."""
    return str(PurePosixPath(safe_component(database), f"{started_at:%Y}", f"{started_at:%m}"))


def s3_key(*, prefix: str, database: str, started_at: datetime, file_name: str) -> str:
    """``{prefix}/{database}/{yyyy}/{mm}/{file}`` (SPEC §5.6.4), without a leading slash."""
    parts = [p for p in prefix.strip("/").split("/") if p]
    rel = backup_relative_dir(database=database, started_at=started_at)
    return "/".join([*parts, rel, file_name])


def manifest_name(file_name: str) -> str:
    """The sidecar manifest beside an artifact."""
    return f"{file_name}.manifest.json"


def attempt_file_name(file_name: str, attempt: int) -> str:
    """The name an artifact gets from delivery `attempt` of its job.

    The first attempt uses ``file_name``; attempt n ≥ 2 inserts ``-a<n>`` before the two
    format suffixes (``…_1a2b3c4d-a2.dump.zst``). Attempts never share a final name, so a stale
    attempt that publishes late cannot replace what a newer attempt published and recorded.
    """
    if attempt <= 1:
        return file_name
    parts = file_name.rsplit(".", 2)
    if len(parts) == 3 and parts[0]:
        return f"{parts[0]}-a{attempt}.{parts[1]}.{parts[2]}"
    return f"{file_name}-a{attempt}"


def attempt_s3_key(key: str, attempt: int) -> str:
    """The S3 key delivery `attempt` writes (:func:`attempt_file_name` of its last part)."""
    head, _, name = key.rpartition("/")
    named = attempt_file_name(name, attempt)
    return f"{head}/{named}" if head else named
