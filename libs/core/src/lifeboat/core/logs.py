"""Process logging with secret redaction: a registered secret never reaches a log line."""

from __future__ import annotations

import logging
import sys
import threading

# Shorter secrets are not masked: replacing "x" everywhere would garble every message while
# hiding nothing an attacker could not guess.
MIN_SECRET_LEN = 4


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
        return True


REDACTOR = _Redactor()


def scrub(text: str) -> str:
    """Replace every registered secret in `text` with ``***``."""
    return REDACTOR.scrub(text)


def register_secret(secret: str) -> None:
    """Make sure `secret` is masked in every log line from now on."""
    REDACTOR.add(secret)


def forget_secret(secret: str) -> None:
    """Stop tracking a secret (after the job that used it ended)."""
    REDACTOR.discard(secret)


def setup_logging(level: str, service: str) -> None:
    """Configure the root logger once for a service process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(REDACTOR)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
