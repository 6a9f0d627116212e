"""Key-value operations on JetStream KV buckets: plain reads and writes (the schedules bucket),
a watch, and the compare-and-set operations fencing relies on (see :mod:`lifeboat.wire.lease`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import NamedTuple

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from lifeboat.core.errors import UnavailableError
from lifeboat.wire.base import BusBase


class KvEntry(NamedTuple):
    """A key's value and the revision a compare-and-set must name."""

    value: bytes
    revision: int


class KvChange(NamedTuple):
    """One change seen by :meth:`KvOperations.kv_watch`: a key's new value, or None once
    deleted."""

    key: str
    value: bytes | None


class KvOperations(BusBase):
    """Reads, writes, watches and compare-and-sets on KV buckets."""

    async def _kv(self, bucket: str) -> KeyValue:
        try:
            return await self._js.key_value(bucket)
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"KV bucket {bucket} is not reachable: {exc}") from exc

    async def kv_put(self, bucket: str, key: str, value: bytes) -> None:
        """Set `key` to `value` in `bucket` (UnavailableError when NATS cannot take it)."""
        kv = await self._kv(bucket)
        try:
            await kv.put(key, value)
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot write {bucket}/{key}: {exc}") from exc

    async def kv_delete(self, bucket: str, key: str) -> None:
        """Remove `key` from `bucket` (no error when it is not there)."""
        kv = await self._kv(bucket)
        try:
            await kv.delete(key)
        except nats.js.errors.KeyNotFoundError:
            return
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot delete {bucket}/{key}: {exc}") from exc

    async def kv_keys(self, bucket: str) -> list[str]:
        """Every key currently set in `bucket`."""
        kv = await self._kv(bucket)
        try:
            return list(await kv.keys())
        except nats.js.errors.NoKeysError:
            return []
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot list {bucket}: {exc}") from exc

    async def kv_watch(self, bucket: str) -> AsyncIterator[KvChange | None]:
        """Every key's current value, then None (the snapshot is complete), then each change as
        it happens, until the caller stops iterating. Deleted keys come with ``value=None``."""
        kv = await self._kv(bucket)
        watcher = await kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:
                    yield None
                    continue
                deleted = entry.operation in ("DEL", "PURGE")
                yield KvChange(str(entry.key), None if deleted else bytes(entry.value or b""))
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()

    async def kv_get(self, bucket: str, key: str) -> KvEntry | None:
        """The current value and revision of `key`, or None when it is not set."""
        kv = await self._kv(bucket)
        try:
            entry = await kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot read {bucket}/{key}: {exc}") from exc
        return KvEntry(bytes(entry.value or b""), int(entry.revision or 0))

    async def kv_create(self, bucket: str, key: str, value: bytes) -> int | None:
        """Set `key` only if it is not set; its revision, or None when it already was."""
        kv = await self._kv(bucket)
        try:
            return int(await kv.create(key, value))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot write {bucket}/{key}: {exc}") from exc

    async def kv_update(self, bucket: str, key: str, value: bytes, *, revision: int) -> int | None:
        """Set `key` only if its revision is still `revision` (compare-and-set); the new
        revision, or None when someone changed it since."""
        kv = await self._kv(bucket)
        try:
            return int(await kv.update(key, value, last=revision))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot write {bucket}/{key}: {exc}") from exc
