"""Process logging with secret redaction: a registered secret never reaches a log line.

Every handler of a service process gets the same two filters: :data:`REDACTOR` masks registered
secrets in the message *and* in the traceback, and the context filter stamps each record with
the service name and the execution and request ids of the code that logged it (context
variables: :data:`EXECUTION_ID`, :data:`REQUEST_ID`). ``LOG_FORMAT=json`` writes one JSON
object per line (see :class:`JsonFormatter`); uvicorn's loggers go through the same handlers.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Shorter secrets are not masked: replacing "x" everywhere would garble every message while
# hiding nothing an attacker could not guess.
MIN_SECRET_LEN = 4

LOG_FORMATS = ("text", "json")

EXECUTION_ID: ContextVar[str | None] = ContextVar("lifeboat_execution_id", default=None)
"""The backup or restore the current task works on (set by the executor per job)."""
REQUEST_ID: ContextVar[str | None] = ContextVar("lifeboat_request_id", default=None)
"""The HTTP request the current task serves (set by the API per request)."""

# Loggers uvicorn writes to; they propagate to the root logger's (filtered) handlers.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

_formatter = logging.Formatter()


class _Redactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(secret)

    def discard(self, secret: str) -> None:
        with self._lock:
            self._secrets.discard(secret)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        # Formatters reuse ``exc_text`` once set: render the traceback here, scrubbed, so no
        # handler formats the raw exception (whose message may quote a secret).
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


REDACTOR = _Redactor()


class _Context(logging.Filter):
    """Stamp records with the service and the current execution and request ids."""

    def __init__(self) -> None:
        super().__init__()
        self.service = "lifeboat"

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "service"):
            record.service = self.service
        if getattr(record, "execution_id", None) is None:
            record.execution_id = EXECUTION_ID.get()
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


CONTEXT = _Context()


def scrub(text: str) -> str:
    """Replace every registered secret in `text` with ``***``."""
    return REDACTOR.scrub(text)


def register_secret(secret: str) -> None:
    """Make sure `secret` is masked in every log line from now on."""
    REDACTOR.add(secret)


def forget_secret(secret: str) -> None:
    """Stop tracking a secret (after the job that used it ended)."""
    REDACTOR.discard(secret)


_NAMED = {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL}


def level_name(levelno: int) -> str:
    """The lowercase name Lifeboat uses for a level (``debug`` ... ``critical``)."""
    if levelno in _NAMED:
        return logging.getLevelName(levelno).lower()
    return "critical" if levelno > logging.CRITICAL else "info"


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A filtered record as plain fields: time, level, service, logger, message, ids, traceback.

    Call it on a record that went through :data:`REDACTOR` (any handler set up by
    :func:`setup_logging` or :func:`attach`): the message and traceback are then scrubbed.
    """
    fields: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": level_name(record.levelno),
        "service": getattr(record, "service", CONTEXT.service),
        "logger": record.name,
        "message": record.getMessage(),
    }
    for key in ("execution_id", "request_id"):
        value = getattr(record, key, None)
        if value is not None:
            fields[key] = str(value)
    if record.exc_text:
        fields["traceback"] = record.exc_text
    if record.stack_info:
        fields["stack"] = record.stack_info
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``LOG_FORMAT=json``); keys as in :func:`record_fields`."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single-line JSON object."""
        if record.exc_info and not record.exc_text:
            record.exc_text = REDACTOR.scrub(self.formatException(record.exc_info))
        return json.dumps(record_fields(record), ensure_ascii=False, default=str)


def attach(handler: logging.Handler, logger: logging.Logger | None = None) -> None:
    """Add `handler` to `logger` (the root logger by default) behind the context and
    redaction filters, so it sees what the console sees: ids stamped, secrets masked."""
    handler.addFilter(CONTEXT)
    handler.addFilter(REDACTOR)
    (logger or logging.getLogger()).addHandler(handler)


def formatter_for(fmt: str, service: str) -> logging.Formatter:
    """The console formatter of ``LOG_FORMAT`` `fmt` (``text`` or ``json``)."""
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")


def setup_logging(level: str, service: str, *, fmt: str | None = None) -> None:
    """Configure the root logger once for a service process.

    `fmt` is ``text`` (the default) or ``json``; None reads ``LOG_FORMAT`` from the
    environment. uvicorn's loggers lose their own handlers and propagate to the root's, so
    access and error lines are filtered (and formatted) like every other line.
    """
    chosen = (fmt if fmt is not None else os.environ.get("LOG_FORMAT", "text")).strip().lower()
    CONTEXT.service = service
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CONTEXT)
    handler.addFilter(REDACTOR)
    handler.setFormatter(formatter_for(chosen if chosen in LOG_FORMATS else "text", service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        # A dictConfig run before (uvicorn's own, a library's) may have disabled or filtered it.
        uvicorn_logger.disabled = False
        uvicorn_logger.setLevel(logging.NOTSET)
    if chosen not in LOG_FORMATS:
        logging.getLogger(__name__).warning(
            "LOG_FORMAT must be one of %s, not %r: using text", list(LOG_FORMATS), chosen
        )
