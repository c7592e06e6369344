"""A minimal keep-alive HTTP/1.1 client for the generated Prisma Client Python's requests to its local engine.

Prisma Client Python 0.15 sends every query through httpx (httpx, httpcore, anyio, h11): about 0.5 ms of
Python per request before and after the engine's work, more than the bridge itself, and each request in two
writes (headers, then body). The generated client's sessions (acams_db/operations/generate.py patches `open()` in its
`_async_http.py` and `_sync_http.py`) send requests to the engine on 127.0.0.1 here instead: one write per
request, the answer read by Content-Length, connections kept alive and reused. Answers are real
`httpx.Response` objects, so the client's own code and errors are unchanged. Any other request (another
host, or a client configured with `Prisma(http=...)`) goes through httpx as before.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from typing import Any, Generic, TypeVar

import httpx

# Prisma Client Python asks for http://localhost:<port> (engine/_query.py); the bridge listens on 127.0.0.1.
LOOPBACK_PREFIXES = ("http://localhost:", "http://127.0.0.1:")
# The bridge closes a connection idle for 5 s (node's keepAliveTimeout): one idle this long is not reused.
MAX_IDLE_SECONDS = 4.0
HEADERS_END = b"\r\n\r\n"
# Prisma Client Python's default (http_abstract.DEFAULT_CONFIG): httpx's timeout for every phase.
DEFAULT_TIMEOUT_SECONDS = 30.0


class ConnectionClosedError(Exception):
    """The engine closed the connection before it answered."""


def is_default_config(session_kwargs: dict[str, Any]) -> bool:
    """Whether `session_kwargs` are Prisma Client Python's defaults (no `Prisma(http=...)` settings)."""
    return set(session_kwargs) == {"limits", "timeout"} and session_kwargs["timeout"] == httpx.Timeout(
        DEFAULT_TIMEOUT_SECONDS
    )


def _split(url: str) -> tuple[int, str] | None:
    """The port and the path of a loopback URL (`http://localhost:port/path`), None for any other URL."""
    prefix = next((prefix for prefix in LOOPBACK_PREFIXES if url.startswith(prefix)), None)
    if prefix is None:
        return None
    rest = url[len(prefix) :]
    slash = rest.find("/")
    port, path = (rest, "/") if slash == -1 else (rest[:slash], rest[slash:])
    return (int(port), path) if port.isdigit() else None


def _loopback_request(method: str, url: str, kwargs: dict[str, Any]) -> tuple[int, bytes] | None:
    """The engine's port and the whole request (headers and body, ready for one write) when the session sends
    it itself; None for a request that httpx sends (another URL, or options beyond content and headers)."""
    target = _split(url)
    if target is None or set(kwargs) - {"content", "headers"}:
        return None
    port, path = target
    content, headers = kwargs.get("content"), kwargs.get("headers")
    body = content.encode() if isinstance(content, str) else (content or b"")
    lines = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{port}", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Client = TypeVar("Client", httpx.Client, httpx.AsyncClient)


class _WithHttpxFallback(Generic[Client]):
    """httpx's client, opened at first use, for the requests and the interface a loopback session leaves to it."""

    def __init__(self, session_kwargs: dict[str, Any], client_class: type[Client]) -> None:
        self._session_kwargs = session_kwargs
        self._client_class: type[Client] = client_class
        self._fallback: Client | None = None

    def __getattr__(self, name: str) -> Any:
        # download()'s stream and the rest of httpx's interface.
        return getattr(self._httpx(), name)

    def _httpx(self) -> Client:
        if self._fallback is None:
            self._fallback = self._client_class(**self._session_kwargs)
        return self._fallback


class _ResponseParser:
    """An HTTP/1.1 response read from bytes as they arrive: complete once Content-Length bytes of body are in."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body_start = -1
        self.length: int | None = None
        self.keep_alive = True

    def feed(self, data: bytes) -> bool:
        """Add `data`; return whether the response is complete."""
        self.buffer += data
        if self.body_start == -1:
            end = self.buffer.find(HEADERS_END)
            if end == -1:
                return False
            self._parse_head(bytes(self.buffer[:end]).decode("latin-1"))
            self.body_start = end + len(HEADERS_END)
        return self.length is not None and len(self.buffer) - self.body_start >= self.length

    def _parse_head(self, head: str) -> None:
        status_line, *header_lines = head.split("\r\n")
        self.status = int(status_line.split(" ", 2)[1])
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            self.headers.append((name, value))
            if name == "content-length":
                self.length = int(value)
            elif name == "connection" and value.lower() == "close":
                self.keep_alive = False
            elif name == "transfer-encoding":
                # The bridge always sends Content-Length; a chunked answer would need a full HTTP parser.
                raise httpx.RemoteProtocolError(f"Unexpected Transfer-Encoding {value!r} from the engine.")
        if self.length is None:
            # Without Content-Length, the body ends with the connection (RFC 9112, 6.3).
            self.keep_alive = False

    def response(self, *, at_close: bool = False) -> httpx.Response:
        """The complete response; `at_close` when the connection's end delimits its body."""
        if (
            self.body_start == -1
            or (self.length is not None and not self.is_complete())
            or (self.length is None and not at_close)
        ):
            raise ConnectionClosedError("The engine closed the connection before its answer was complete.")
        end = len(self.buffer) if self.length is None else self.body_start + self.length
        return httpx.Response(self.status, headers=self.headers, content=bytes(self.buffer[self.body_start : end]))

    def is_complete(self) -> bool:
        return self.length is not None and len(self.buffer) - self.body_start >= self.length


class _AsyncConnection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self.parser = _ResponseParser()
        self.answer: asyncio.Future[httpx.Response] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        answer = self.answer
        if answer is None or answer.done():
            # Bytes nobody asked for: the connection is no longer usable.
            self.close()
            return
        try:
            if self.parser.feed(data):
                answer.set_result(self.parser.response())
        except Exception as error:
            answer.set_exception(error)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answer = self.answer
        if answer is not None and not answer.done():
            try:
                answer.set_result(self.parser.response(at_close=True))
            except Exception as error:
                answer.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def request(self, data: bytes, timeout: float) -> httpx.Response:
        assert self.transport is not None
        self.parser = _ResponseParser()
        answer: asyncio.Future[httpx.Response] = self.loop.create_future()
        self.answer = answer
        timer = self.loop.call_later(timeout, self._time_out, answer)
        self.transport.write(data)
        try:
            response = await answer
        finally:
            timer.cancel()
            self.answer = None
        if not self.parser.keep_alive:
            self.close()
        self.idle_since = time.monotonic()
        return response

    def _time_out(self, answer: asyncio.Future[httpx.Response]) -> None:
        if not answer.done():
            answer.set_exception(httpx.ReadTimeout("The engine did not answer in time."))
        self.close()


class AsyncLoopbackSession(_WithHttpxFallback[httpx.AsyncClient]):
    """httpx.AsyncClient's `request` for loopback URLs, over kept-alive connections; anything else to httpx."""

    def __init__(self, session_kwargs: dict[str, Any]) -> None:
        super().__init__(session_kwargs, httpx.AsyncClient)
        self._idle: list[_AsyncConnection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        loopback = _loopback_request(method, url, kwargs)
        if loopback is None:
            return await self._httpx().request(method, url, **kwargs)
        port, data = loopback
        connection, reused = await self._connection(port)
        try:
            response = await connection.request(data, DEFAULT_TIMEOUT_SECONDS)
        except ConnectionClosedError:
            if not reused or connection.parser.buffer:
                raise
            # A kept-alive connection closed by the engine as the request left: it was not read, send it again.
            connection, _ = await self._connection(port, fresh=True)
            response = await connection.request(data, DEFAULT_TIMEOUT_SECONDS)
        except BaseException:
            connection.close()
            raise
        if not connection.closed:
            self._idle.append(connection)
        return response

    async def _connection(self, port: int, *, fresh: bool = False) -> tuple[_AsyncConnection, bool]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Connections belong to the loop that opened them.
            self._idle, self._loop = [], loop
        now = time.monotonic()
        while self._idle and not fresh:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < MAX_IDLE_SECONDS:
                return connection, True
            connection.close()
        _, protocol = await loop.create_connection(lambda: _AsyncConnection(loop), "127.0.0.1", port)
        return protocol, False

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle = []
        if self._fallback is not None:
            await self._fallback.aclose()


class _SyncConnection:
    """One keep-alive connection over a blocking socket; one request at a time."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT_SECONDS)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.idle_since = time.monotonic()
        self.closed = False
        self.received_any = False

    def usable(self) -> bool:
        """Not closed, not idle too long, and nothing to read (which would be the engine's close)."""
        if self.closed or time.monotonic() - self.idle_since >= MAX_IDLE_SECONDS:
            return False
        readable, _, _ = select.select([self.socket], [], [], 0)
        return not readable

    def request(self, data: bytes) -> httpx.Response:
        parser = _ResponseParser()
        self.received_any = False
        try:
            self.socket.sendall(data)
            while True:
                chunk = self.socket.recv(65536)
                if not chunk:
                    self.close()
                    return parser.response(at_close=True)
                self.received_any = True
                if parser.feed(chunk):
                    break
        except TimeoutError as error:
            self.close()
            raise httpx.ReadTimeout("The engine did not answer in time.") from error
        except BaseException:
            self.close()
            raise
        if not parser.keep_alive:
            self.close()
        self.idle_since = time.monotonic()
        return parser.response()

    def close(self) -> None:
        self.closed = True
        self.socket.close()


class SyncLoopbackSession(_WithHttpxFallback[httpx.Client]):
    """httpx.Client's `request` for loopback URLs, over kept-alive connections; anything else to httpx."""

    def __init__(self, session_kwargs: dict[str, Any]) -> None:
        super().__init__(session_kwargs, httpx.Client)
        self._idle: list[_SyncConnection] = []
        self._lock = threading.Lock()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        loopback = _loopback_request(method, url, kwargs)
        if loopback is None:
            return self._httpx().request(method, url, **kwargs)
        port, data = loopback
        connection, reused = self._connection(port)
        try:
            response = connection.request(data)
        except (ConnectionClosedError, ConnectionResetError, BrokenPipeError):
            if not reused or connection.received_any:
                raise
            # A kept-alive connection closed by the engine as the request left: it was not read, send it again.
            connection = _SyncConnection(port)
            response = connection.request(data)
        if not connection.closed:
            with self._lock:
                self._idle.append(connection)
        return response

    def _connection(self, port: int) -> tuple[_SyncConnection, bool]:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return _SyncConnection(port), False
            if connection.usable():
                return connection, True
            connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        if self._fallback is not None:
            self._fallback.close()


def async_session(session_kwargs: dict[str, Any]) -> AsyncLoopbackSession | httpx.AsyncClient:
    """The generated asyncio client's session: loopback requests here unless `Prisma(http=...)` configures httpx."""
    return (
        AsyncLoopbackSession(session_kwargs)
        if is_default_config(session_kwargs)
        else httpx.AsyncClient(**session_kwargs)
    )


def sync_session(session_kwargs: dict[str, Any]) -> SyncLoopbackSession | httpx.Client:
    """The generated sync client's session: loopback requests here unless `Prisma(http=...)` configures httpx."""
    return SyncLoopbackSession(session_kwargs) if is_default_config(session_kwargs) else httpx.Client(**session_kwargs)
