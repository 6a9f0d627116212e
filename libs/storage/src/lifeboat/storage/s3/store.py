"""The S3 store: :class:`S3Store`, what Lifeboat asks of one bucket.

Head/get/put/delete/list, manifests, unfinished uploads, the access test; the connection and
the retries are :class:`~lifeboat.storage.s3.client.S3Client`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec
from botocore.exceptions import ClientError  # pyright: ignore[reportMissingTypeStubs]

from lifeboat.core.errors import S3Error
from lifeboat.core.naming import manifest_name, s3_key
from lifeboat.storage.manifest import Manifest, decode_manifest, encode_manifest
from lifeboat.storage.s3 import unfinished
from lifeboat.storage.s3.access import probe_access
from lifeboat.storage.s3.client import S3Client
from lifeboat.storage.s3.errors import (
    TRANSPORT_ERRORS,
    answer_field,
    answer_items,
    error_code,
    http_status,
    retryable,
)
from lifeboat.storage.s3.multipart import S3Sink
from lifeboat.storage.s3.results import (
    AccessReport,
    S3Listed,
    S3ObjectInfo,
    S3Upload,
)
from lifeboat.storage.s3.settings import DOWNLOAD_CHUNK, MiB, decode_meta, encode_meta

# --------------------------------------------------------------------------- store


class S3Store(S3Client):
    """One bucket, one connection pool; use as ``async with S3Store(settings) as store``."""

    # -- keys ------------------------------------------------------------------------------

    def key_for(self, *, database: str, started_at: datetime, file_name: str) -> str:
        """The object key of an artifact (SPEC §5.6.4) under this store's ``path_prefix``."""
        return s3_key(
            prefix=self.settings.path_prefix,
            database=database,
            started_at=started_at,
            file_name=file_name,
        )

    @staticmethod
    def manifest_key(key: str) -> str:
        """The sidecar manifest key beside artifact `key`."""
        head, _, name = key.rpartition("/")
        return f"{head}/{manifest_name(name)}" if head else manifest_name(name)

    def _sse_params(self) -> dict[str, str]:
        s = self.settings
        params: dict[str, str] = {}
        if s.sse is not None:
            params["ServerSideEncryption"] = s.sse
            if s.sse_kms_key_id:
                params["SSEKMSKeyId"] = s.sse_kms_key_id
        return params

    def object_params(self, *, with_storage_class: bool = True) -> dict[str, str]:
        """Storage class and SSE request parameters for new objects."""
        params = self._sse_params()
        if with_storage_class and self.settings.storage_class:
            params["StorageClass"] = self.settings.storage_class
        return params

    # -- objects ---------------------------------------------------------------------------

    async def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        storage_class: bool = False,
    ) -> None:
        """Store a small object in one PutObject (e.g. a manifest sidecar).

        SSE settings apply; the storage class only if `storage_class` is true, so manifests
        stay readable (STANDARD) even when artifacts go to an archive class.
        """
        params: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": encode_meta(metadata or {}),
            **self.object_params(with_storage_class=storage_class),
        }

        async def put(client: Any) -> None:
            await client.put_object(**params)

        await self.call("PutObject", key, put)

    async def get_bytes(self, key: str, *, max_bytes: int = 16 * MiB) -> bytes:
        """A small object's content (refused above `max_bytes`)."""
        out = bytearray()
        async for chunk in self.stream(key):
            out += chunk
            if len(out) > max_bytes:
                raise S3Error(f"{self.location(key)} is larger than {max_bytes} bytes")
        return bytes(out)

    async def put_manifest(self, key: str, manifest: Manifest) -> str:
        """Write the sidecar of artifact `key`; returns the manifest's key."""
        mkey = self.manifest_key(key)
        await self.put_bytes(mkey, encode_manifest(manifest), content_type="application/json")
        return mkey

    async def read_manifest(self, manifest_key: str) -> Manifest:
        """Fetch and parse a ``*.manifest.json`` object.

        Raises:
            S3Error: missing, unreadable or not a manifest.
        """
        raw = await self.get_bytes(manifest_key, max_bytes=1 * MiB)
        try:
            return decode_manifest(raw)
        except msgspec.DecodeError as exc:
            raise S3Error(
                f"{self.location(manifest_key)} is not a Lifeboat manifest: {exc}"
            ) from None

    def open_sink(
        self,
        key: str,
        metadata: Mapping[str, str] | None = None,
        *,
        guard: Callable[[], Awaitable[None]] | None = None,
        replace: bool = True,
    ) -> S3Sink:
        """A :class:`S3Sink` uploading to `key`, tagged with `metadata` (``x-amz-meta-*``);
        `guard` runs right before the object is made visible (raising stops the commit);
        `replace` false refuses to publish over an existing object."""
        if not key or key.startswith("/"):
            raise S3Error(f"invalid S3 key {key!r}")
        return S3Sink(self, key, metadata or {}, guard=guard, replace=replace)

    async def stream(self, key: str, *, chunk_size: int = DOWNLOAD_CHUNK) -> AsyncIterator[bytes]:
        """The object's bytes in chunks of at most `chunk_size`, streamed (restore, download).

        A connection lost mid-way resumes with a ranged GET pinned to the object's ETag, so a
        changed object is never spliced; after ``max_attempts`` failures in a row it raises.

        Raises:
            S3Error: missing object, access denied, object changed, or too many failures.
        """
        offset = 0
        etag: str | None = None
        failures = 0
        while True:
            params: dict[str, Any] = {"Bucket": self.settings.bucket, "Key": key}
            if offset:
                params["Range"] = f"bytes={offset}-"
            if etag:
                params["IfMatch"] = etag

            async def get(client: Any, params: dict[str, Any] = params) -> Any:
                return await client.get_object(**params)

            response: Any = await self.call("GetObject", key, get)
            etag = etag or response.get("ETag")
            body: Any = response["Body"]
            try:
                while True:
                    try:
                        chunk: bytes = await body.read(chunk_size)
                    except TRANSPORT_ERRORS as exc:
                        failures += 1
                        if failures >= self.settings.max_attempts or not retryable(exc):
                            raise self.to_error("GetObject", key, exc) from None
                        self.retry_count += 1
                        await self._backoff(failures)
                        break  # resume from `offset`
                    if not chunk:
                        return
                    failures = 0
                    offset += len(chunk)
                    yield chunk
            finally:
                with contextlib.suppress(Exception):
                    body.close()

    async def head(self, key: str) -> S3ObjectInfo | None:
        """The object's size, ETag, storage class and decoded metadata; None if it is missing."""

        async def head(client: Any) -> Any:
            try:
                return await client.head_object(Bucket=self.settings.bucket, Key=key)
            except ClientError as exc:
                if http_status(exc) == 404 or error_code(exc) in {"NoSuchKey", "NotFound"}:
                    return None
                raise

        response: Any = await self.call("HeadObject", key, head)
        if response is None:
            return None
        return S3ObjectInfo(
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=response.get("ETag"),
            last_modified=response.get("LastModified"),
            storage_class=response.get("StorageClass"),
            metadata=decode_meta(answer_field(response, "Metadata") or {}),
        )

    async def delete(self, key: str) -> bool:
        """Delete an artifact and its manifest sidecar; returns whether the artifact existed."""
        existed = await self.head(key) is not None
        for target in (key, self.manifest_key(key)):

            async def delete(client: Any, target: str = target) -> None:
                await client.delete_object(Bucket=self.settings.bucket, Key=target)

            await self.call("DeleteObject", target, delete)
        return existed

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        """Every key under `prefix` (ListObjectsV2, paginated)."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.settings.bucket, "Prefix": prefix}
            if token:
                params["ContinuationToken"] = token

            async def page(client: Any, params: dict[str, Any] = params) -> Any:
                return await client.list_objects_v2(**params)

            response: Any = await self.call("ListObjectsV2", prefix or None, page)
            for item in answer_items(response, "Contents"):
                yield str(item["Key"])
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                return

    async def list_page(
        self, prefix: str, *, start_after: str | None = None, max_keys: int = 1000
    ) -> tuple[list[S3Listed], bool]:
        """One ListObjectsV2 page of the objects under `prefix` after key `start_after`, in
        key order, and whether more follow."""
        params: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Prefix": prefix,
            "MaxKeys": max_keys,
        }
        if start_after:
            params["StartAfter"] = start_after

        async def page(client: Any) -> Any:
            return await client.list_objects_v2(**params)

        response: Any = await self.call("ListObjectsV2", prefix or None, page)
        listed = [
            S3Listed(
                key=str(item["Key"]),
                size=int(item.get("Size", 0)),
                last_modified=item.get("LastModified"),
                storage_class=item.get("StorageClass"),
            )
            for item in answer_items(response, "Contents")
        ]
        return listed, bool(response.get("IsTruncated"))

    async def list_manifests(self, prefix: str | None = None) -> list[str]:
        """Keys of every ``*.manifest.json`` under `prefix` (default: the store's path prefix).

        Used to import the history of an existing bucket.
        """
        if prefix is None:
            prefix = self.settings.path_prefix.strip("/")
            prefix = f"{prefix}/" if prefix else ""
        suffix = manifest_name("")
        return [k async for k in self.list_keys(prefix) if k.endswith(suffix)]

    async def list_multipart_uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """``(key, upload id)`` of unfinished multipart uploads under `prefix`."""
        return [(u.key, u.upload_id) for u in await self.list_incomplete_uploads(prefix)]

    async def list_buckets(self) -> list[str]:
        """Names of the buckets these credentials can list."""

        async def names(client: Any) -> Any:
            return await client.list_buckets()

        response: Any = await self.call("ListBuckets", None, names)
        return [str(b["Name"]) for b in answer_items(response, "Buckets")]

    async def test_access(self) -> AccessReport:
        """Check HeadBucket, then put and delete a small probe object under the path prefix.

        Never raises for S3 answers: each step's failure is reported with its S3 error code
        (see :func:`lifeboat.storage.s3.access.probe_access`).
        """
        return await probe_access(self)

    # -- unfinished uploads ----------------------------------------------------------------

    def prefix_root(self) -> str:
        """The store's path prefix as a listing prefix (``""`` or ``"<prefix>/"``)."""
        prefix = self.settings.path_prefix.strip("/")
        return f"{prefix}/" if prefix else ""

    async def list_incomplete_uploads(self, prefix: str | None = None) -> list[S3Upload]:
        """Every unfinished multipart upload under `prefix` (default: the store's path
        prefix), with when it was initiated (paginated ListMultipartUploads)."""
        return await unfinished.list_incomplete_uploads(self, prefix)

    async def abort_multipart(self, key: str, upload_id: str) -> bool:
        """Abort the multipart upload `upload_id` of `key`, freeing its parts.

        Returns:
            False when S3 no longer knows the upload (completed or aborted meanwhile).
        """
        return await unfinished.abort_multipart(self, key, upload_id)
