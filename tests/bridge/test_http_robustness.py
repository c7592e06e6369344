"""The bridge fuzzed while Prisma Client Python keeps querying through it.

Raw sockets send malformed request lines, targets, methods, headers and
bodies, non-HTTP bytes, oversized bodies, slow and pipelined requests and many
connections at once to the bridge that Prisma Client Python started; every
malformed request is answered 4xx with JSON (or its connection closed, for
bytes node's parser cannot answer on), and the client's queries all succeed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psutil
import pytest

# The fuzzed bridge's body limit (ACAMS_BRIDGE_MAX_BODY_BYTES), small so that over-limit bodies are cheap to send.
LIMIT = 1024 * 1024
FIND_MANY = "query {\n  result: findManyAuthor\n  {\n    id\n  }\n}"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse_replies(data: bytes) -> list[Reply]:
    """The HTTP responses in `data`, in order (all of them carry Content-Length)."""
    replies = []
    while data:
        head, separator, rest = data.partition(b"\r\n\r\n")
        if not separator:
            break
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        replies.append(Reply(int(status_line.split()[1]), headers, rest[:length]))
        data = rest[length:]
    return replies


def exchange(port: int, data: bytes, *, timeout: float = 15.0, half_close: bool = False) -> list[Reply]:
    """Send `data` on a new connection, read until the bridge closes it; the responses received."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
        except OSError:  # the bridge may close before reading everything (a reset); what it sent is read below
            pass
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError(f"the connection stayed open after {timeout} s; received {received[:200]!r}")
    return parse_replies(received)


def request(method: str, target: str, body: bytes = b"", *, headers: str = "") -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}{length}Connection: close\r\n\r\n"
    return head.encode() + body


def query(text: str) -> bytes:
    return request("POST", "/", json.dumps({"query": text, "variables": {}}).encode())


def chunked(body: bytes, chunk_size: int = 65536) -> Iterator[bytes]:
    yield b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    for start in range(0, len(body), chunk_size):
        part = body[start : start + chunk_size]
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
    yield b"0\r\n\r\n"


TLS_CLIENT_HELLO = bytes.fromhex("16030100c4010000c00303") + bytes(range(32)) + b"\x00\x00\x02\x13\x01\x01\x00" * 4

# (what is sent, the status expected): each on its own connection.
MALFORMED: dict[str, tuple[bytes, int]] = {
    "a target that new URL() rejects": (request("GET", "//"), 404),
    "an unknown path": (request("GET", "/nothing/here"), 404),
    "the asterisk target": (request("OPTIONS", "*"), 400),
    "a target without a leading slash": (request("GET", "status"), 400),
    "bad percent-encoding in the path": (request("GET", "/%zz%"), 404),
    "a target beyond 8 KiB": (request("GET", "/" + "a" * 9000), 414),
    "request line and headers beyond 16 KiB": (request("GET", "/status", headers=f"X-Big: {'a' * 20000}\r\n"), 431),
    "a header without a colon": (b"GET /status HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n", 400),
    "a header name with a space": (b"GET /status HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
    "bare line feeds": (b"GET /status HTTP/1.1\nHost: x\n\n", 400),
    "a NUL in the target": (b"GET /st\x00atus HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "an unknown HTTP version": (b"GET /status HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    "an invalid method": (b"FROB / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "a lower-case method": (b"get /status HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "a method the route does not take": (request("DELETE", "/status"), 405),
    "GET on the query route": (request("GET", "/"), 405),
    "CONNECT": (b"CONNECT 127.0.0.1:5432 HTTP/1.1\r\nHost: 127.0.0.1:5432\r\n\r\n", 405),
    "the HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    "a TLS ClientHello": (TLS_CLIENT_HELLO, 400),
    "binary garbage": (bytes(range(256)) * 4, 400),
    "a negative Content-Length": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    "two Content-Lengths": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400),
    "Content-Length with chunked": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "a bad chunk size": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),
    "a chunk longer than its size": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx\r\n0\r\n\r\n",
        400,
    ),
    "a body longer than its Content-Length": (request("POST", "/", b"{")[:-1] + b"{}garbage after", 400),
    "no body": (request("POST", "/"), 400),
    "invalid JSON": (request("POST", "/", b'{"query": '), 400),
    "JSON with trailing bytes": (request("POST", "/", b'{"query": "x"} x'), 400),
    "a JSON array": (request("POST", "/", b"[]"), 400),
    "a JSON string": (request("POST", "/", b'"query"'), 400),
    "a query that is not a string": (request("POST", "/", b'{"query": {"a": 1}}'), 400),
    "a batch that is not a list": (request("POST", "/", b'{"batch": {"query": "x"}}'), 400),
    "a batch of numbers": (request("POST", "/", b'{"batch": [1, 2]}'), 400),
    "a batch transaction flag that is not a boolean": (
        request("POST", "/", json.dumps({"batch": [{"query": FIND_MANY}], "transaction": "yes"}).encode()),
        400,
    ),
    "deeply nested JSON": (request("POST", "/", b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), 400),
    "malformed GraphQL": (query("query { result: findManyAuthor( { id } }"), 400),
    "two GraphQL operations": (query(f"{FIND_MANY} {FIND_MANY}"), 400),
    "GraphQL variables": (query("query($n: Int) { result: findManyAuthor(take: $n) { id } }"), 400),
    "an unknown root field": (query("query { result: dropEverything { id } }"), 400),
    "GraphQL nested beyond the stack": (
        query("query { result: findManyAuthor { " + "a {" * 5000 + "}" * 5001 + "}"),
        400,
    ),
    "a transaction start without options": (request("POST", "/transaction/start"), 400),
    "transaction options of the wrong types": (
        request("POST", "/transaction/start", b'{"max_wait": "1", "timeout": -1}'),
        400,
    ),
    "metrics labels that are not strings": (request("GET", "/metrics?format=json", b'{"a": {"b": 1}}'), 400),
    "a body just over the limit": (request("POST", "/", b" " * (LIMIT + 1)), 413),
}


def check_refused(name: str, replies: list[Reply], expected: int) -> None:
    assert replies, f"{name}: no answer"
    reply = replies[0]
    assert reply.status == expected, f"{name}: {reply.status} {reply.body[:300]!r}"
    assert reply.headers["content-type"] == "application/json", name
    message = reply.json()["errors"][0]["error"]
    assert isinstance(message, str) and message, name
    if expected == 405:
        assert reply.headers.get("allow") or name == "CONNECT", name


def resident_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


@dataclass
class FuzzedBridge:
    client: Any
    port: int
    pid: int


@pytest.fixture
async def fuzzed_bridge(
    generated_client: Any, bridge_database: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FuzzedBridge]:
    """A bridge started by Prisma Client Python itself, with a 1 MiB body limit."""
    monkeypatch.setenv("ACAMS_BRIDGE_MAX_BODY_BYTES", str(LIMIT))
    client = generated_client.Prisma(datasource={"url": bridge_database})
    await client.connect()
    engine = client._engine
    try:
        yield FuzzedBridge(client, int(engine.url.rsplit(":", 1)[1]), engine.process.pid)
    finally:
        await client.disconnect()


async def keep_querying(client: Any, stop: asyncio.Event) -> tuple[int, list[Exception]]:
    """Mixed operations until `stop`: writes, reads, a raw query, a batch and an interactive transaction."""
    operations, failures = 0, []
    index = 0
    while not stop.is_set():
        index += 1
        try:
            author = await client.author.create(data={"email": f"fuzz-{index}@example.org", "name": "F"})
            assert (await client.author.find_unique(where={"id": author.id})).email == author.email
            await client.author.update(where={"id": author.id}, data={"age": index})
            assert await client.query_raw('SELECT count(*) AS n FROM "Author" WHERE id = $1', author.id) == [{"n": 1}]
            async with client.batch_() as batch:
                batch.author.update(where={"id": author.id}, data={"name": "G"})
            async with client.tx() as transaction:
                await transaction.author.delete(where={"id": author.id})
            operations += 6
        except Exception as error:  # every failure is reported; a few end the load
            failures.append(error)
            if len(failures) >= 10:
                break
            await asyncio.sleep(0.1)
    return operations, failures


def slow_requests(port: int, count: int) -> list[float]:
    """Connections that send nothing, or a request line and then a header byte every 0.5 s; seconds until closed."""
    started = time.monotonic()
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for index, connection in enumerate(connections):
        connection.setblocking(False)
        if index % 2:
            connection.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    closed_after: dict[int, float] = {}
    while len(closed_after) < count and time.monotonic() - started < 20:
        for index, connection in enumerate(connections):
            if index in closed_after:
                continue
            try:
                if connection.recv(65536) == b"":
                    closed_after[index] = time.monotonic() - started
                    continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed_after[index] = time.monotonic() - started
                continue
            if index % 2:
                try:
                    connection.send(b"a")
                except OSError:
                    closed_after[index] = time.monotonic() - started
        time.sleep(0.5)
    for connection in connections:
        connection.close()
    return [closed_after.get(index, float("inf")) for index in range(count)]


def oversized_bodies(port: int) -> list[list[Reply]]:
    """Four 64 MiB bodies with their Content-Length and four 16 MiB chunked bodies, all at once."""
    declared = request("POST", "/").replace(b"Content-Length: 0", f"Content-Length: {64 << 20}".encode())

    def send_declared() -> list[Reply]:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(declared)
            block = b"x" * (1 << 20)
            try:
                for _ in range(64):
                    connection.sendall(block)
            except OSError:
                pass
            return parse_replies(connection.recv(65536))

    def send_chunked() -> list[Reply]:
        return exchange(port, b"".join(chunked(b"[" * (16 << 20), 1 << 20)), timeout=30)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(send_declared) for _ in range(4)] + [pool.submit(send_chunked) for _ in range(4)]
        return [future.result() for future in futures]


def many_connections(port: int, count: int, data: bytes) -> list[list[Reply]]:
    """`count` connections opened at once, each sending `data`."""
    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(lambda _: exchange(port, data), range(count)))


class PeakMemory:
    """The largest resident memory of a process, sampled every 20 ms while in use."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, resident_bytes(pid), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, resident_bytes(self.pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_fuzzed_while_a_client_keeps_querying(fuzzed_bridge: FuzzedBridge) -> None:
    """Every malformed request gets its 4xx JSON answer, the client's queries all succeed, memory stays bounded."""
    port, pid = fuzzed_bridge.port, fuzzed_bridge.pid
    stop = asyncio.Event()
    load = asyncio.create_task(keep_querying(fuzzed_bridge.client, stop))
    # The bridge's heap grows with its first few thousand queries, then stays flat: measured from there.
    await asyncio.sleep(3)
    memory_before = resident_bytes(pid)

    def fuzz() -> dict[str, Any]:
        with ThreadPoolExecutor(2) as background:
            slow = background.submit(slow_requests, port, 20)
            results: dict[str, Any] = {name: exchange(port, data) for name, (data, _) in MALFORMED.items()}
            results["a body cut short"] = exchange(port, request("POST", "/", b"{}")[:-1], half_close=True)
            results["pipelined"] = exchange(
                port,
                b"".join([*[request("GET", "/status"), query(FIND_MANY)] * 10, request("GET", "/status")]).replace(
                    b"close", b"keep-alive"
                )
                + b"\x16\x03garbage\r\n\r\n",
            )
            with PeakMemory(pid) as peak:
                results["oversized"] = oversized_bodies(port)
            results["oversized peak"] = peak.peak
            results["many valid"] = many_connections(port, 200, request("GET", "/status"))
            results["many malformed"] = many_connections(port, 200, TLS_CLIENT_HELLO)
            results["slow"] = slow.result()
        return results

    started = time.monotonic()
    try:
        results = await asyncio.to_thread(fuzz)
        fuzz_seconds = time.monotonic() - started
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        operations, failures = await load

    for name, (_, expected) in MALFORMED.items():
        check_refused(name, results[name], expected)
    check_refused("a body cut short", results["a body cut short"], 400)
    pipelined = results["pipelined"]
    assert [reply.status for reply in pipelined] == [200] * 21 + [400]
    assert pipelined[0].json() == {"status": "ok"} and isinstance(pipelined[1].json()["data"]["result"], list)
    for replies in results["oversized"]:
        check_refused("an oversized body", replies, 413)
        assert "ACAMS_BRIDGE_MAX_BODY_BYTES" in replies[0].json()["errors"][0]["error"]
    assert all(replies[0].status == 200 for replies in results["many valid"])
    for replies in results["many malformed"]:
        check_refused("a ClientHello among many", replies, 400)
    assert max(results["slow"]) < 9, results["slow"]  # 5 s to deliver headers, checked every second

    assert failures == [], failures[:3]
    assert operations >= 60, operations  # the client really queried throughout
    assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    # 8 bodies of 64 and 16 MiB at once: at most the limit buffered for each, not the bodies.
    assert results["oversized peak"] - memory_before < 96 << 20, (memory_before, results["oversized peak"])
    # Afterwards: what V8 keeps of the fuzzing, far below the 320 MiB of bodies it was sent.
    assert resident_bytes(pid) - memory_before < 128 << 20
    assert fuzz_seconds < 60
    assert await fuzzed_bridge.client.author.count() == 0


async def test_a_request_just_under_the_limit_is_served(fuzzed_bridge: FuzzedBridge) -> None:
    parameter = "x" * (LIMIT - 4096)
    assert await fuzzed_bridge.client.query_raw("SELECT length($1) AS n", parameter) == [{"n": len(parameter)}]


async def test_an_oversized_request_raises_a_clear_client_error(
    fuzzed_bridge: FuzzedBridge, generated_client: Any
) -> None:
    with pytest.raises(generated_client.errors.PrismaError) as raised:
        await fuzzed_bridge.client.query_raw("SELECT length($1)", "x" * LIMIT)
    assert "413" in str(raised.value) and "ACAMS_BRIDGE_MAX_BODY_BYTES" in str(raised.value)
    assert await fuzzed_bridge.client.author.count() == 0


async def test_the_default_limit_fits_the_seeds_largest_statements(db: Any) -> None:
    """The seed's largest request is about 3 MB (2,000 questions); 8 MB passes the default 32 MiB limit."""
    parameter = "x" * (8 << 20)
    assert await db.query_raw("SELECT length($1) AS n", parameter) == [{"n": len(parameter)}]
