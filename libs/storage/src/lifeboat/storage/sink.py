"""The one ``Sink`` protocol: where a backup's compressed stream goes.

Implemented by the sinks of the artifact stores (:class:`lifeboat.storage.base.ArtifactSink`:
:class:`lifeboat.storage.local.LocalSink`, :class:`lifeboat.storage.s3.multipart.S3Sink`,
:class:`lifeboat.storage.memory.MemorySink`) and by :class:`lifeboat.storage.tee.TeeSink` (which
fans out to several sinks); consumed by the backup pipeline (:mod:`lifeboat.engines.backup`).
"""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    """Where the compressed stream goes (local file, S3 upload, or several)."""

    async def write(self, chunk: bytes) -> None:
        """Append `chunk`."""
        ...

    async def commit(self, *, size: int, sha256: str) -> None:
        """Make the artifact durable and visible; raise if it does not hold `size` bytes."""
        ...

    async def abort(self) -> None:
        """Discard everything written; must not raise."""
        ...
