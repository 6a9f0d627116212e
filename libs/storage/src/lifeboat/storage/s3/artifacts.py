"""S3 as an :class:`~lifeboat.storage.base.ArtifactStore`: :class:`S3ArtifactStore` over an
:class:`~lifeboat.storage.s3.store.S3Store`.

An artifact's name is its object key (the caller includes the configuration's path prefix, as
:func:`lifeboat.core.naming.s3_key` does). On top of the plain store this adds the rules every
artifact store keeps: names checked, no publishing over an existing object, a failed commit
leaves nothing, and a missing object is :class:`~lifeboat.core.errors.NotFoundError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from lifeboat.core.errors import S3Error
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
from lifeboat.storage.manifest import Manifest
from lifeboat.storage.s3.errors import answer_field
from lifeboat.storage.s3.multipart import S3Sink
from lifeboat.storage.s3.store import S3Store

_MISSING = frozenset({"NoSuchKey", "NotFound", "HTTP404"})


def _is_missing(exc: S3Error) -> bool:
    return (
        answer_field(exc.details, "code") in _MISSING or answer_field(exc.details, "status") == 404
    )


class S3ArtifactSink(S3Sink):
    """An :class:`S3Sink` that never replaces an object and cleans up after a failed commit
    (multipart upload aborted, or the object it published removed)."""

    async def commit(self, *, size: int, sha256: str) -> None:
        """Publish as :meth:`S3Sink.commit` does; on any failure abort, then re-raise."""
        try:
            await super().commit(size=size, sha256=sha256)
        except BaseException:
            await self.abort()
            raise


class S3ArtifactStore(ArtifactStore):
    """The artifacts of one bucket; closing it closes the wrapped :class:`S3Store`."""

    def __init__(self, s3: S3Store) -> None:
        self.s3 = s3

    async def aclose(self) -> None:
        """Close the bucket's connection pool."""
        await self.s3.aclose()

    def location(self, name: str) -> str:
        """``s3://bucket/<name>``."""
        return self.s3.location(check_name(name))

    async def open_sink(
        self,
        name: str,
        *,
        guard: Guard | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> S3ArtifactSink:
        """A streaming (multipart) upload of object `name`, tagged with `metadata`; `guard`
        runs right before CompleteMultipartUpload (or the single PutObject)."""
        check_name(name)
        return S3ArtifactSink(self.s3, name, metadata or {}, guard=guard, replace=False)

    async def read(self, name: str, *, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """The object's bytes, streamed (a dropped connection resumes, see
        :meth:`S3Store.stream`)."""
        check_name(name)
        try:
            async for chunk in self.s3.stream(name, chunk_size=chunk_size):
                yield chunk
        except S3Error as exc:
            if _is_missing(exc):
                raise not_found(name) from None
            raise

    async def stat(self, name: str) -> ArtifactInfo | None:
        """Size and last modification of object `name` (HeadObject), or None."""
        check_name(name)
        info = await self.s3.head(name)
        if info is None:
            return None
        return ArtifactInfo(name=name, size=info.size, modified=info.last_modified)

    async def write_manifest(self, name: str, manifest: Manifest) -> str:
        """PutObject the sidecar of `name` (STANDARD storage class); returns its key."""
        check_name(name)
        return await self.s3.put_manifest(name, manifest)

    async def read_manifest(self, name: str) -> Manifest:
        """The sidecar of `name`.

        Raises:
            NotFoundError: no manifest. S3Error: unreadable or not a manifest.
        """
        check_name(name)
        try:
            return await self.s3.read_manifest(manifest_of(name))
        except S3Error as exc:
            if _is_missing(exc):
                raise not_found(manifest_of(name), "manifest") from None
            raise

    async def delete(self, name: str) -> bool:
        """Delete object `name` and its sidecar; whether the object existed."""
        check_name(name)
        return await self.s3.delete(name)

    async def remove_leftovers(self, name: str) -> list[str]:
        """Abort unfinished multipart uploads of `name`, delete the object and its sidecar."""
        check_name(name)
        sink = S3Sink(self.s3, name, {})
        await sink.abort_leftovers()
        removed = [w for w in sink.warnings if w.startswith("aborted")]
        if await self.s3.delete(name):
            removed.append(self.s3.location(name))
        return removed

    async def list_artifacts(self, prefix: str = "") -> AsyncIterator[ArtifactInfo]:
        """The objects under `prefix`, in key order (ListObjectsV2 pages)."""
        check_prefix(prefix)
        after: str | None = None
        while True:
            page, more = await self.s3.list_page(prefix, start_after=after)
            for item in page:
                if is_listed(item.key):
                    yield ArtifactInfo(name=item.key, size=item.size, modified=item.last_modified)
            if not more or not page:
                return
            after = page[-1].key
