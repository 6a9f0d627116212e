"""Real notification receivers for tests: an HTTP server (signed webhooks, Apprise ``json://``)
and an SMTP server (aiosmtpd, for Apprise ``mailto://``), each on 127.0.0.1 in a thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.natsd import free_port

REPLAY_WINDOW_S = 300


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> str | None:
    """What a webhook receiver checks (the README's recipe); None if valid, else why not."""
    try:
        sent = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs((now if now is not None else time.time()) - sent) > REPLAY_WINDOW_S:
        return "timestamp outside the replay window"
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not hmac.compare_digest("sha256=" + expected.hexdigest(), signature):
        return "bad signature"
    return None


@dataclass
class HttpReceiver:
    """Requests received, and how to answer them."""

    url: str
    secret: str | None = None
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    rejected: list[str] = field(default_factory=list[str])
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies accepted so far."""
        with self.lock:
            return [r["json"] for r in self.received]


@contextmanager
def http_receiver(
    *, secret: str | None = None, fail_first: int = 0, port: int | None = None
) -> Generator[HttpReceiver]:
    """An HTTP server accepting POSTs; with `secret`, only validly signed ones (401 otherwise);
    the first `fail_first` POSTs get a 500."""
    port = port or free_port()
    receiver = HttpReceiver(url=f"http://127.0.0.1:{port}", secret=secret, fail_first=fail_first)
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                calls["n"] += 1
                failing = calls["n"] <= receiver.fail_first
            if failing:
                self.send_response(500)
                self.end_headers()
                return
            if receiver.secret is not None:
                problem = verify_signature(
                    receiver.secret,
                    self.headers.get("X-Lifeboat-Timestamp", ""),
                    body,
                    self.headers.get("X-Lifeboat-Signature", ""),
                )
                if problem is not None:
                    with receiver.lock:
                        receiver.rejected.append(problem)
                    self.send_response(401)
                    self.end_headers()
                    return
            with receiver.lock:
                receiver.received.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    """Mails received (subject, body) by a local SMTP server requiring a login."""

    port: int
    user: str
    password: str
    mails: list[dict[str, str]] = field(default_factory=list[dict[str, str]])

    def url(self, to: str = "ops@example.com") -> str:
        """The Apprise ``mailto://`` URL reaching this server without TLS."""
        return (
            f"mailto://{self.user}:{self.password}@127.0.0.1:{self.port}"
            f"?mode=insecure&from=lifeboat@example.com&to={to}"
        )


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw)
        body = ""
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                body = payload.decode() if isinstance(payload, bytes) else str(payload)
        self.receiver.mails.append({"subject": str(message.get("Subject", "")), "body": body})
        return "250 OK"


@contextmanager
def smtp_receiver(
    user: str = "lifeboat", password: str = "smtp-pass-1234"
) -> Generator[SmtpReceiver]:
    """A plain (no TLS) SMTP server on 127.0.0.1 accepting AUTH with `user`/`password`."""
    receiver = SmtpReceiver(port=free_port(), user=user, password=password)

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    controller = Controller(
        _Handler(receiver),
        hostname="127.0.0.1",
        port=receiver.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
