"""The generated client's requests to the bridge take runtime/loopback_http.py: kept-alive connections, reused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psutil
import pytest

from acams_db.runtime import loopback_http


def bridge_connections(db: Any) -> int:
    """The bridge's established connections (to the client and to PostgreSQL's port excluded)."""
    port = int(db._engine.url.rsplit(":", 1)[1])
    bridge = psutil.Process(db._engine.process.pid)
    return sum(1 for c in bridge.net_connections() if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)


async def test_sequential_queries_share_one_kept_alive_connection(db: Any) -> None:
    assert isinstance(db._engine.session.session, loopback_http.AsyncLoopbackSession)
    for index in range(20):
        await db.author.create(data={"email": f"k{index}@example.org", "name": "K"})
    assert await db.author.count() == 20
    assert bridge_connections(db) == 1


async def test_concurrent_queries_each_get_a_connection_and_all_are_answered(db: Any) -> None:
    created = await asyncio.gather(
        *(db.author.create(data={"email": f"c{index}@example.org", "name": f"C{index}"}) for index in range(30))
    )
    assert sorted(author.name for author in created) == sorted(f"C{index}" for index in range(30))
    assert 1 < bridge_connections(db) <= 30


async def test_a_connection_the_bridge_closed_while_idle_is_replaced(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridge closes connections idle for 5 s (node checks every second); kept longer here, a request succeeds."""
    await db.author.count()
    monkeypatch.setattr(loopback_http, "MAX_IDLE_SECONDS", 60.0)
    await asyncio.sleep(6.5)
    assert bridge_connections(db) == 0
    assert await db.author.count() == 0
    assert bridge_connections(db) == 1


async def test_a_client_given_http_settings_keeps_httpx(generated_client: Any, bridge_database: str) -> None:
    client = generated_client.Prisma(datasource={"url": bridge_database}, http={"timeout": 60})
    await client.connect()
    try:
        assert isinstance(client._engine.session.session, httpx.AsyncClient)
        assert await client.author.count() == 0
    finally:
        await client.disconnect()


def test_a_body_without_content_length_ends_with_the_connection() -> None:
    parser = loopback_http._ResponseParser()
    assert not parser.feed(b"HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\n\r\n{}")
    response = parser.response(at_close=True)
    assert (response.status_code, response.content) == (500, b"{}")
    cut_short = loopback_http._ResponseParser()
    cut_short.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}")
    with pytest.raises(loopback_http.ConnectionClosedError):
        cut_short.response(at_close=True)
