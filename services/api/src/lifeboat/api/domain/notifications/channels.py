"""Event names, and what a channel URL is: validation, masking, and the secrets it holds.

Two kinds of channel:

* ``apprise``: any URL Apprise understands (``slack://``, ``discord://``, ``ntfy://``,
  ``mailto://``, ``json://``...). Checked by letting Apprise parse it.
* ``webhook``: Lifeboat's own signed webhook, an ``https://`` (or ``http://``) URL receiving a
  JSON body with ``X-Lifeboat-Timestamp`` and ``X-Lifeboat-Signature`` (see the README).
"""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

import apprise

from lifeboat.core.errors import ValidationError
from lifeboat.core.logs import register_secret

# Apprise logs through the "apprise" logger; its lines may quote a URL's tokens. They never reach
# the process handlers: the sender captures them per send and stores them scrubbed.
logging.getLogger("apprise").propagate = False


@functools.cache
def load_apprise() -> None:
    """Load Apprise's service plugins once (it loads them lazily on first use; some of them
    import deprecated standard modules, whose warnings are not ours to act on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost", suppress_exceptions=True)


EventName = Literal[
    "backup.failed",
    "backup.completed",
    "restore.failed",
    "restore.completed",
    "s3.failed",
    "schedule.missed",
    "retention.deleted",
    "verification.failed",
    "disk.low",
    "executor.missing",
    "backup.overdue",
    "backup.overdue.cleared",
    "test",
]
EVENTS: tuple[str, ...] = (
    "backup.failed",
    "backup.completed",
    "restore.failed",
    "restore.completed",
    "s3.failed",
    "schedule.missed",
    "retention.deleted",
    "verification.failed",
    "disk.low",
    "executor.missing",
    "backup.overdue",
    "backup.overdue.cleared",
)
"""Every event a channel may subscribe to (``test`` is sent by the test action only)."""

ChannelKind = Literal["apprise", "webhook"]
_MIN_SECRET_PART = 8
MASK = "****"


def severity(event: str) -> Literal["info", "success", "warning", "failure"]:
    """How bad `event` is (Apprise's notify type, and ``severity`` in a webhook body)."""
    if event.endswith(".failed") or event in ("backup.overdue", "executor.missing"):
        return "failure"
    if event in ("disk.low", "schedule.missed"):
        return "warning"
    if event.endswith(".completed") or event.endswith(".cleared"):
        return "success"
    return "info"


def check_events(events: list[str]) -> list[str]:
    """The events, deduplicated in order; ValidationError naming the unknown ones."""
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError(
            f"unknown event(s): {', '.join(unknown)}",
            details=[{"field": "events", "message": f"not one of {', '.join(EVENTS)}"}],
        )
    return list(dict.fromkeys(events))


def check_url(kind: ChannelKind, url: str) -> None:
    """Refuse a URL the channel kind cannot send to (ValidationError on field ``url``)."""
    if kind == "webhook":
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises on a port that is not a number in range
        except ValueError:
            raise _bad_url("not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_url("a webhook URL must be http:// or https:// with a host")
        return
    load_apprise()
    if "://" not in url or apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise _bad_url("Apprise cannot use this URL (see the Apprise wiki for its services)")


def _bad_url(message: str) -> ValidationError:
    return ValidationError(f"url: {message}", details=[{"field": "url", "message": message}])


def masked(kind: ChannelKind, url: str) -> str:
    """What the API shows of a stored URL: its scheme (and a webhook's host), nothing secret."""
    try:
        parts = urlsplit(url)
        port_number = parts.port
    except ValueError:
        return MASK
    if kind == "webhook" and parts.hostname:
        port = f":{port_number}" if port_number else ""
        return f"{parts.scheme}://{parts.hostname}{port}/{MASK}"
    return f"{parts.scheme}://{MASK}"


def secret_parts(url: str) -> list[str]:
    """The parts of `url` that may be credentials: the URL, its password, long path segments
    and query values (Apprise services put tokens there)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return [url]
    found = [url]
    if password:
        found.append(password)
    found.extend(p for p in parts.path.split("/") if len(p) >= _MIN_SECRET_PART)
    found.extend(v for _, v in parse_qsl(parts.query) if len(v) >= _MIN_SECRET_PART)
    if parts.username and len(parts.username) >= _MIN_SECRET_PART:
        found.append(parts.username)
    return found


def protect(url: str, secret: str) -> None:
    """Register a channel's URL and secret with the log redaction filter."""
    for part in secret_parts(url):
        register_secret(part)
    if secret:
        register_secret(secret)
