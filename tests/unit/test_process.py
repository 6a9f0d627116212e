"""Child process runner: checked exit, scrubbed stderr tail, killed on cancel."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from lifeboat.core.errors import DatabaseError
from lifeboat.engines.process import Child, run


async def test_failure_has_scrubbed_tail() -> None:
    script = "import sys\nfor i in range(60): print('line', i, 'pw=hunter22', file=sys.stderr)\nsys.exit(3)"
    with pytest.raises(DatabaseError) as info:
        await run(
            [sys.executable, "-c", script], name="tool", env=os.environ, secrets=("hunter22",)
        )
    message = info.value.message
    assert message.startswith("tool exited with status 3:")
    assert "hunter22" not in message and "pw=***" in message
    assert "line 59" in message and "line 19 " not in message  # only the tail is kept


async def test_stdin_and_stdout() -> None:
    result = await run(["cat"], name="cat", env=os.environ, input_data=b"abc")
    assert result.stdout == b"abc" and result.returncode == 0


async def test_missing_program() -> None:
    with pytest.raises(DatabaseError, match="nope not found on this executor"):
        await run(["/nonexistent/nope"], name="nope", env=os.environ)


async def test_timeout_kills() -> None:
    with pytest.raises(DatabaseError, match="did not finish"):
        await run(["sleep", "30"], name="sleep", env=os.environ, timeout=0.2)


async def test_cancel_kills_and_reaps() -> None:
    child = await Child.spawn(["sleep", "30"], name="sleep", env=os.environ)

    async def waiter() -> None:
        try:
            await child.wait()
        finally:
            await child.kill()

    task = asyncio.ensure_future(waiter())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert child.proc.returncode is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # noqa: ASYNC222  # already reaped: no zombie
