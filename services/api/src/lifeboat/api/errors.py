"""One mapping from exceptions to the SPEC §6.2 error envelope.

* :class:`lifeboat.core.errors.LifeboatError` → its own ``code`` and ``status``;
* Litestar validation errors (body, query, path) → 400 ``VALIDATION_ERROR`` with field details;
* other Litestar HTTP errors (unknown route, wrong method, malformed JSON...) → their status
  with a code named after it;
* anything else → 500 ``INTERNAL_ERROR`` with a generic message; the traceback is logged here,
  never sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from lifeboat.api.envelope import ErrorEnvelope, failure
from lifeboat.core.errors import LifeboatError
from lifeboat.core.logs import scrub

log = logging.getLogger(__name__)

_STATUS_CODES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}
_SNAKE = re.compile(r"_([a-z0-9])")


def _camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name.rstrip("_"))


def _field_details(extra: Any) -> list[dict[str, Any]] | None:
    """Litestar's ``extra`` as ``[{"field", "message", "source"}]`` with wire field names."""
    if not isinstance(extra, list):
        return None
    details: list[dict[str, Any]] = []
    for item in extra:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(item, dict):
            continue
        entry: dict[str, Any] = dict(item)  # pyright: ignore[reportUnknownArgumentType]
        key = entry.get("key")
        source = entry.get("source")
        field = _camel(key) if isinstance(key, str) and source != "body" else key
        if field == "data" and source == "body":
            field = None
        details.append({"field": field, "message": str(entry.get("message", "")), "source": source})
    return details


def _wire_fields(details: Any) -> Any:
    """`details` with every ``field`` named as on the wire (camelCase): the pure libraries
    name fields in Python (``cron_expression``), clients see ``cronExpression``."""
    if not isinstance(details, list):
        return details
    out: list[Any] = []
    for item in details:  # pyright: ignore[reportUnknownVariableType]
        if isinstance(item, dict) and isinstance(item.get("field"), str):  # pyright: ignore[reportUnknownMemberType]
            entry: dict[str, Any] = dict(item)  # pyright: ignore[reportUnknownArgumentType]
            entry["field"] = ".".join(_camel(part) for part in str(entry["field"]).split("."))
            out.append(entry)
        else:
            out.append(item)
    return out


def _respond(
    status: int, body: ErrorEnvelope, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(content=body, status_code=status, headers=headers)


def lifeboat_error_handler(request: Request[Any, Any, Any], exc: LifeboatError) -> Response[Any]:
    """Our own errors carry their code, status and details."""
    if exc.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, scrub(exc.message))
    headers: dict[str, str] | None = getattr(exc, "headers", None)  # e.g. Retry-After on 429
    return _respond(exc.status, failure(exc.code, exc.message, _wire_fields(exc.details)), headers)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's HTTP errors, validation included."""
    status = exc.status_code
    if isinstance(exc, ValidationException) or (status == 400):
        message = exc.detail
        details = _field_details(exc.extra)
        if isinstance(exc, ValidationException):
            message = "request validation failed"
            if details:
                first = details[0]
                where = f" ({first['field']})" if first.get("field") else ""
                message = f"request validation failed{where}: {first['message']}"
        return _respond(400, failure("VALIDATION_ERROR", message, details))
    if status >= 500:
        log.error("%s %s: HTTP %s %s", request.method, request.url.path, status, exc.detail)
        return _respond(status, failure("INTERNAL_ERROR", "internal server error"))
    code = _STATUS_CODES.get(status, "CLIENT_ERROR")
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    message = exc.detail or code
    if status == 404 and message == "Not Found":
        message = f"no resource at {request.url.path}"
    return _respond(status, failure(code, message), headers or None)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything unexpected: logged with its traceback, answered generically."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(500, failure("INTERNAL_ERROR", "internal server error"))


Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def exception_handlers() -> dict[int | type[Exception], Handler]:
    """The handlers to install on the app."""
    return {
        LifeboatError: lifeboat_error_handler,
        HTTPException: http_error_handler,
        Exception: internal_error_handler,
    }
