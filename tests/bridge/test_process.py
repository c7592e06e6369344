"""The bridge as a process: its command line, HTTP edge cases, signals, metrics and several clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.bridge.conftest import GENERATED
from tests.support import REPOSITORY

BRIDGE = REPOSITORY / "engine" / "bin" / "query-engine.mjs"
SCHEMA = Path(__file__).with_name("schema.prisma")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise AssertionError(f"bridge exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("bridge did not start")


@pytest.fixture
def bridge(bridge_database: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    environment = {**os.environ, "PRISMA_DML_PATH": str(SCHEMA), "DATABASE_URL": bridge_database}
    process = subprocess.Popen(
        [str(BRIDGE), "-p", str(port), "--enable-raw-queries"], env=environment, stderr=subprocess.PIPE
    )
    wait_until_serving(port, process)
    yield port, process
    if process.poll() is None:
        process.kill()
        process.wait()


def post(port: int, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_version_names_the_engine_commit_of_the_cli() -> None:
    """--version answers like the native engine, with the commit the Prisma CLI and pyproject expect."""
    expected = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["prisma"]["expected_engine_version"]
    completed = subprocess.run([str(BRIDGE), "--version"], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == f"query-engine {expected}"


def test_listens_on_loopback_only(bridge: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, process = bridge
    listening = [c for c in psutil.Process(process.pid).net_connections() if c.status == psutil.CONN_LISTEN]
    assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", port)]


def test_malformed_requests_get_errors_and_the_bridge_keeps_serving(
    bridge: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, process = bridge
    status, body = post(port, "/", b"{not json")
    assert status == 400 and "not valid JSON" in body["errors"][0]["error"]
    status, body = post(port, "/", json.dumps({"query": "query { result: findManyAuthor( { id } }"}).encode())
    assert status == 400 and "Invalid GraphQL" in body["errors"][0]["error"]
    status, body = post(port, "/", json.dumps({"query": "query { result: dropEverything { id } }"}).encode())
    assert status == 400 and "Unknown operation" in body["errors"][0]["error"]
    status, body = post(port, "/transaction/nope/commit", b"")
    assert status == 404 and body["error_code"] == "P2028"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=json.dumps({"query": "query { result: findManyAuthor { id } }"}).encode(),
        headers={"X-transaction-id": "not-a-transaction"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["errors"][0]["user_facing_error"]["error_code"] == "P2028"
    status, body = post(port, "/", json.dumps({"query": "query { result: findManyAuthor { id } }"}).encode())
    assert status == 200 and body == {"data": {"result": []}}
    assert process.poll() is None


def test_oversized_request_is_refused(bridge: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, process = bridge
    status, body = post(port, "/", b" " * (65 * 1024 * 1024))
    assert status == 413 and "exceeds" in body["errors"][0]["error"]
    assert process.poll() is None


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_exits_when_its_parent_stops_it(bridge: tuple[int, subprocess.Popen[bytes]], signal_number: int) -> None:
    _, process = bridge
    process.send_signal(signal_number)
    assert process.wait(timeout=10) == 0


def test_does_not_outlive_a_parent_that_died(bridge_database: str, tmp_path: Path) -> None:
    """A parent killed with SIGKILL sends no signal; the bridge notices and exits."""
    port = free_port()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, time; subprocess.Popen([{str(BRIDGE)!r}, '-p', '{port}']); time.sleep(60)",
        ],
        env={**os.environ, "PRISMA_DML_PATH": str(SCHEMA), "DATABASE_URL": bridge_database},
    )
    for _ in range(100):
        children = psutil.Process(parent.pid).children()
        if children:
            break
        time.sleep(0.1)
    bridge = children[0]
    wait_until_serving(port, parent)
    parent.kill()
    parent.wait()
    bridge.wait(timeout=10)
    assert not bridge.is_running()


async def test_metrics_in_json_and_prometheus_formats(db: Any) -> None:
    await db.author.count()
    metrics = await db.get_metrics()
    counters = {counter.key: counter.value for counter in metrics.counters}
    assert counters["prisma_client_queries_total"] >= 1
    histogram = metrics.histograms[0].value
    assert histogram.count == counters["prisma_client_queries_total"]
    text = await db.get_metrics(format="prometheus", global_labels={"service": "acams"})
    assert 'prisma_client_queries_total{service="acams"}' in text


async def test_several_clients_at_once(generated_client: Any, bridge_database: str, db: Any) -> None:
    """Separate clients (separate bridges) writing concurrently all succeed."""
    clients = [generated_client.Prisma(datasource={"url": bridge_database}) for _ in range(3)]
    await asyncio.gather(*(client.connect() for client in clients))
    try:

        async def write(client: Any, index: int) -> None:
            for row in range(20):
                await client.author.create(data={"email": f"c{index}-{row}@example.org", "name": "C"})

        await asyncio.gather(*(write(client, index) for index, client in enumerate(clients)))
    finally:
        await asyncio.gather(*(client.disconnect() for client in clients))
    assert await db.author.count() == 60


async def test_datasource_from_the_environment(
    generated_client: Any, bridge_database: str, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a datasource override the bridge uses the variable the schema names."""
    monkeypatch.setenv("DATABASE_URL", bridge_database)
    client = generated_client.Prisma()
    await client.connect()
    try:
        assert await client.author.count() == 0
    finally:
        await client.disconnect()


def seconds_until_it_ends(process: psutil.Process, limit: float = 5) -> float:
    """How long `process` took to end, at most `limit`. Ended is a zombie too: the orphan's new parent reaps late."""
    started = time.monotonic()
    while process.is_running() and process.status() != psutil.STATUS_ZOMBIE and time.monotonic() - started < limit:
        time.sleep(0.05)
    return time.monotonic() - started


CLIENT_THEN_SLEEP = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[1])
from prisma import Prisma

async def main():
    client = Prisma(datasource={"url": sys.argv[2]})
    await client.connect()
    print(client._engine.process.pid, flush=True)
    time.sleep(60)

asyncio.run(main())
"""


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_dies_with_the_python_process_that_started_it(bridge_database: str, signal_number: int) -> None:
    """However Prisma Client Python's process ends, without a word to the bridge, the bridge exits within a second."""
    python = subprocess.Popen(
        [sys.executable, "-c", CLIENT_THEN_SLEEP, str(GENERATED), bridge_database], stdout=subprocess.PIPE, text=True
    )
    try:
        assert python.stdout is not None
        bridge = psutil.Process(int(python.stdout.readline()))
        assert bridge.ppid() == python.pid and bridge.name() == "node"
        os.kill(python.pid, signal_number)
        python.wait(timeout=10)
        assert seconds_until_it_ends(bridge) < 1.5
    finally:
        python.kill()
        python.wait()


def test_stops_without_waiting_for_a_query_in_progress(bridge: tuple[int, subprocess.Popen[bytes]]) -> None:
    """SIGINT (Prisma Client Python's disconnect) ends the bridge within 3 s even while a query runs for a minute."""
    port, process = bridge
    sleep = json.dumps({"query": 'mutation { result: queryRaw(query: "SELECT pg_sleep(60)", parameters: "[]") }'})

    def query_in_progress() -> None:
        with contextlib.suppress(OSError):  # the bridge stops while it runs
            post(port, "/", sleep.encode())

    threading.Thread(target=query_in_progress, daemon=True).start()
    time.sleep(1)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - started < 4


CLIENT_CONNECTING = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from prisma import Prisma

asyncio.run(Prisma(datasource={"url": sys.argv[2]}).connect())
"""


def is_serving_bridge(process: psutil.Process) -> bool:
    """Whether `process` is the bridge given its port, not the `--version` the client runs first."""
    try:
        return process.cmdline()[-5:-3] == [str(BRIDGE), "-p"]
    except psutil.Error:  # it ended meanwhile
        return False


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3])
def test_does_not_outlive_a_client_killed_while_it_starts(
    generated_client: Any, bridge_database: str, delay: float
) -> None:
    """The client killed (SIGKILL) `delay` s after its bridge's node started, before the bridge can have read its
    parent: the bridge exits anyway, within a second of the client's end."""
    python = subprocess.Popen([sys.executable, "-c", CLIENT_CONNECTING, str(GENERATED), bridge_database])
    try:
        bridge = None
        while bridge is None and python.poll() is None:
            bridge = next((c for c in psutil.Process(python.pid).children() if is_serving_bridge(c)), None)
        assert bridge is not None, "the client ended before it started its bridge"
        time.sleep(delay)
    finally:
        python.kill()
        python.wait()
    ended_within = seconds_until_it_ends(bridge)
    with contextlib.suppress(psutil.Error):
        bridge.kill()  # a survivor, before the test fails
    assert ended_within < 1.5
