"""Objects of a configured bucket: listing them for a restore, and what restoring one needs.

Any object of the bucket may be restored (not only those under the configuration's path
prefix). Lifeboat trusts the ``<key>.manifest.json`` beside an object (it is in a bucket an
admin configured, and Lifeboat wrote it): its sha256 is what the executor verifies before
anything touches the target. An object without a readable manifest is of unknown origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import msgspec

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import S3Config
from lifeboat.api.domain.s3configs.schemas import S3ObjectOut, S3ObjectsOut
from lifeboat.api.domain.s3configs.service import load, store_for
from lifeboat.core.errors import NotFoundError, ValidationError
from lifeboat.core.naming import manifest_name
from lifeboat.storage.manifest import Manifest, decode_manifest
from lifeboat.storage.s3.results import S3Listed
from lifeboat.storage.s3.store import S3Store

MAX_KEY_BYTES = 1024
"""S3's own limit on a key's length (UTF-8 bytes)."""
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
_MAX_LIST_CALLS = 10
"""ListObjectsV2 calls one page of the listing may take (manifests are skipped, not counted)."""
_MAX_MANIFEST_BYTES = 1024 * 1024
_MANIFEST_SUFFIX = manifest_name("")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _problem(value: str, *, prefix: bool) -> str | None:
    if len(value.encode()) > MAX_KEY_BYTES:
        return f"is longer than {MAX_KEY_BYTES} bytes"
    if _CONTROL.search(value):
        return "contains a control character"
    if "\\" in value:
        return "contains a backslash"
    if value.startswith("/"):
        return "starts with '/'"
    if not prefix and (not value or value.endswith("/")):
        return "does not name an object"
    segments = value.split("/")
    if prefix and segments[-1] == "":
        segments.pop()  # "" (the whole bucket) and "dir/" are fine
    if any(s in (".", "..") for s in segments):
        return "contains a '.' or '..' path segment"
    if "" in segments:
        return "contains an empty path segment"
    if not prefix and value.endswith(_MANIFEST_SUFFIX):
        return "is a Lifeboat manifest; restore the object beside it"
    return None


def check_key(value: str, *, field: str, prefix: bool = False) -> None:
    """Refuse an object key (or, with `prefix`, a listing prefix) that could be read as a path
    elsewhere (``..`` segments, a leading ``/``, backslashes, control characters), or that
    names no restorable object.

    Raises:
        ValidationError: with the field and the reason.
    """
    problem = _problem(value, prefix=prefix)
    if problem is not None:
        raise ValidationError(f"{field} {problem}", details=[{"field": field, "message": problem}])


def _default_prefix(config: S3Config) -> str:
    prefix = config.path_prefix.strip("/")
    return f"{prefix}/" if prefix else ""


async def list_objects(
    ctx: ApiContext,
    config_id: str,
    *,
    prefix: str | None,
    start_after: str | None,
    limit: int,
) -> S3ObjectsOut:
    """Up to `limit` objects under `prefix` (default: the configuration's path prefix) after
    key `start_after`, in key order; manifests are not listed but flagged on their object.

    Raises:
        NotFoundError: no such configuration.
        ValidationError: a bad prefix or start key.
        S3Error: the listing failed (502 S3_ERROR).
    """
    _check_listing_args(prefix, start_after)
    async with ctx.db.read() as session:
        config = await load(session, config_id)
    if prefix is None:
        prefix = _default_prefix(config)
    async with await store_for(ctx, config) as store:
        page = await _scan(store, prefix, start_after=start_after, limit=limit)
        out = [await _object_out(store, page, item) for item in page.objects]
    truncated = page.overflow or page.more
    return S3ObjectsOut(
        bucket=config.bucket,
        prefix=prefix,
        objects=out,
        truncated=truncated,
        next_start_after=page.after if truncated else None,
    )


def _check_listing_args(prefix: str | None, start_after: str | None) -> None:
    if prefix is not None:
        check_key(prefix, field="prefix", prefix=True)
    if start_after is not None and (
        len(start_after.encode()) > MAX_KEY_BYTES or _CONTROL.search(start_after)
    ):
        raise ValidationError(
            "startAfter is not an object key",
            details=[{"field": "startAfter", "message": "not an object key"}],
        )


@dataclass(kw_only=True)
class _Page:
    """What the S3 listing calls of one page found."""

    objects: list[S3Listed] = field(default_factory=list[S3Listed])
    manifests: set[str] = field(default_factory=set[str])
    after: str | None = None
    """The last key this page accounts for."""
    scanned: str = ""
    """The last key S3 returned."""
    overflow: bool = False
    more: bool = False


async def _scan(store: S3Store, prefix: str, *, start_after: str | None, limit: int) -> _Page:
    """List until `limit` objects (manifests set apart, "dir/" markers skipped) are found, S3
    has no more, or ``_MAX_LIST_CALLS`` calls were made."""
    page = _Page(after=start_after or None, scanned=start_after or "")
    for _ in range(_MAX_LIST_CALLS):
        listed, page.more = await store.list_page(
            prefix,
            start_after=page.after,
            max_keys=min(MAX_LIST_LIMIT, 2 * limit + 2),  # an object and its manifest
        )
        for item in listed:
            page.scanned = item.key
            if item.key.endswith(_MANIFEST_SUFFIX):
                page.manifests.add(item.key)
            elif not page.overflow and not item.key.endswith("/"):
                if len(page.objects) == limit:
                    page.overflow = True
                else:
                    page.objects.append(item)
            if not page.overflow:
                page.after = item.key
        if page.overflow or not page.more or len(page.objects) == limit:
            break
    return page


async def _object_out(store: S3Store, page: _Page, item: S3Listed) -> S3ObjectOut:
    mkey = store.manifest_key(item.key)
    # A manifest sorts after its object: unseen but maybe on a later S3 page.
    has = mkey in page.manifests or (
        page.more and mkey > page.scanned and await store.head(mkey) is not None
    )
    return S3ObjectOut(
        key=item.key,
        size=item.size,
        last_modified=item.last_modified,
        storage_class=item.storage_class,
        has_manifest=has,
    )


@dataclass(frozen=True, kw_only=True)
class ObjectFacts:
    """One object to restore: its size and the manifest beside it, if one can be trusted."""

    key: str
    size: int
    manifest: Manifest | None
    untrusted_because: str | None
    """Why there is no trusted manifest (None when there is one)."""


async def inspect_object(ctx: ApiContext, config: S3Config, key: str) -> ObjectFacts:
    """HEAD the object and read the manifest beside it.

    A manifest that is missing, unparsable, or whose size or sha256 cannot describe the object
    leaves the object untrusted (the caller decides); S3 failures are raised.

    Raises:
        NotFoundError: the object does not exist.
        S3Error: S3 refused or could not be reached.
    """
    async with await store_for(ctx, config) as store:
        info = await store.head(key)
        if info is None:
            raise NotFoundError(
                f"no object {key!r} in bucket {config.bucket}",
                details={"s3ConfigId": config.id, "key": key},
            )
        mkey = store.manifest_key(key)
        if await store.head(mkey) is None:
            return ObjectFacts(
                key=key, size=info.size, manifest=None, untrusted_because="it has no manifest"
            )
        raw = await store.get_bytes(mkey, max_bytes=_MAX_MANIFEST_BYTES)
    try:
        manifest = decode_manifest(raw)
    except msgspec.DecodeError as exc:
        return ObjectFacts(
            key=key,
            size=info.size,
            manifest=None,
            untrusted_because=f"its manifest is not a Lifeboat manifest ({exc})",
        )
    if not _SHA256.fullmatch(manifest.sha256):
        return ObjectFacts(
            key=key,
            size=info.size,
            manifest=None,
            untrusted_because="its manifest carries no valid sha256",
        )
    return ObjectFacts(key=key, size=info.size, manifest=manifest, untrusted_because=None)
