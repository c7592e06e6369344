"""The deploy under SIGKILL, SIGTERM and SIGINT: before a migration, during a slow one, after the last one.

Each case compares a fingerprint of every table and of the catalogue with what the documented outcome
requires, checks that no process started by the deploy survives it, and that the next deploy behaves as
README's "Failed migrations" says.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from acams_db.errors import RefusedError
from acams_db.migrations import manifest
from tests import deployed
from tests.support import (
    PostgresServer,
    ProcessRecord,
    Project,
    database_fingerprint,
    descendants,
    next_migration,
    still_running,
)

# Every test starts from a deployed history.
deployed_template, project = deployed.deployed_template, deployed.project


# A data migration that sleeps as long as the database's acams.fault_delay says (not at all when unset), and a
# schema migration after it.
SLOW = next_migration("shout_names", 1)
SLOW_SQL = (
    'UPDATE "users" SET "name" = upper("name");\n'
    "SELECT pg_sleep(current_setting('acams.fault_delay', true)::float);\n"
)
FAST = next_migration("add_notes", 2)
FAST_SQL = 'CREATE TABLE "notes" ("id" INT PRIMARY KEY);\n'


def without_records(fingerprint: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in fingerprint.items() if name != "rows _prisma_migrations"}


def wait_until(condition: Callable[[], bool], timeout: float = 120, what: str = "the moment") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def database_name(project: Project) -> str:
    return urlsplit(project.database_url).path.lstrip("/")


def connections(postgres: PostgresServer, project: Project, containing: str = "") -> int:
    """The database's other sessions (whose query contains `containing`)."""
    return int(
        postgres.psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database_name(project)}'"
            f" AND pid <> pg_backend_pid() AND strpos(query, '{containing}') > 0"
        )
    )


class Deploy:
    """`acams-db deploy` started in the background, with every process it starts recorded."""

    def __init__(self, project: Project, *arguments: str, **extra_env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "acams_db", "deploy", *arguments],
            cwd=project.root,
            env=project.environment(**extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: set[ProcessRecord] = set()

    def running(self, script: str) -> bool:
        """Whether a child running `script` exists now; records the children seen."""
        assert self.process.poll() is None, "the deploy ended before the moment came"
        children = descendants(self.process.pid)
        self.seen |= children
        return any(script in child.command for child in children)

    def ran(self, script: str) -> bool:
        return any(script in process.command for process in self.seen)

    def survivors(self) -> list[str]:
        """The command lines of the processes it started that are still alive."""
        return [process.command for process in still_running(self.seen)]

    def stop(self, number: signal.Signals) -> tuple[int, str]:
        """Send the signal to the deploy process alone; its exit code and stderr."""
        self.process.send_signal(number)
        _, stderr = self.process.communicate(timeout=120)
        return self.process.returncode, stderr


RUNNER = "engine/bin/runner.mjs"  # the command's engine runner: reads Prisma's records, before applying and after
PRISMA_CLI = "prisma/build/index.js"  # `prisma migrate deploy`: applies the migrations


def recorded_finished(postgres: PostgresServer, project: Project, name: str) -> bool:
    """Whether Prisma's record says migration `name` finished."""
    sql = f"SELECT count(*) FROM _prisma_migrations WHERE migration_name = '{name}' AND finished_at IS NOT NULL"
    return postgres.psql(sql, url=project.database_url) == "1"


def before_a_migration(deploy: Deploy, postgres: PostgresServer, project: Project) -> None:
    """While the deploy reads the database's records (its runner has started), before Prisma's CLI starts."""
    wait_until(lambda: deploy.running(RUNNER))
    assert not deploy.ran(PRISMA_CLI)


def during_a_slow_migration(deploy: Deploy, postgres: PostgresServer, project: Project) -> None:
    wait_until(lambda: deploy.running(PRISMA_CLI) and connections(postgres, project, "pg_sleep(") == 1)


def after_the_last_migration(deploy: Deploy, postgres: PostgresServer, project: Project) -> None:
    """Prisma has recorded the last migration finished; the deploy then reads the records again to write
    manifest.json (the runner answers within milliseconds: the moment is Prisma's record, seen by the test)."""
    wait_until(lambda: deploy.running(RUNNER) and recorded_finished(postgres, project, FAST))


MOMENTS = [before_a_migration, during_a_slow_migration, after_the_last_migration]
SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]


def exit_code_for(number: signal.Signals) -> int:
    """SIGKILL ends the process; SIGTERM and SIGINT are handled: exit 128 + the signal's number."""
    return -number if number == signal.SIGKILL else 128 + number


def applied(project: Project) -> list[str]:
    result = project.run("deploy", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["applied"])


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda moment: moment.__name__)
@pytest.mark.parametrize("number", SIGNALS, ids=lambda number: number.name)
def test_a_deploy_stopped_by_a_signal_leaves_a_consistent_state(
    project: Project,
    postgres: PostgresServer,
    number: signal.Signals,
    moment: Callable[[Deploy, PostgresServer, Project], None],
) -> None:
    postgres.psql(
        "INSERT INTO users (id, email, name, updated_at) VALUES"
        " (gen_random_uuid(), 'ann@example.org', 'Ann', now()), (gen_random_uuid(), 'bo@example.org', 'Bo', now())",
        url=project.database_url,
    )
    if moment is during_a_slow_migration:
        postgres.psql(f"ALTER DATABASE \"{database_name(project)}\" SET acams.fault_delay = '60'")
    project.write_migration(SLOW, SLOW_SQL)
    project.write_migration(FAST, FAST_SQL)
    before = database_fingerprint(project.database_url)

    deploy = Deploy(project)
    moment(deploy, postgres, project)
    code, stderr = deploy.stop(number)

    assert code == exit_code_for(number), stderr
    if number != signal.SIGKILL:
        assert f"interrupted by {number.name}" in stderr and "Traceback" not in stderr, stderr
    # Nothing the deploy started outlives it, here or in the server.
    assert deploy.seen
    deadline = time.monotonic() + 10  # a killed process takes a moment to go
    while deploy.survivors() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not deploy.survivors(), "outlived the deploy"
    wait_until(lambda: connections(postgres, project) == 0, what="the deploy's connections to close")
    after = database_fingerprint(project.database_url)
    postgres.psql(f'ALTER DATABASE "{database_name(project)}" RESET acams.fault_delay')

    if moment is before_a_migration:
        assert after == before
        assert applied(project) == [SLOW, FAST]
    elif moment is during_a_slow_migration:
        # The slow migration's UPDATE is rolled back; Prisma's record says it failed; the next one never started.
        assert without_records(after) == without_records(before)
        status = json.loads(project.run("status", "--json", "--no-drift").stdout)
        assert (status["failed"], status["pending"]) == ([SLOW], [FAST])
        if number != signal.SIGKILL:
            assert f"acams-db resolve {SLOW} --as rolled-back" in stderr
        refused = project.run("deploy")
        assert refused.returncode == RefusedError.exit_code
        assert f"acams-db resolve {SLOW} --as rolled-back" in refused.stderr
        assert project.run("resolve", SLOW, "--as", "rolled-back").returncode == 0
        assert applied(project) == [SLOW, FAST]
    else:
        # Both applied and recorded; only manifest.json waits for the next deploy.
        status = json.loads(project.run("status", "--json", "--no-drift").stdout)
        assert status["applied"][-2:] == [SLOW, FAST] and not status["pending"] and not status["failed"]
        assert applied(project) == []
        assert database_fingerprint(project.database_url) == after
        assert {SLOW, FAST} <= set(manifest.load(project.migrations).checksums)
    names = postgres.psql('SELECT string_agg("name", \',\' ORDER BY "name") FROM "users"', url=project.database_url)
    assert names == "ANN,BO"  # applied exactly once in the end
    assert "notes" in postgres.tables(project.database_url)


def test_an_interrupted_staging_deploy_is_logged_in_a_private_file(project: Project, postgres: PostgresServer) -> None:
    postgres.psql(f"ALTER DATABASE \"{database_name(project)}\" SET acams.fault_delay = '60'")
    project.write_migration(SLOW, SLOW_SQL)
    manifest.record(project.migrations, {SLOW: hashlib.sha256(SLOW_SQL.encode()).hexdigest()})
    deploy = Deploy(project, "--no-backup", ACAMS_ENV="staging")
    during_a_slow_migration(deploy, postgres, project)
    code, stderr = deploy.stop(signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, stderr
    log = project.root / "backups" / "staging" / "deploys.jsonl"
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["outcome"].startswith(f"interrupted: Deploy interrupted by SIGTERM while applying {SLOW}")
    assert (os.stat(log).st_mode & 0o777, os.stat(log.parent).st_mode & 0o777) == (0o600, 0o700)
