"""Child processes: explicit argv, checked exit status, scrubbed stderr tail, never a zombie."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lifeboat.core.errors import DatabaseError, OperationError
from lifeboat.core.logs import MIN_SECRET_LEN, scrub

STDERR_TAIL_LINES = 40
_MAX_LINE_CHARS = 2000
_STREAM_LIMIT = 1 << 20


def scrub_text(text: str, secrets: Sequence[str]) -> str:
    """`text` with every registered secret and every string of `secrets` replaced by ``***``."""
    text = scrub(text)
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LEN:
            text = text.replace(secret, "***")
    return text


class StderrTail:
    """The last lines a child wrote to stderr, scrubbed of secrets as they arrive."""

    def __init__(self, secrets: Sequence[str], max_lines: int = STDERR_TAIL_LINES) -> None:
        self._secrets = tuple(secrets)
        self._lines: deque[str] = deque(maxlen=max_lines)

    def add(self, raw: bytes) -> None:
        """Record one raw line."""
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if text.strip():
            self._lines.append(scrub_text(text[:_MAX_LINE_CHARS], self._secrets))

    async def consume(self, stream: asyncio.StreamReader) -> None:
        """Read `stream` to its end, keeping the tail."""
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over the stream limit: keep its beginning
                raw = await stream.read(_STREAM_LIMIT)
            if not raw:
                return
            self.add(raw)

    @property
    def lines(self) -> list[str]:
        """The kept lines, oldest first."""
        return list(self._lines)

    def text(self) -> str:
        """The kept lines joined with newlines."""
        return "\n".join(self._lines)


class Child:
    """A running client tool whose stderr is drained into a :class:`StderrTail`."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, tail: StderrTail) -> None:
        self.name = name
        self.proc = proc
        self.tail = tail
        assert proc.stderr is not None
        self._stderr_task = asyncio.ensure_future(tail.consume(proc.stderr))

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str],
        stdin: int | None = asyncio.subprocess.DEVNULL,
        stdout: int | None = asyncio.subprocess.DEVNULL,
        secrets: Sequence[str] = (),
    ) -> Child:
        """Start `argv` (no shell) in its own session so it can be killed as a group.

        Raises:
            DatabaseError: the program cannot be started (not found, not executable).
        """
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=stdin,
                stdout=stdout,
                stderr=asyncio.subprocess.PIPE,
                env=dict(env),
                start_new_session=True,
                limit=_STREAM_LIMIT,
            )
        except FileNotFoundError as exc:
            raise DatabaseError(f"{name} not found on this executor") from exc
        except PermissionError as exc:
            raise DatabaseError(f"{name} cannot be executed on this executor: {exc}") from exc
        return cls(name, proc, StderrTail(secrets))

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    async def wait(self) -> int:
        """Wait for exit and for stderr to be fully read; returns the exit status."""
        code = await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._stderr_task
        return code

    async def kill(self) -> None:
        """Kill the child (and its process group) if it still runs, then reap it."""
        if self.proc.returncode is None:
            # The pid is still ours until reaped, so signalling its group is safe.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        # Shielded: a second cancellation must not leave a zombie behind.
        await asyncio.shield(self.proc.wait())
        self._stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._stderr_task

    def failure(self, code: int) -> str:
        """A one-paragraph description of a failed exit, with the stderr tail."""
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        tail = self.tail.text()
        return f"{self.name} {how}" + (f":\n{tail}" if tail else " (no error output)")


@dataclass(frozen=True, slots=True)
class RunResult:
    """Outcome of :func:`run`."""

    returncode: int
    stdout: bytes
    stderr_tail: list[str]


async def run(
    argv: Sequence[str],
    *,
    name: str,
    env: Mapping[str, str],
    input_data: bytes | None = None,
    timeout: float | None = None,
    secrets: Sequence[str] = (),
    error: type[OperationError] = DatabaseError,
    check: bool = True,
) -> RunResult:
    """Run a short command to completion, feeding `input_data` on stdin and keeping stdout.

    For small outputs only (probes, admin SQL); dumps go through the pipeline instead.

    Raises:
        OperationError: (of class `error`) on timeout, or on a non-zero exit when `check`.
    """
    child = await Child.spawn(
        argv,
        name=name,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        secrets=secrets,
    )
    proc = child.proc
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    async def feed() -> None:
        # The child may exit before reading everything (e.g. a refused login): not our error.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if input_data:
                stdin.write(input_data)
                await stdin.drain()
            stdin.close()

    try:
        async with asyncio.timeout(timeout):
            _, out = await asyncio.gather(feed(), stdout.read())
            code = await child.wait()
    except TimeoutError:
        await child.kill()
        raise error(f"{name} did not finish within {timeout:g}s") from None
    finally:
        await child.kill()
    if check and code != 0:
        raise error(child.failure(code))
    return RunResult(code, out, child.tail.lines)
