"""The ``<file>.manifest.json`` sidecar written beside every completed artifact.

It carries everything a fresh install needs to rebuild a backup record and restore from it.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from lifeboat.core.naming import Compression, Engine

MANIFEST_VERSION = 1


class Manifest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Description of one artifact; field names are camelCase on disk."""

    manifest_version: int = MANIFEST_VERSION
    execution_id: str
    database_label: str
    database_name: str
    engine: Engine
    server_version: str | None = None
    tool_version: str | None = None
    format: str
    compression: Compression
    size_bytes: int
    sha256: str
    backup_type: str
    schedule_id: str | None = None
    file_name: str
    started_at: datetime
    completed_at: datetime
    row_counts: dict[str, int] | None = None
    """Rows per table, counted consistently with the dump (``lifeboat.engines.census``); None
    when they were not counted (older versions, or the count failed)."""
    object_counts: dict[str, int] | None = None
    """Schema objects per kind (tables, views, sequences, functions...) at backup time."""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Manifest)


def encode_manifest(manifest: Manifest) -> bytes:
    """Pretty JSON bytes for a manifest."""
    return msgspec.json.format(_encoder.encode(manifest), indent=2) + b"\n"


def decode_manifest(raw: bytes) -> Manifest:
    """Parse manifest JSON (unknown fields from newer versions are ignored)."""
    return _decoder.decode(raw)
