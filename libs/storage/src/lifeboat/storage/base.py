"""The one artifact-store interface: :class:`ArtifactStore`, what every place a backup can live
offers (local directory, S3 bucket, memory), and the rules they all follow.

Implementations: :class:`lifeboat.storage.local.LocalStore`,
:class:`lifeboat.storage.s3.artifacts.S3ArtifactStore` and
:class:`lifeboat.storage.memory.MemoryStore` (the reference, and the double for tests). One
contract suite, ``tests/integration/test_store_contract.py``, runs against all three.

**Names.** An artifact is addressed by a ``/``-separated *name* relative to the store (a path
under the local root, an object key in the bucket): ``app/2025/01/app_manual_….dump.zst``. Every
store refuses the same names (:func:`check_name`, :class:`~lifeboat.core.errors.ValidationError`):
empty, absolute, ``.`` or ``..`` segments, empty segments, control characters or a backslash,
more than 1,024 UTF-8 bytes, and manifest names. So no name can leave a local root or alias
another, and the three stores accept exactly the same names.

**Publishing.** :meth:`ArtifactStore.open_sink` streams a new artifact; its ``commit`` makes it
visible *without replacing* an artifact of the same name (refused with the store's
:class:`~lifeboat.core.errors.OperationError`, the name left as it was) and runs the optional
*guard* right before the irreversible publication (the executor's lease hold, see
``lifeboat.wire.lease``): a guard that raises stops the commit and leaves nothing. ``abort``
leaves nothing either. Readers never see a partial artifact.

**Manifests.** Each artifact may have a ``<name>.manifest.json`` sidecar
(:mod:`lifeboat.storage.manifest`); deleting the artifact deletes it too.

**Errors.** A missing artifact or manifest is :class:`~lifeboat.core.errors.NotFoundError` in
every store; other failures are the store's own ``OperationError`` (``BackupError`` for local
storage and memory, ``S3Error`` for S3).
"""

from __future__ import annotations

import abc
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol, Self

import msgspec

from lifeboat.core.errors import NotFoundError, ValidationError
from lifeboat.core.naming import manifest_name
from lifeboat.storage.manifest import Manifest
from lifeboat.storage.sink import Sink

Guard = Callable[[], Awaitable[None]]
"""Run right before a commit publishes anything; raising stops the commit."""

MAX_NAME_BYTES = 1024
"""S3's key limit, applied everywhere so that every store accepts the same names."""

READ_CHUNK = 1024 * 1024
"""Default size of the chunks :meth:`ArtifactStore.read` yields."""

MANIFEST_SUFFIX = manifest_name("")


class ArtifactInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a store knows about one published artifact."""

    name: str
    size: int
    modified: datetime | None = None


class ArtifactSink(Sink, Protocol):
    """A :class:`~lifeboat.storage.sink.Sink` writing one named artifact of a store."""

    @property
    def name(self) -> str:
        """The artifact's name in its store."""
        ...

    @property
    def warnings(self) -> list[str]:
        """What went wrong without failing the write (e.g. a tag S3 refused)."""
        ...


def check_name(name: str) -> str:
    """`name` if it is an acceptable artifact name (see the module docstring).

    Raises:
        ValidationError: it is not.
    """
    problem: str | None = None
    if not name:
        problem = "is empty"
    elif name.startswith("/") or name.endswith("/"):
        problem = "starts or ends with '/'"
    elif any(unicodedata.category(c) == "Cc" or c == "\\" for c in name):
        problem = "contains a control character or a backslash"
    elif any(part in ("", ".", "..") for part in name.split("/")):
        problem = "has an empty, '.' or '..' segment"
    elif len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problem = f"is longer than {MAX_NAME_BYTES} bytes"
    elif name.endswith(MANIFEST_SUFFIX):
        problem = "is a manifest's name"
    if problem is not None:
        raise ValidationError(f"invalid artifact name: {problem}", details={"name": name[:200]})
    return name


def check_prefix(prefix: str) -> str:
    """`prefix` if it can start an artifact name: its complete segments (up to the last ``/``)
    form an acceptable name and it holds no control character or backslash.

    Raises:
        ValidationError: it cannot (e.g. ``../``), so no listing ever leaves a local root.
    """
    directory, _, rest = prefix.rpartition("/")
    if directory or prefix.startswith("/"):
        check_name(directory)
    if any(unicodedata.category(c) == "Cc" or c == "\\" for c in rest):
        raise ValidationError(
            "invalid artifact prefix: contains a control character or a backslash",
            details={"prefix": prefix[:200]},
        )
    return prefix


def join_name(directory: str, file_name: str) -> str:
    """``directory/file_name`` as an artifact name (checked)."""
    return check_name(f"{directory.strip('/')}/{file_name}" if directory.strip("/") else file_name)


def manifest_of(name: str) -> str:
    """The name of the manifest sidecar of artifact `name`."""
    head, _, last = name.rpartition("/")
    return f"{head}/{manifest_name(last)}" if head else manifest_name(last)


def is_listed(name: str) -> bool:
    """Whether `name` is a published artifact a listing shows: no manifest, and no hidden
    segment (temporary files, uploads and probes are named ``.…``)."""
    return not name.endswith(MANIFEST_SUFFIX) and not any(
        part.startswith(".") for part in name.split("/")
    )


def not_found(name: str, what: str = "artifact") -> NotFoundError:
    """The error every store raises for a missing artifact (or manifest) `name`."""
    return NotFoundError(f"{what} {name} does not exist", details={"name": name})


class ArtifactStore(abc.ABC):
    """Where artifacts and their manifests live; see the module docstring for the rules.

    Use as ``async with store:`` (or call :meth:`aclose`) when the store holds connections.
    """

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:  # noqa: B027 - stores without resources need nothing
        """Release what the store holds (connections); it may be used again afterwards."""

    @abc.abstractmethod
    def location(self, name: str) -> str:
        """Where artifact `name` is, for messages (a path, ``s3://bucket/key``)."""

    @abc.abstractmethod
    async def open_sink(
        self,
        name: str,
        *,
        guard: Guard | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ArtifactSink:
        """A sink writing the new artifact `name`.

        Args:
            name: The artifact's name (checked with :func:`check_name`).
            guard: Awaited right before the artifact is published; raising stops the commit
                and nothing is left.
            metadata: Tags stored with the artifact where the store can (S3 object metadata).

        Raises:
            ValidationError: the name is refused.
        """

    @abc.abstractmethod
    def read(self, name: str, *, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """The bytes of artifact `name`, streamed in chunks of at most `chunk_size`.

        Raises:
            NotFoundError: no such artifact (raised on the first iteration).
        """

    @abc.abstractmethod
    async def stat(self, name: str) -> ArtifactInfo | None:
        """What the store knows about artifact `name`; None if there is none."""

    async def exists(self, name: str) -> bool:
        """Whether artifact `name` is published."""
        return await self.stat(name) is not None

    async def size(self, name: str) -> int:
        """The size in bytes of artifact `name`.

        Raises:
            NotFoundError: no such artifact.
        """
        info = await self.stat(name)
        if info is None:
            raise not_found(name)
        return info.size

    async def read_bytes(self, name: str) -> bytes:
        """The whole content of artifact `name` (for small artifacts and tests)."""
        return b"".join([chunk async for chunk in self.read(name)])

    @abc.abstractmethod
    async def write_manifest(self, name: str, manifest: Manifest) -> str:
        """Write (or replace) the manifest sidecar of artifact `name`; returns its name."""

    @abc.abstractmethod
    async def read_manifest(self, name: str) -> Manifest:
        """The manifest sidecar of artifact `name`.

        Raises:
            NotFoundError: the artifact has no manifest.
        """

    @abc.abstractmethod
    async def delete(self, name: str) -> bool:
        """Remove artifact `name` and its manifest; returns whether the artifact existed."""

    @abc.abstractmethod
    async def remove_leftovers(self, name: str) -> list[str]:
        """Remove whatever any writer of `name` left: the artifact, its manifest, temporary
        files or unfinished uploads (an earlier attempt of a job). Returns what was removed,
        described for a log."""

    @abc.abstractmethod
    def list_artifacts(self, prefix: str = "") -> AsyncIterator[ArtifactInfo]:
        """The published artifacts whose name starts with `prefix`, in name order (manifests
        and hidden names, see :func:`is_listed`, are left out).

        Raises:
            ValidationError: `prefix` is refused by :func:`check_prefix`.
        """
