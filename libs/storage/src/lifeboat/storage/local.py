"""Local artifact storage: :class:`LocalStore`, an
:class:`~lifeboat.storage.base.ArtifactStore` under one root directory; atomic, durable,
private (files 0600, directories 0700).

An artifact is written under a temporary name in its final directory, fsynced, then published
under its final name *without replacing* anything (``link``, which fails if the name exists) and
the directory fsynced, so a crash leaves either nothing or the complete file, and no writer ever
replaces an artifact someone else published. A sink may be given a *guard*: an awaitable run
between the fsync and the publication that raises to stop it (the executor's lease check, see
``lifeboat.wire.lease``). The manifest sidecar is written the same way. Nothing is left behind
when a write fails; temporary names (``.<final name>.<token>.part``) say whose they are, so a
later attempt or a sweep can remove what a killed writer left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import stat
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TypeVar

import msgspec

from lifeboat.core.errors import BackupError
from lifeboat.core.naming import manifest_name
from lifeboat.core.paths import contained
from lifeboat.storage.base import (
    READ_CHUNK,
    ArtifactInfo,
    ArtifactStore,
    Guard,
    check_name,
    check_prefix,
    is_listed,
    not_found,
)
from lifeboat.storage.manifest import Manifest, decode_manifest, encode_manifest

_FILE_MODE = 0o600
_DIR_MODE = 0o700


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(file_name: str) -> str:
    # Hidden and unique, so listings and concurrent writers never mistake it for an artifact;
    # it starts with the final name so that whoever owns that name can find it (see
    # partial_names).
    return f".{file_name}.{secrets.token_hex(6)}.part"


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to file descriptor `fd` (``os.write`` may write less per call)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically with mode 0600 (temp file, fsync, rename, fsync dir)."""
    tmp = path.with_name(_temp_name(path.name))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _FILE_MODE)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


# Flush to disk in the background every this many bytes, so the fsync at commit finds little
# left to write (it otherwise costs about half a second per 200 MB on a typical VM disk).
SYNC_EVERY_BYTES = 32 * 1024 * 1024


def partial_names(file_name: str) -> str:
    """The glob of the temporary files of the artifact `file_name` (any writer)."""
    return f".{file_name}.*.part"


def _publish_noreplace(tmp: Path, final: Path) -> None:
    """Give `tmp` the name `final` unless `final` exists (then FileExistsError), drop `tmp`."""
    os.link(tmp, final)
    os.unlink(tmp)


class LocalSink:
    """One artifact being written; :meth:`commit` makes it appear, :meth:`abort` removes it."""

    def __init__(self, final_path: Path, relative_path: str, *, guard: Guard | None = None) -> None:
        self.path = final_path
        self.relative_path = relative_path
        self.warnings: list[str] = []
        """Always empty: a local write either works or fails."""
        self._guard = guard
        self._tmp = final_path.with_name(_temp_name(final_path.name))
        self._fd: int | None = os.open(
            self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _FILE_MODE
        )
        self._written = 0
        self._synced_at = 0
        self._syncing: asyncio.Future[None] | None = None
        self._done = False

    @property
    def name(self) -> str:
        """The artifact's name in its store (its path relative to the root)."""
        return self.relative_path

    @property
    def temp_path(self) -> Path:
        """The temporary file being written."""
        return self._tmp

    async def write(self, chunk: bytes) -> None:
        """Append `chunk` (page-cache writes are fast enough to do on the event loop)."""
        if self._fd is None:
            raise BackupError("write to a closed sink")
        try:
            write_all(self._fd, chunk)
        except OSError as exc:
            raise BackupError(f"cannot write the backup file: {exc.strerror}") from exc
        self._written += len(chunk)
        if self._written - self._synced_at >= SYNC_EVERY_BYTES and (
            self._syncing is None or self._syncing.done()
        ):
            self._synced_at = self._written
            self._syncing = asyncio.ensure_future(asyncio.to_thread(os.fdatasync, self._fd))

    async def _settle(self) -> OSError | None:
        """Wait for a background flush; returns its error.

        Linux reports a writeback error to each descriptor once, so an error seen by the
        background flush would not reappear at the final fsync: it must be kept.
        """
        error: OSError | None = None
        if self._syncing is not None:
            try:
                await self._syncing
            except OSError as exc:
                error = exc
            self._syncing = None
        return error

    async def commit(self, *, size: int, sha256: str) -> None:
        """fsync, check the size on disk, run the guard, publish without replacing, fsync the
        directory.

        The sha256 is computed by the pipeline over exactly the bytes handed to :meth:`write`;
        the sink confirms that all of them reached the disk.

        Raises:
            BackupError: size mismatch, I/O error, or the final name is taken (the temporary
                file is removed).
            Exception: whatever the guard raised (the temporary file is removed).
        """
        del sha256
        if self._fd is None:
            # Committed or aborted already: failing must not abort (that would withdraw a
            # published artifact).
            raise BackupError("commit of a closed sink")
        try:
            if (flush_error := await self._settle()) is not None:
                raise flush_error
            await asyncio.to_thread(self._flush_sync, size)
            if self._guard is not None:
                await self._guard()
            await asyncio.to_thread(self._publish_sync)
        except FileExistsError as exc:
            await self.abort()
            raise BackupError(
                f"cannot store the backup file: {self.relative_path} already exists"
            ) from exc
        except OSError as exc:
            await self.abort()
            raise BackupError(f"cannot store the backup file: {exc.strerror}") from exc
        except BaseException:
            await self.abort()
            raise

    def _flush_sync(self, size: int) -> None:
        fd = self._fd
        assert fd is not None  # checked by commit
        os.fsync(fd)
        on_disk = os.fstat(fd).st_size
        if on_disk != size or self._written != size:
            raise BackupError(
                f"backup file size mismatch: {on_disk} bytes on disk, {size} expected"
            )
        os.close(fd)
        self._fd = None

    def _publish_sync(self) -> None:
        _publish_noreplace(self._tmp, self.path)
        self._done = True
        _fsync_dir(self.path.parent)

    async def abort(self) -> None:
        """Discard the temporary file (and the final file if it was already renamed)."""
        await self._settle()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)
        if self._done:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self._done = False


T = TypeVar("T")


def _stored_error(what: str, exc: OSError) -> BackupError:
    return BackupError(f"cannot {what}: {exc.strerror or exc}")


class LocalStore(ArtifactStore):
    """Artifacts and manifests under one root directory (files 0600, directories 0700).

    Blocking file-system calls run in a worker thread (``asyncio.to_thread``), except the
    sink's appends, which land in the page cache (see :meth:`LocalSink.write`).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure_root(self) -> None:
        """Create the root (0700) if missing."""
        self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    def path_of(self, relative: str) -> Path:
        """Absolute path of `relative`, refused if it escapes the root (ValidationError)."""
        return contained(self.root, relative)

    def _artifact_path(self, name: str) -> Path:
        return self.path_of(check_name(name))

    def location(self, name: str) -> str:
        """The artifact's absolute path."""
        return str(self._artifact_path(name))

    async def _run(self, what: str, call: Callable[[], T]) -> T:
        """`call()` in a worker thread, an OSError turned into a :class:`BackupError`."""
        try:
            return await asyncio.to_thread(call)
        except OSError as exc:
            raise _stored_error(what, exc) from exc

    def _make_dirs(self, relative_dir: str) -> None:
        self.ensure_root()
        current = self.root
        for part in PurePosixPath(relative_dir).parts:
            current = current / part
            with contextlib.suppress(FileExistsError):
                # One level at a time: makedirs' mode applies to the leaf only.
                current.mkdir(mode=_DIR_MODE)

    async def open_sink(
        self,
        name: str,
        *,
        guard: Guard | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> LocalSink:
        """A sink writing artifact `name` (directories created 0700); `guard` runs right
        before the artifact is published. `metadata` is not kept (the manifest says it all)."""
        del metadata
        final = self._artifact_path(name)
        directory = name.rpartition("/")[0]

        def open_() -> LocalSink:
            if directory:
                self._make_dirs(directory)
            else:
                self.ensure_root()
            return LocalSink(final, name, guard=guard)

        return await self._run(f"create {name}", open_)

    async def read(self, name: str, *, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """The artifact's bytes, each chunk read in a worker thread."""
        path = self._artifact_path(name)
        try:
            fd = await asyncio.to_thread(os.open, path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise not_found(name) from None
        except OSError as exc:
            raise _stored_error(f"read {name}", exc) from exc
        try:
            while chunk := await self._run(f"read {name}", lambda: os.read(fd, chunk_size)):
                yield chunk
        finally:
            os.close(fd)

    def _stat_sync(self, path: Path, name: str) -> ArtifactInfo | None:
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return ArtifactInfo(
            name=name, size=info.st_size, modified=datetime.fromtimestamp(info.st_mtime, UTC)
        )

    async def stat(self, name: str) -> ArtifactInfo | None:
        """Size and modification time of the artifact's file; None if there is no file."""
        path = self._artifact_path(name)
        return await self._run(f"inspect {name}", lambda: self._stat_sync(path, name))

    def _manifest_path(self, name: str) -> Path:
        artifact = self._artifact_path(name)
        return artifact.with_name(manifest_name(artifact.name))

    async def write_manifest(self, name: str, manifest: Manifest) -> str:
        """Write the sidecar of artifact `name` atomically (0600); returns its name."""
        path = self._manifest_path(name)
        data = encode_manifest(manifest)
        await self._run(f"write the manifest of {name}", lambda: write_atomic(path, data))
        return manifest_name(name)

    async def read_manifest(self, name: str) -> Manifest:
        """The sidecar of artifact `name`.

        Raises:
            NotFoundError: no manifest. BackupError: unreadable or not a manifest.
        """
        path = self._manifest_path(name)
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise not_found(manifest_name(name), "manifest") from None
        except OSError as exc:
            raise _stored_error(f"read the manifest of {name}", exc) from exc
        try:
            return decode_manifest(raw)
        except msgspec.DecodeError as exc:
            raise BackupError(f"the manifest of {name} is not a Lifeboat manifest: {exc}") from None

    def _delete_sync(self, artifact: Path) -> bool:
        existed = False
        with contextlib.suppress(FileNotFoundError):
            artifact.unlink()
            existed = True
        with contextlib.suppress(FileNotFoundError):
            artifact.with_name(manifest_name(artifact.name)).unlink()
        with contextlib.suppress(OSError):
            _fsync_dir(artifact.parent)
        return existed

    async def delete(self, name: str) -> bool:
        """Remove an artifact and its manifest; returns whether the artifact existed."""
        artifact = self._artifact_path(name)
        return await self._run(f"delete {name}", lambda: self._delete_sync(artifact))

    def _leftovers_sync(self, directory: Path, file_name: str) -> list[str]:
        if not directory.is_dir():
            return []
        removed: list[str] = []
        candidates = [file_name, manifest_name(file_name)]
        candidates += [p.name for p in directory.glob(partial_names(file_name))]
        candidates += [p.name for p in directory.glob(partial_names(manifest_name(file_name)))]
        for candidate in candidates:
            with contextlib.suppress(FileNotFoundError):
                (directory / candidate).unlink()
                removed.append(candidate)
        if removed:
            with contextlib.suppress(OSError):
                _fsync_dir(directory)
        return removed

    async def remove_leftovers(self, name: str) -> list[str]:
        """Remove the artifact `name`, its manifest and any temporary file of either (what an
        earlier attempt of the same execution left); the file names removed."""
        artifact = self._artifact_path(name)
        return await self._run(
            f"remove what was left of {name}",
            lambda: self._leftovers_sync(artifact.parent, artifact.name),
        )

    def _list_sync(self, prefix: str) -> list[ArtifactInfo]:
        check_prefix(prefix)
        directory = prefix.rpartition("/")[0]
        start = self.path_of(directory) if directory else self.root.resolve()
        found: list[ArtifactInfo] = []
        root = self.root.resolve()
        for here, dirnames, filenames in os.walk(start, followlinks=False):
            # Hidden directories (uploads, downloads for restores) hold no artifacts.
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            base = Path(here).relative_to(root).as_posix()
            for file_name in filenames:
                name = file_name if base == "." else f"{base}/{file_name}"
                if name.startswith(prefix) and is_listed(name):
                    info = self._stat_sync(Path(here) / file_name, name)
                    if info is not None:
                        found.append(info)
        found.sort(key=lambda info: info.name)
        return found

    async def list_artifacts(self, prefix: str = "") -> AsyncIterator[ArtifactInfo]:
        """The artifact files whose name starts with `prefix`, in name order (one walk of
        the directory the prefix names, in a worker thread)."""
        for info in await self._run(
            f"list {prefix or 'the storage'}", lambda: self._list_sync(prefix)
        ):
            yield info
