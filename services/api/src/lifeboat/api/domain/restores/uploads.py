"""Receiving a file to restore (POST /api/restores/upload), streamed to disk.

The multipart body is parsed as it arrives, never held in memory: the ``file`` part goes
straight to ``<BACKUP_STORAGE_PATH>/.uploads/<restore id>.part`` (0600 in a 0700 directory; the
name is generated, the client's file name never becomes part of a path), hashed on the way, and
is renamed ``<restore id>.upload`` once complete. Executors share the local storage with the API
(as for restoring a local backup), so the restore job names it relative to the storage root.

Lifetime of an uploaded file:

* a refused request (bad form, too large, no confirmation, conflict...) → removed before the
  answer;
* a queued restore → the executor removes it when the job ends, success or failure
  (``RestoreJob.uploaded``); a job the API could not queue → removed by the API at once;
* anything left behind (a process killed at the wrong moment, an older executor) → swept at the
  start of the next upload (:func:`sweep`): a ``.upload`` whose restore ended, or that no
  restore owns after an hour; a ``.part`` nobody wrote to for an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import msgspec
import multipart  # litestar's own multipart parser (a dependency of litestar)
from litestar import Request
from litestar.exceptions import HTTPException
from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import TERMINAL_STATUSES, RestoreExecution
from lifeboat.api.domain.restores.schemas import RestoreOptionsIn
from lifeboat.core.errors import PayloadTooLargeError, ValidationError
from lifeboat.core.naming import Compression, Engine
from lifeboat.engines.registry import ENGINE_NAMES
from lifeboat.storage.local import write_all
from lifeboat.wire.messages import UPLOADS_DIR

log = logging.getLogger(__name__)

FILE_PART = "file"
MANIFEST_PART = "manifest"
TEXT_PARTS = frozenset({"databaseId", "options", "engine", "compression", "confirmUnverified"})
MAX_TEXT_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024
FORM_SLACK = 4 * 1024 * 1024
"""What the request may hold beyond the file: the other parts and the multipart framing."""
WRITE_BATCH = 1024 * 1024
STALE_SECONDS = 3600.0
_UPLOAD_NAME = re.compile(r"^([0-9a-f-]{36})\.(upload|part)$")

Precheck = Callable[[dict[str, str]], Awaitable[None]]


@dataclass(kw_only=True)
class Received:
    """A parsed upload form; the file (if any) is on disk at ``path``."""

    fields: dict[str, str] = field(default_factory=dict[str, str])
    manifest: bytes | None = None
    path: Path | None = None
    relative: str | None = None
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    """The file's first bytes, to recognise its compression."""
    filename: str | None = None
    """The client's name for the file: only its suffixes are ever read."""

    def discard(self) -> None:
        """Remove the uploaded file (idempotent)."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)


def uploads_dir(ctx: ApiContext) -> Path:
    """``<storage>/.uploads``, created 0700 (the storage root too) if missing."""
    root = ctx.settings.backup_storage_path
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory = root / UPLOADS_DIR
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    return directory


def upload_relative(restore_id: str) -> str:
    """Where the upload of restore `restore_id` lives, relative to the storage root."""
    return f"{UPLOADS_DIR}/{restore_id}.upload"


def remove_upload(ctx: ApiContext, restore_id: str) -> None:
    """Remove the upload of `restore_id` (and a partial one), if there."""
    directory = ctx.settings.backup_storage_path / UPLOADS_DIR
    for suffix in ("upload", "part"):
        with contextlib.suppress(OSError):
            (directory / f"{restore_id}.{suffix}").unlink(missing_ok=True)


async def sweep(ctx: ApiContext) -> int:
    """Remove uploads no restore will read any more (see the module docstring); never raises."""
    try:
        directory = uploads_dir(ctx)
        found: list[tuple[Path, str, str, float]] = []
        now = time.time()
        for entry in await asyncio.to_thread(lambda: list(os.scandir(directory))):
            match = _UPLOAD_NAME.match(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            found.append((Path(entry.path), match.group(1), match.group(2), age))
        if not found:
            return 0
        ids = {restore_id for _, restore_id, kind, _ in found if kind == "upload"}
        async with ctx.db.read() as session:
            rows = (
                await session.execute(
                    select(RestoreExecution.id, RestoreExecution.status).where(
                        RestoreExecution.id.in_(ids)
                    )
                )
            ).all()
        status = {restore_id: state for restore_id, state in rows}
        removed = 0
        for path, restore_id, kind, age in found:
            state = status.get(restore_id) if kind == "upload" else None
            if (state in TERMINAL_STATUSES) or (state is None and age > STALE_SECONDS):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        if removed:
            log.info("removed %d leftover uploaded file(s)", removed)
        return removed
    except Exception:
        log.exception("sweeping leftover uploads failed")
        return 0


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the file is larger than the upload limit of {limit} bytes (MAX_UPLOAD_BYTES)",
        details={"maxUploadBytes": limit},
    )


def _bad_form(message: str, field_name: str | None = None) -> ValidationError:
    details = [{"field": field_name, "message": message}] if field_name else None
    return ValidationError(message, details=details)


def _write(fd: int, digest: Any, data: bytes) -> None:
    digest.update(data)
    write_all(fd, data)


class _Receiver:
    """One upload's parsing state (parser events in, file and fields out)."""

    def __init__(self, ctx: ApiContext, restore_id: str, precheck: Precheck) -> None:
        self.ctx = ctx
        self.limit = ctx.settings.max_upload_bytes
        self.restore_id = restore_id
        self.precheck = precheck
        self.out = Received()
        self.part: str | None = None
        self.text = bytearray()
        self.fd: int | None = None
        self.digest: Any = hashlib.sha256()
        self.batch = bytearray()
        self.part_path = uploads_dir(ctx) / f"{restore_id}.part"
        self.seen: set[str] = set()

    async def start(self, segment: Any) -> None:
        name: str = str(segment.name or "")
        if name != FILE_PART and name != MANIFEST_PART and name not in TEXT_PARTS:
            raise _bad_form(f"unknown form field {name[:64]!r}", name[:64] or None)
        if name in self.seen:
            raise _bad_form(f"the form field {name} is given twice", name)
        self.seen.add(name)
        self.part = name
        self.text = bytearray()
        if name == FILE_PART:
            await self.precheck(self.out.fields)
            filename = segment.filename
            self.out.filename = str(filename)[:255] if filename else None
            self.out.path = self.part_path
            self.fd = os.open(
                self.part_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600
            )

    async def data(self, chunk: bytes) -> None:
        if self.part == FILE_PART:
            self.out.size += len(chunk)
            if self.out.size > self.limit:
                raise _too_large(self.limit)
            if len(self.out.head) < 16:
                self.out.head += chunk[: 16 - len(self.out.head)]
            self.batch += chunk
            if len(self.batch) >= WRITE_BATCH:
                await self._flush()
            return
        cap = MAX_MANIFEST_BYTES if self.part == MANIFEST_PART else MAX_TEXT_BYTES
        self.text += chunk
        if len(self.text) > cap:
            raise _bad_form(f"the form field {self.part} is longer than {cap} bytes", self.part)

    async def end(self) -> None:
        if self.part == FILE_PART:
            await self._flush()
            assert self.fd is not None
            await asyncio.to_thread(os.fsync, self.fd)
            os.close(self.fd)
            self.fd = None
            self.out.sha256 = self.digest.hexdigest()
        elif self.part == MANIFEST_PART:
            self.out.manifest = bytes(self.text)
        elif self.part is not None:
            try:
                self.out.fields[self.part] = self.text.decode()
            except UnicodeDecodeError:
                raise _bad_form(f"the form field {self.part} is not UTF-8", self.part) from None
        self.part = None

    async def _flush(self) -> None:
        if self.batch and self.fd is not None:
            data, self.batch = bytes(self.batch), bytearray()
            await asyncio.to_thread(_write, self.fd, self.digest, data)

    def finish(self) -> Received:
        if self.out.path is not None:
            final = self.part_path.with_name(f"{self.restore_id}.upload")
            os.replace(self.part_path, final)
            self.out.path = final
            self.out.relative = upload_relative(self.restore_id)
        return self.out

    def abort(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        self.out.discard()


def _boundary(request: Request[Any, Any, Any]) -> str:
    raw = request.headers.get("content-type", "")
    kind, params = cast("tuple[str, dict[str, str]]", multipart.parse_options_header(raw))
    boundary = params.get("boundary")
    if kind != "multipart/form-data" or not boundary:
        raise ValidationError(
            "send the file as multipart/form-data (Content-Type with a boundary)",
            details=[{"field": "Content-Type", "message": "must be multipart/form-data"}],
        )
    return str(boundary)


def _check_room(ctx: ApiContext, request: Request[Any, Any, Any]) -> None:
    limit = ctx.settings.max_upload_bytes
    try:
        announced = int(request.headers.get("content-length", "-1"))
    except ValueError:
        announced = -1
    if announced > limit + FORM_SLACK:
        raise _too_large(limit)
    if announced > 0:
        free = shutil.disk_usage(uploads_dir(ctx)).free
        if free - announced < ctx.settings.min_free_disk_bytes:
            raise PayloadTooLargeError(
                f"not enough free disk space for an upload of {announced} bytes"
                f" ({free} bytes free, MIN_FREE_DISK_BYTES {ctx.settings.min_free_disk_bytes})",
                details={"freeBytes": free},
            )


async def receive(
    ctx: ApiContext, request: Request[Any, Any, Any], restore_id: str, *, precheck: Precheck
) -> Received:
    """Parse the upload form of `request`, streaming its ``file`` part to disk.

    `precheck` gets the text fields received before the file starts (the UI sends them first)
    so that a request bound to fail is refused before gigabytes are written.

    Raises:
        ValidationError: not a well-formed form of the known parts.
        PayloadTooLargeError: the file is larger than MAX_UPLOAD_BYTES, or the disk too full.
    """
    boundary = _boundary(request)
    _check_room(ctx, request)
    receiver = _Receiver(ctx, restore_id, precheck)
    parser: Any = multipart.PushMultipartParser(
        boundary, max_header_size=8192, max_header_count=8, max_segment_count=16
    )
    total = 0
    cap = ctx.settings.max_upload_bytes + FORM_SLACK
    try:
        try:
            async for chunk in request.stream():
                total += len(chunk)
                if total > cap:
                    raise _too_large(ctx.settings.max_upload_bytes)
                for event in parser.parse(chunk):
                    if event is None:
                        await receiver.end()
                    elif isinstance(event, bytes | bytearray):
                        await receiver.data(bytes(event))
                    else:
                        await receiver.start(event)
                if parser.closed:
                    break
        except multipart.MultipartError as exc:
            raise ValidationError(f"the multipart form is malformed: {exc}") from None
        except HTTPException as exc:  # the client went away mid-upload
            raise ValidationError(f"the upload was interrupted: {exc.detail}") from None
        if not parser.closed:
            raise ValidationError("the multipart form ended early")
        return receiver.finish()
    except BaseException:
        receiver.abort()
        raise


@dataclass(frozen=True, kw_only=True)
class UploadForm:
    """The text fields of an upload form, validated."""

    database_id: str
    options: RestoreOptionsIn
    engine: Engine | None
    compression: Compression | None
    confirm_unverified: bool


_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no", ""})


def _choice(fields: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise _bad_form(f"{name} must be one of {', '.join(allowed)}", name)
    return value


def parse_form(received: Received) -> UploadForm:
    """The fields of `received`, validated (the file itself is checked by the caller).

    Raises:
        ValidationError: a missing or invalid field, or no file.
    """
    fields = received.fields
    database_id = fields.get("databaseId", "").strip()
    if not database_id or len(database_id) > 64:
        raise _bad_form("databaseId is required (the database to restore into)", "databaseId")
    try:
        options = msgspec.json.decode(fields.get("options") or "{}", type=RestoreOptionsIn)
    except msgspec.ValidationError as exc:
        raise _bad_form(f"options: {exc}", "options") from None
    except msgspec.DecodeError:
        raise _bad_form("options must be a JSON object", "options") from None
    confirm = fields.get("confirmUnverified", "").strip().lower()
    if confirm not in _TRUE and confirm not in _FALSE:
        raise _bad_form("confirmUnverified must be true or false", "confirmUnverified")
    if received.path is None:
        raise _bad_form("the form has no file part", FILE_PART)
    if received.size == 0:
        raise _bad_form("the uploaded file is empty", FILE_PART)
    return UploadForm(
        database_id=database_id,
        options=options,
        engine=cast("Engine | None", _choice(fields, "engine", ENGINE_NAMES)),
        compression=cast("Compression | None", _choice(fields, "compression", ("zstd", "gzip"))),
        confirm_unverified=confirm in _TRUE,
    )
