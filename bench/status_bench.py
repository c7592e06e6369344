"""Benchmark `acams-db status` (drift check included) against Prisma's own `prisma migrate status`.

Both run against one dedicated database (`acams_bench_status`, dropped and recreated on the development
server, the history deployed), alternately, ROUNDS times each (QUICK_ROUNDS with --quick), as a user runs
them: a new process each time. `prisma migrate status` is the pinned CLI given the resolved URL (as
acams-db starts it, without the Python round trip that `prisma ...` typed by hand makes first); it reads
the history and does not check drift. `acams-db status` also checks drift: "cold", it replays the
migrations on a shadow database (its answer for these files removed first, .data/drift.json); "warm", the
files have not changed since the last status, whose answer it takes (the usual case). The target is on
warm; cold is reported beside it. Prints medians and ratios and writes bench/results/status.json.
A missed target is reported as MISS; the exit status is non-zero only when something crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from run import ROOT, VENV_BIN, progress, recreate_database

from acams_db import contract
from acams_db.migrations.drift import MEMO_FILE

RESULTS = ROOT / "bench" / "results" / "status.json"
BENCH_DATABASE = "acams_bench_status"
ROUNDS = 9
QUICK_ROUNDS = 3
# acams-db status (warm) over prisma migrate status, medians of the same run: at most this.
TARGET_RATIO = 1.0
PRISMA, WARM, COLD = "prisma migrate status", "acams-db status", "acams-db status, cold"


def timed(command: list[str], environment: dict[str, str], expected: int) -> float:
    """Seconds `command` took from start to exit; it must exit with `expected`."""
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != expected:
        raise RuntimeError(f"{' '.join(command[-3:])} exited {completed.returncode}:\n{completed.stderr.strip()}")
    return seconds


def measure(url: str, rounds: int) -> dict[str, list[float]]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("ACAMS_", "SHADOW_"))}
    environment.update({"DATABASE_URL": url, contract.ENVIRONMENT_VARIABLE: "development"})
    prisma = [
        "node",
        str(ROOT / "node_modules" / "prisma" / "build" / "index.js"),
        "migrate",
        "status",
    ]
    acams = [str(VENV_BIN / "acams-db"), "status"]
    samples: dict[str, list[float]] = {name: [] for name in (PRISMA, WARM, COLD)}
    for round_number in range(rounds):
        progress(f"round {round_number + 1}/{rounds}")
        # In turn first: none gets the warmer caches every time.
        order = [PRISMA, WARM, COLD][round_number % 3 :] + [PRISMA, WARM, COLD][: round_number % 3]
        for name in order:
            if name == COLD:
                (ROOT / MEMO_FILE).unlink(missing_ok=True)
            elif name == WARM:
                timed(acams, environment, expected=0)  # the answer for these files, kept
            resolved = {**environment, contract.DATABASE_RESOLVED_VARIABLE: "1"} if name == PRISMA else environment
            samples[name].append(timed(prisma if name == PRISMA else acams, resolved, expected=0))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args()
    url = recreate_database(BENCH_DATABASE)
    samples = measure(url, QUICK_ROUNDS if arguments.quick else ROUNDS)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratio = medians[WARM] / medians[PRISMA]
    cold_ratio = medians[COLD] / medians[PRISMA]
    document: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "rounds": len(samples[WARM]),
        "seconds": {
            name: {"median": round(m, 3), "all": [round(v, 3) for v in samples[name]]} for name, m in medians.items()
        },
        "ratio": round(ratio, 3),
        "cold_ratio": round(cold_ratio, 3),
        "target": {"ratio_at_most": TARGET_RATIO, "met": ratio <= TARGET_RATIO},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    if arguments.json:
        print(json.dumps(document, indent=2))
    else:
        for name, median in medians.items():
            print(f"{name:<24} median {median:6.2f} s  ({', '.join(f'{v:.2f}' for v in samples[name])})")
        verdict = "ok" if document["target"]["met"] else "MISS"
        print(f"acams-db status / prisma migrate status = {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}")
        print(f"cold (the migrations replayed) / prisma migrate status = {cold_ratio:.2f}")
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
