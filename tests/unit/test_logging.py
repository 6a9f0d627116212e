"""Process logging: JSON lines, context ids, scrubbed tracebacks, uvicorn through the same
handlers, and the log shipper (bounded, never blocking, never recursing)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import msgspec
import pytest

from lifeboat.core.logs import (
    EXECUTION_ID,
    REQUEST_ID,
    forget_secret,
    register_secret,
    setup_logging,
)
from lifeboat.wire.logship import LogShipper, start_shipping, stop_shipping
from lifeboat.wire.messages import ShippedLogLine

SECRET = "hunter2-canary-ZX81"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """The root logger set up as a service would, writing into a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    setup_logging("INFO", "api", fmt="json")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)  # type: ignore[arg-type]
    register_secret(SECRET)
    try:
        yield buffer
    finally:
        forget_secret(SECRET)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_service_logger_and_context_ids(console: io.StringIO) -> None:
    log = logging.getLogger("lifeboat.test")
    log.info("plain line")
    exec_token = EXECUTION_ID.set("exec-123")
    req_token = REQUEST_ID.set("req-456")
    try:
        log.warning("inside a job %s", "argument")
    finally:
        EXECUTION_ID.reset(exec_token)
        REQUEST_ID.reset(req_token)
    first, second = _lines(console)
    assert first["service"] == "api" and first["level"] == "info"
    assert first["logger"] == "lifeboat.test" and first["message"] == "plain line"
    assert "execution_id" not in first and "request_id" not in first
    assert str(first["time"]).endswith("+00:00")
    assert second["execution_id"] == "exec-123" and second["request_id"] == "req-456"
    assert second["message"] == "inside a job argument" and second["level"] == "warning"


def test_a_secret_in_an_exception_never_reaches_the_console(console: io.StringIO) -> None:
    try:
        raise RuntimeError(f"connection failed with password {SECRET}")
    except RuntimeError:
        logging.getLogger("lifeboat.test").exception("backup failed: %s", SECRET)
    text = console.getvalue()
    assert SECRET not in text
    (line,) = _lines(console)
    assert "RuntimeError: connection failed with password ***" in str(line["traceback"])
    assert line["message"] == "backup failed: ***"


def test_text_format_scrubs_tracebacks_too() -> None:
    root = logging.getLogger()
    saved = list(root.handlers)
    setup_logging("INFO", "executor", fmt="text")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)  # type: ignore[arg-type]
    register_secret(SECRET)
    try:
        try:
            raise ValueError(SECRET)
        except ValueError:
            logging.getLogger("x").exception("boom")
    finally:
        forget_secret(SECRET)
        root.handlers[:] = saved
    assert "ValueError: ***" in buffer.getvalue() and SECRET not in buffer.getvalue()
    assert " ERROR executor x: boom" in buffer.getvalue()


def test_uvicorn_loggers_go_through_the_root_handlers(console: io.StringIO) -> None:
    stray = logging.StreamHandler(io.StringIO())
    logging.getLogger("uvicorn.access").addHandler(stray)
    setup_logging("INFO", "api", fmt="json")  # what __main__ does before uvicorn starts
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(console)  # type: ignore[arg-type]
    access = logging.getLogger("uvicorn.access")
    assert access.handlers == [] and access.propagate
    access.info('%s - "GET /api/x?token=%s HTTP/1.1" 200', "127.0.0.1", SECRET)
    (line,) = _lines(console)
    assert line["logger"] == "uvicorn.access" and SECRET not in str(line["message"])


class FakeBus:
    """A publisher that records, and can be down."""

    def __init__(self) -> None:
        self.connected = True
        self.sent: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, payload: bytes) -> None:
        # Logging from inside publish must not ship again (no recursion).
        logging.getLogger("lifeboat.somewhere").error("while publishing")
        self.sent.append((subject, payload))


async def test_shipper_ships_warnings_scrubbed_and_drops_when_nats_is_down() -> None:
    shipper = start_shipping("executor", "ex-1")
    bus = FakeBus()
    task = asyncio.create_task(shipper.run(bus))
    register_secret(SECRET)
    log = logging.getLogger("lifeboat.executor.test")
    try:
        await asyncio.sleep(0)
        log.info("not shipped: below WARNING")
        token = EXECUTION_ID.set("exec-9")
        log.warning("disk almost full, key %s", SECRET)
        EXECUTION_ID.reset(token)
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert len(bus.sent) == 1
        subject, payload = bus.sent[0]
        line = msgspec.json.decode(payload, type=ShippedLogLine)
        assert subject == "lifeboat.logs.executor"
        assert line.message == "disk almost full, key ***" and line.level == "warning"
        assert line.execution_id == "exec-9" and line.instance == "ex-1"
        bus.connected = False
        log.error("lost")
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert len(bus.sent) == 1 and shipper.dropped == 1
    finally:
        forget_secret(SECRET)
        task.cancel()
        stop_shipping(shipper)


def test_emit_never_blocks_a_full_buffer_drops() -> None:
    shipper = LogShipper("scheduler", "s-1", capacity=3)
    for index in range(10):
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "line %d", (index,), None)
        shipper.handle(record)
    assert shipper.dropped == 7
