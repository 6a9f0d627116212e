"""An artifact store in memory: the reference implementation of
:class:`~lifeboat.storage.base.ArtifactStore`, and the store tests use where no real storage
is the point. Everything is lost with the object."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

from lifeboat.core.errors import BackupError
from lifeboat.storage.base import (
    READ_CHUNK,
    ArtifactInfo,
    ArtifactStore,
    Guard,
    check_name,
    check_prefix,
    is_listed,
    manifest_of,
    not_found,
)
from lifeboat.storage.manifest import Manifest, decode_manifest, encode_manifest


class _Stored:
    __slots__ = ("data", "metadata", "modified")

    def __init__(self, data: bytes, metadata: dict[str, str]) -> None:
        self.data = data
        self.metadata = metadata
        self.modified = datetime.now(UTC)


class MemorySink:
    """One artifact being written to a :class:`MemoryStore`; invisible until committed."""

    def __init__(
        self, store: MemoryStore, name: str, *, guard: Guard | None, metadata: dict[str, str]
    ) -> None:
        self._store = store
        self._name = name
        self._guard = guard
        self._metadata = metadata
        self._buffer: bytearray | None = bytearray()
        self._warnings: list[str] = []

    @property
    def name(self) -> str:
        """The artifact's name in its store."""
        return self._name

    @property
    def warnings(self) -> list[str]:
        """Always empty: nothing goes half wrong in memory."""
        return self._warnings

    async def write(self, chunk: bytes) -> None:
        """Append `chunk`."""
        if self._buffer is None:
            raise BackupError("write to a closed sink")
        self._buffer += chunk

    async def commit(self, *, size: int, sha256: str) -> None:
        """Check the size, run the guard, publish unless the name is taken.

        Raises:
            BackupError: size mismatch, closed sink, or the name is taken.
            Exception: whatever the guard raised. Nothing is published in either case.
        """
        del sha256  # the pipeline computed it over the bytes written
        data = self._buffer
        self._buffer = None
        if data is None:
            raise BackupError("commit of a closed sink")
        if len(data) != size:
            raise BackupError(f"backup size mismatch: {len(data)} bytes written, {size} expected")
        if self._guard is not None:
            await self._guard()
        # No await between the check and the insertion: the no-replace publish is atomic.
        if self._name in self._store.artifacts:
            raise BackupError(f"cannot store the backup: {self._name} already exists")
        self._store.artifacts[self._name] = _Stored(bytes(data), self._metadata)

    async def abort(self) -> None:
        """Drop what was written."""
        self._buffer = None


class MemoryStore(ArtifactStore):
    """Artifacts and manifests in two dictionaries keyed by name."""

    def __init__(self) -> None:
        self.artifacts: dict[str, _Stored] = {}
        self.manifests: dict[str, bytes] = {}

    def location(self, name: str) -> str:
        """``memory://<name>``."""
        return f"memory://{name}"

    async def open_sink(
        self,
        name: str,
        *,
        guard: Guard | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> MemorySink:
        """A sink writing the new artifact `name` (see :meth:`ArtifactStore.open_sink`)."""
        check_name(name)
        return MemorySink(self, name, guard=guard, metadata=dict(metadata or {}))

    async def read(self, name: str, *, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """The artifact's bytes in chunks of at most `chunk_size`."""
        check_name(name)
        stored = self.artifacts.get(name)
        if stored is None:
            raise not_found(name)
        data = stored.data
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    async def stat(self, name: str) -> ArtifactInfo | None:
        """Size and time of publication of artifact `name`, or None."""
        check_name(name)
        stored = self.artifacts.get(name)
        if stored is None:
            return None
        return ArtifactInfo(name=name, size=len(stored.data), modified=stored.modified)

    async def write_manifest(self, name: str, manifest: Manifest) -> str:
        """Store the encoded manifest of `name` (replacing an older one)."""
        check_name(name)
        key = manifest_of(name)
        self.manifests[key] = encode_manifest(manifest)
        return key

    async def read_manifest(self, name: str) -> Manifest:
        """Decode the manifest of `name`."""
        check_name(name)
        raw = self.manifests.get(manifest_of(name))
        if raw is None:
            raise not_found(manifest_of(name), "manifest")
        return decode_manifest(raw)

    async def delete(self, name: str) -> bool:
        """Drop the artifact and its manifest."""
        check_name(name)
        self.manifests.pop(manifest_of(name), None)
        return self.artifacts.pop(name, None) is not None

    async def remove_leftovers(self, name: str) -> list[str]:
        """Drop the artifact and its manifest (open sinks hold nothing the store sees)."""
        check_name(name)
        removed: list[str] = []
        if self.artifacts.pop(name, None) is not None:
            removed.append(self.location(name))
        if self.manifests.pop(manifest_of(name), None) is not None:
            removed.append(self.location(manifest_of(name)))
        return removed

    async def list_artifacts(self, prefix: str = "") -> AsyncIterator[ArtifactInfo]:
        """The artifacts whose name starts with `prefix`, in name order."""
        check_prefix(prefix)
        for name in sorted(n for n in self.artifacts if n.startswith(prefix) and is_listed(n)):
            stored = self.artifacts.get(name)
            if stored is not None:
                yield ArtifactInfo(name=name, size=len(stored.data), modified=stored.modified)
