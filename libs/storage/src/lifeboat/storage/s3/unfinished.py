"""Unfinished multipart uploads of a bucket: listing them and aborting one (what the upload
sweep uses to free the parts an interrupted upload left)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError  # pyright: ignore[reportMissingTypeStubs]

from lifeboat.storage.s3.errors import answer_items, error_code
from lifeboat.storage.s3.results import S3Upload

if TYPE_CHECKING:
    from lifeboat.storage.s3.store import S3Store


async def list_incomplete_uploads(store: S3Store, prefix: str | None = None) -> list[S3Upload]:
    """Every unfinished multipart upload under `prefix` (default: the store's path
    prefix), with when it was initiated (paginated ListMultipartUploads)."""
    if prefix is None:
        prefix = store.prefix_root()
    found: list[S3Upload] = []
    key_marker: str | None = None
    id_marker: str | None = None
    while True:
        params: dict[str, Any] = {"Bucket": store.settings.bucket, "Prefix": prefix}
        if key_marker:
            params["KeyMarker"] = key_marker
        if id_marker:
            params["UploadIdMarker"] = id_marker

        async def page(client: Any, params: dict[str, Any] = params) -> Any:
            return await client.list_multipart_uploads(**params)

        response: Any = await store.call("ListMultipartUploads", prefix or None, page)
        found.extend(
            S3Upload(
                key=str(u["Key"]),
                upload_id=str(u["UploadId"]),
                initiated=u.get("Initiated"),
            )
            for u in answer_items(response, "Uploads")
        )
        key_marker = response.get("NextKeyMarker")
        id_marker = response.get("NextUploadIdMarker")
        if not response.get("IsTruncated") or (not key_marker and not id_marker):
            return found


async def abort_multipart(store: S3Store, key: str, upload_id: str) -> bool:
    """Abort the multipart upload `upload_id` of `key`, freeing its parts.

    Returns:
        False when S3 no longer knows the upload (completed or aborted meanwhile).
    """
    bucket = store.settings.bucket

    async def abort(client: Any) -> bool:
        try:
            await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if error_code(exc) == "NoSuchUpload":
                return False
            raise
        return True

    return await store.call("AbortMultipartUpload", key, abort)
