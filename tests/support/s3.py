"""A real S3 HTTP endpoint for tests (moto in server mode), a TCP proxy to cut it off, and an
HTTP front that answers chosen requests the way a failing S3 can (rules) and forwards the
rest."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncGenerator, Callable, Generator
from typing import cast

import aiohttp
from aiohttp import web
from moto.server import ThreadedMotoServer
from yarl import URL

TEST_ACCESS_KEY = "AKIDLIFEBOATTEST"
TEST_SECRET_KEY = "lifeboat-test-secret-0123456789abcdef"


@contextlib.contextmanager
def run_moto() -> Generator[str]:
    """Start moto's S3 server on a free port of 127.0.0.1; yields its endpoint URL.

    moto keeps its state per process: servers started by one test run share buckets, so give
    every test its own bucket.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; :meth:`down` cuts every connection and refuses
    new ones until :meth:`up` (same port)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._budget: int | None = None
        self.upstream_delay = 0.0
        """Seconds to wait before forwarding each chunk of up to 64 KiB to the target: a slow
        link (0: as fast as it goes)."""
        self._cutting: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    async def up(self) -> None:
        """Listen (on the same port as before, if it was up already)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening and reset every open connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def down_after(self, upstream_bytes: int) -> None:
        """Go :meth:`down` by itself once `upstream_bytes` more bytes were sent to the target
        (an outage in the middle of an upload, at a chosen point)."""
        self._budget = upstream_bytes

    def _spend(self, n: int) -> bool:
        """Count `n` upstream bytes; False once the budget is used up (the proxy goes down)."""
        if self._budget is None:
            return True
        self._budget -= n
        if self._budget > 0:
            return True
        self._budget = None
        self._cutting = asyncio.create_task(self.down())
        return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, self._spend, self)),
            asyncio.create_task(self._pump(up_reader, writer, None, None)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._tasks.difference_update(pumps)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        spend: Callable[[int], bool] | None,
        throttled: TcpProxy | None,
    ) -> None:
        try:
            while data := await reader.read(1 << 16):
                if spend is not None and not spend(len(data)):
                    return
                if throttled is not None and throttled.upstream_delay > 0:
                    await asyncio.sleep(throttled.upstream_delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.write_eof()


COMPLETE_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message>"
    b"<RequestId>LIFEBOATTEST</RequestId><HostId>lifeboat</HostId></Error>"
)


Rule = Callable[[web.Request], web.Response | None]
"""How an :func:`s3_front` answers a request itself (a response), or None: forward it."""


def _error(status: int, code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>LIFEBOATTEST</RequestId><HostId>lifeboat</HostId></Error>"
    )
    return web.Response(status=status, content_type="application/xml", text=body)


def complete_answers_200_error(request: web.Request) -> web.Response | None:
    """Answer every CompleteMultipartUpload with ``200 OK`` and an ``<Error>`` body (a trap
    of real S3: the error comes after the status)."""
    if request.method == "POST" and "uploadId" in request.query:
        return web.Response(status=200, content_type="application/xml", body=COMPLETE_ERROR_BODY)
    return None


def refuse(method: str, *, key_suffix: str = "", query: str | None = None) -> Rule:
    """Answer ``403 AccessDenied`` to `method` requests on a key ending with `key_suffix` and,
    if `query` is given, carrying that query parameter (``tagging``, ``uploads``); without
    it, only requests with no query parameter at all (so a PUT rule spares upload parts)."""

    def rule(request: web.Request) -> web.Response | None:
        if request.method != method or not request.path.endswith(key_suffix):
            return None
        if (query in request.query) if query is not None else not request.query:
            return _error(403, "AccessDenied", f"{method} refused by the test front")
        return None

    return rule


@contextlib.asynccontextmanager
async def s3_front(target: str, rules: list[Rule]) -> AsyncGenerator[str]:
    """An HTTP front of S3 endpoint `target` that answers a request with the first of `rules`
    (read at each request: a test may change the list while the front runs) that answers it,
    and forwards every other request; yields its URL."""
    async with aiohttp.ClientSession(auto_decompress=False) as client:

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            for rule in list(rules):
                if (answer := rule(request)) is not None:
                    return answer
            headers = {
                k: v
                for k, v in request.headers.items()
                if k.lower() not in ("host", "transfer-encoding")
            }
            url = URL(f"{target}{request.raw_path}", encoded=True)
            # A file object: aiohttp warns (ResourceWarning) about large raw-bytes bodies.
            data = io.BytesIO(body) if body else body
            async with client.request(request.method, url, headers=headers, data=data) as up:
                payload = await up.read()
                hop = ("transfer-encoding", "content-length", "content-encoding", "connection")
                kept = {k: v for k, v in up.headers.items() if k.lower() not in hop}
                if request.method == "HEAD":
                    # No body, but the object's size: HeadObject reads it from here.
                    kept["Content-Length"] = up.headers.get("Content-Length", "0")
                    return web.Response(status=up.status, headers=kept)
                return web.Response(status=up.status, headers=kept, body=payload)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = cast(asyncio.base_events.Server, site._server)  # pyright: ignore[reportPrivateUsage]
        try:
            yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        finally:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def complete_fails_with_200(target: str) -> AsyncGenerator[str]:
    """An :func:`s3_front` of `target` that answers every CompleteMultipartUpload the way
    :func:`complete_answers_200_error` does; yields its URL."""
    async with s3_front(target, [complete_answers_200_error]) as url:
        yield url
