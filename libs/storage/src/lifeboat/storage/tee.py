"""One compressed stream, several copies: :class:`TeeSink` fans the pipeline's output out.

Each chunk is handed to every live copy concurrently and the next chunk is taken only when all
of them accepted it, so memory stays bounded by what each copy buffers itself (the S3 sink's
part budget, the page cache for a local file) and the slowest copy sets the pace
(back-pressure). A copy that fails is aborted and dropped without disturbing the others: a lost
S3 connection does not cost the local file. Each copy keeps its own status and error; the tee
fails only when no copy is left, or when a copy marked ``required`` fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal

from lifeboat.core.errors import BackupError, FencedError, JobCancelledError, LifeboatError
from lifeboat.storage.sink import Sink

CopyStatus = Literal["open", "completed", "failed"]


@dataclass
class Copy:
    """One destination of a :class:`TeeSink` and how it fared."""

    name: str
    sink: Sink
    required: bool = False
    status: CopyStatus = "open"
    error: str | None = None
    error_code: str | None = None
    aborted: bool = field(default=False, repr=False)
    """Whether the sink's ``abort`` was called."""

    @property
    def ok(self) -> bool:
        """Whether this copy was committed."""
        return self.status == "completed"


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, LifeboatError):
        return exc.message, exc.code
    return f"{type(exc).__name__}: {exc}", "INTERNAL_ERROR"


class TeeSink:
    """Writes one stream to several sinks; see the module docstring.

    Raises (from :meth:`write` and :meth:`commit`):
        BackupError: every copy failed, or a required copy failed.
    """

    def __init__(self, copies: list[Copy]) -> None:
        if not copies:
            raise ValueError("a tee needs at least one copy")
        names = [c.name for c in copies]
        if len(set(names)) != len(names):
            raise ValueError("copy names must be unique")
        self.copies = copies

    def copy(self, name: str) -> Copy:
        """The copy called `name` (KeyError if none)."""
        for c in self.copies:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def live(self) -> list[Copy]:
        """Copies still being written."""
        return [c for c in self.copies if c.status == "open"]

    async def _fail(self, c: Copy, exc: BaseException) -> None:
        c.status = "failed"
        c.error, c.error_code = _describe(exc)
        await self._abort_one(c)

    async def _abort_one(self, c: Copy) -> None:
        if not c.aborted:
            c.aborted = True
            with contextlib.suppress(Exception):
                await c.sink.abort()

    def _check(self) -> None:
        failed_required = [c for c in self.copies if c.required and c.status == "failed"]
        if failed_required:
            c = failed_required[0]
            raise BackupError(f"the {c.name} copy failed: {c.error}")
        if not any(c.status != "failed" for c in self.copies):
            summary = "; ".join(f"{c.name}: {c.error}" for c in self.copies)
            raise BackupError(f"every copy failed ({summary})")

    async def _each(self, targets: list[Copy], op: str, *, size: int = 0, sha256: str = "") -> None:
        async def run(c: Copy) -> None:
            if op == "commit":
                await c.sink.commit(size=size, sha256=sha256)
                c.status = "completed"
            else:
                await c.sink.write(self._chunk)

        results = await asyncio.gather(*(run(c) for c in targets), return_exceptions=True)
        for result in results:
            if isinstance(result, FencedError | JobCancelledError):
                # Not a failure of one copy: the whole backup must stop and leave nothing.
                for c in self.copies:
                    c.status = "failed"
                    c.error, c.error_code = _describe(result)
                    await self._abort_one(c)
                raise result
        for c, result in zip(targets, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                await self._fail(c, result)
        self._check()

    _chunk: bytes = b""

    async def write(self, chunk: bytes) -> None:
        """Hand `chunk` to every live copy at once; wait until all took it."""
        live = self.live
        if len(live) == 1:
            try:
                await live[0].sink.write(chunk)
            except Exception as exc:
                await self._fail(live[0], exc)
                self._check()
            return
        self._chunk = chunk
        try:
            await self._each(live, "write")
        finally:
            self._chunk = b""

    async def commit(self, *, size: int, sha256: str) -> None:
        """Commit every live copy (concurrently); succeeds if at least one did (and no
        required copy failed)."""
        await self._each(self.live, "commit", size=size, sha256=sha256)

    async def abort(self) -> None:
        """Abort every copy that is not completed (never raises).

        Completed copies stay: the caller decides (e.g. a manifest that could not be written).
        """
        for c in self.copies:
            if c.status != "completed":
                if c.status == "open":
                    c.status = "failed"
                    c.error = c.error or "aborted"
                await self._abort_one(c)
