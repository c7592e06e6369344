"""Lock-safe deploys: a migration that cannot take its locks fails fast and names who holds them; a monitor
reports what the deploy runs and waits on; development is unchanged."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from acams_db.migrations import manifest
from acams_db.runtime import pg_tools
from acams_db.runtime.processes import dies_with_this_process
from acams_db.settings import load_settings
from tests.support import PostgresServer, Project, next_migration

NICKNAME = next_migration("add_nickname")
NICKNAME_SQL = 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;\n'
SLOW = next_migration("slow_backfill")
SLOW_SQL = "SELECT pg_sleep(2), 'secret value';\n"
STAGING = {"ACAMS_ENV": "staging", "DEPLOY_MONITOR_SECONDS": "0.5"}


def add_recorded_migration(project: Project, name: str, sql: str) -> None:
    """A migration made in development: its folder and its checksum in manifest.json."""
    project.write_migration(name, sql)
    manifest.record(project.migrations, {name: hashlib.sha256(sql.encode()).hexdigest()})


def deploy(project: Project, *arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return project.run("deploy", "--no-backup", *arguments, **{**STAGING, **environment})


@contextmanager
def session_reading_users(url: str, statement: str = "SELECT count(*) FROM users WHERE name = 'Ada'") -> Iterator[int]:
    """Another session whose open transaction has read `users` (ACCESS SHARE, held until it ends), or has run
    `statement`; its pid."""
    psql = subprocess.Popen(
        [str(pg_tools.executable("psql")), "--no-psqlrc", "--tuples-only", "--no-align", "--quiet"],
        env={**pg_tools.libpq_environment(url), "PGAPPNAME": "reporting job"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=dies_with_this_process(),
    )
    assert psql.stdin and psql.stdout
    psql.stdin.write(f"BEGIN;\nSELECT pg_backend_pid();\n{statement};\n\\echo locked\n")
    psql.stdin.flush()
    pid = int(psql.stdout.readline())
    while psql.stdout.readline().strip() != "locked":  # the statement's output, if any
        pass
    try:
        yield pid
    finally:
        psql.communicate("ROLLBACK;\n", timeout=30)


def nickname_column(postgres: PostgresServer, url: str) -> str:
    return postgres.psql(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname'",
        url=url,
    ).strip()


def test_a_session_holding_a_lock_makes_the_deploy_fail_fast_naming_it_and_the_next_deploy_applies(
    project: Project, postgres: PostgresServer
) -> None:
    assert deploy(project).returncode == 0
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url) as blocker:
        started = time.monotonic()
        refused = deploy(project, MIGRATION_LOCK_TIMEOUT="500ms", MIGRATION_LOCK_RETRIES="2")
        waited = time.monotonic() - started
    assert refused.returncode == 5, refused.stderr
    assert f"Migration {NICKNAME} could not take its locks within lock_timeout 500ms (3 tries)" in refused.stderr
    assert "Run acams-db deploy again once they are done" in refused.stderr
    assert f"blocked by pid {blocker} (user " in refused.stderr
    assert "application 'reporting job'" in refused.stderr
    assert "SELECT count(*) FROM users WHERE name = $1" in refused.stderr  # the literal is not shown
    assert "Ada" not in refused.stderr
    # The blocker never lets go: the deploy ended by itself (3 x 0.5 s, 0.5 + 1 s between them, the CLI's start).
    assert waited < 60, waited
    assert nickname_column(postgres, project.database_url) == "0"
    records = postgres.psql(
        f"SELECT finished_at IS NULL, rolled_back_at IS NOT NULL FROM _prisma_migrations "
        f"WHERE migration_name = '{NICKNAME}'",
        url=project.database_url,
    )
    assert records.split() == ["t|t"]
    log = (project.root / "backups" / "staging" / "deploys.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["outcome"].startswith(f"blocked: Migration {NICKNAME} could not take its locks")

    # The blocker is gone: the next deploy applies, no resolve needed.
    applied = deploy(project, MIGRATION_LOCK_TIMEOUT="500ms")
    assert applied.returncode == 0, applied.stderr
    assert f"applied {NICKNAME} in " in applied.stderr
    assert nickname_column(postgres, project.database_url) == "1"


@pytest.mark.slow  # 42 s on the shared 2-core machine: three deploys and a status
def test_a_deploy_killed_after_a_lock_timeout_leaves_a_record_the_next_deploy_releases(
    project: Project, postgres: PostgresServer
) -> None:
    """What a deploy killed between Prisma's failed record and its release leaves: a failed record whose log is
    PostgreSQL's lock timeout. Its transaction applied nothing, so the next deploy marks it rolled back."""
    assert deploy(project).returncode == 0
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url):
        refused = deploy(project, MIGRATION_LOCK_TIMEOUT="200ms", MIGRATION_LOCK_RETRIES="0")
    assert refused.returncode == 5, refused.stderr
    postgres.psql(
        f"UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = '{NICKNAME}'",
        url=project.database_url,
    )
    assert project.run("status", ACAMS_ENV="staging").returncode == 10  # failed
    applied = deploy(project)
    assert applied.returncode == 0, applied.stderr
    assert nickname_column(postgres, project.database_url) == "1"


def test_a_slow_migration_shows_progress_and_its_duration_as_json_events(project: Project) -> None:
    assert deploy(project).returncode == 0
    add_recorded_migration(project, SLOW, SLOW_SQL)
    result = deploy(project, "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    progress = [event for event in events if event["event"] == "progress"]
    assert progress, result.stderr
    assert any("pg_sleep" in event["query"] for event in progress), progress
    assert all("secret value" not in event["query"] for event in progress)
    assert {"elapsed_seconds", "running_seconds", "waiting_for", "blockers"} <= set(progress[0])
    (applied,) = [event for event in events if event["event"] == "applied"]
    assert applied["migration"] == SLOW and applied["seconds"] >= 2
    assert json.loads(result.stdout)["seconds"][SLOW] == applied["seconds"]
    log = (project.root / "backups" / "staging" / "deploys.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["seconds"] == {SLOW: applied["seconds"]}


def test_the_monitor_on_a_terminal_says_what_runs(project: Project) -> None:
    assert deploy(project).returncode == 0
    add_recorded_migration(project, SLOW, SLOW_SQL)
    result = deploy(project)
    assert result.returncode == 0, result.stderr
    assert "s: SELECT pg_sleep($1), $2;" in result.stderr, result.stderr
    assert f"applied {SLOW} in 2." in result.stderr


def test_a_statement_timeout_stops_a_migration_that_runs_too_long(project: Project, postgres: PostgresServer) -> None:
    assert deploy(project).returncode == 0
    add_recorded_migration(project, SLOW, SLOW_SQL)
    result = deploy(project, MIGRATION_STATEMENT_TIMEOUT="500ms")
    assert result.returncode == 1, result.stderr
    assert "canceling statement due to statement timeout" in result.stderr
    assert f"Migration {SLOW} failed and was rolled back" in result.stderr


def test_development_has_no_lock_limits_and_no_monitor_unless_configured(project: Project) -> None:
    development = load_settings("development", project.root)
    assert (development.migration_lock_timeout, development.migration_statement_timeout) == (None, None)
    assert development.deploy_monitor_seconds is None
    staging = load_settings("staging", project.root)
    assert (staging.migration_lock_timeout, staging.migration_lock_retries, staging.deploy_monitor_seconds) == (
        "5s",
        3,
        5.0,
    )
    add_recorded_migration(project, SLOW, SLOW_SQL)
    result = project.run("deploy")
    assert result.returncode == 0, result.stderr
    assert "running" not in result.stderr and "applied" not in result.stderr


def test_a_development_deploy_still_waits_for_a_lock(project: Project, postgres: PostgresServer) -> None:
    assert project.run("deploy").returncode == 0
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url):
        deploying = subprocess.Popen(
            [sys.executable, "-m", "acams_db", "deploy"],
            cwd=project.root,
            env=project.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            deploying.wait(timeout=8)  # well past the 5 s of staging and production
    _, stderr = deploying.communicate(timeout=60)
    assert deploying.returncode == 0, stderr
    assert nickname_column(postgres, project.database_url) == "1"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MIGRATION_LOCK_TIMEOUT", "5 seconds", "MIGRATION_LOCK_TIMEOUT must be a PostgreSQL duration"),
        ("MIGRATION_STATEMENT_TIMEOUT", "1h'; DROP", "MIGRATION_STATEMENT_TIMEOUT must be a PostgreSQL duration"),
        ("MIGRATION_LOCK_TIMEOUT", "99999999999s", "MIGRATION_LOCK_TIMEOUT must be at most 2147483647 ms"),
        ("MIGRATION_LOCK_RETRIES", "-1", "MIGRATION_LOCK_RETRIES must be a whole number"),
        ("DEPLOY_MONITOR_SECONDS", "0", None),
        ("DEPLOY_MONITOR_SECONDS", "fast", "DEPLOY_MONITOR_SECONDS must be seconds between 0.1 and 3600"),
    ],
)
def test_a_bad_limit_is_refused_with_its_name_and_nothing_runs(
    project: Project, name: str, value: str, expected: str | None
) -> None:
    (project.root / ".env.staging").write_text(f"{name}={value}\n")
    result = project.run("deploy", "--no-backup", ACAMS_ENV="staging")
    if expected is None:  # 0 turns the monitor off
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1
    assert expected in result.stderr and not (project.root / "backups").exists()


def test_preflight_names_a_session_that_would_block_a_pending_migration(project: Project) -> None:
    assert deploy(project).returncode == 0
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url) as blocker:
        time.sleep(1.1)  # a transaction open for a second is one a deploy would wait on
        result = project.run("preflight", "--env", "staging", "--json")
    checks = {check["item"]: check for check in json.loads(result.stdout)["checks"]}
    monitoring = checks["monitor during the migration"]
    assert monitoring["outcome"] == "failed"
    assert f"pid {blocker} (user " in monitoring["detail"] and "idle in transaction" in monitoring["detail"]
    result = project.run("preflight", "--env", "staging", "--json")
    monitoring = {check["item"]: check for check in json.loads(result.stdout)["checks"]}["monitor during the migration"]
    assert monitoring["outcome"] == "passed", monitoring
    assert "each migration 5s (MIGRATION_LOCK_TIMEOUT), 3 retries" in monitoring["detail"]


def test_a_concurrent_index_stopped_by_the_lock_timeout_is_a_failed_migration_not_a_clean_refusal(
    project: Project, postgres: PostgresServer
) -> None:
    """CREATE INDEX CONCURRENTLY runs outside a transaction: stopped while it waits for an open transaction, it
    leaves an INVALID index, so the deploy must not say that nothing was applied."""
    assert deploy(project).returncode == 0
    index = next_migration("index_user_names")
    add_recorded_migration(project, index, 'CREATE INDEX CONCURRENTLY "users_name_idx" ON "users"("name");\n')
    # A transaction that wrote to users: the index waits for it to end.
    with session_reading_users(project.database_url, "UPDATE users SET name = name"):
        result = deploy(project, MIGRATION_LOCK_TIMEOUT="300ms", MIGRATION_LOCK_RETRIES="0")
    assert result.returncode == 1, result.stderr
    assert f"Migration {index} failed and was rolled back" in result.stderr
    assert "no resolve is needed" not in result.stderr
    assert project.run("status", ACAMS_ENV="staging").returncode == 10  # failed: a person looks at it


def backup_names(project: Project) -> list[str]:
    folder = project.root / "backups" / "staging"
    return sorted(path.name for path in folder.glob("*.dump")) if folder.is_dir() else []


def test_a_blocked_deploy_removes_its_own_backup_and_keeps_the_older_ones(project: Project) -> None:
    """Tried again and again while a session holds its lock, a deploy must not rotate the real backups away."""
    assert deploy(project).returncode == 0
    older = project.run("backup", "--label", "before_deploy", ACAMS_ENV="staging")
    assert older.returncode == 0, older.stderr
    kept = backup_names(project)
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url):
        for _ in range(2):
            blocked = project.run(
                "deploy", **STAGING, BACKUP_KEEP="1", MIGRATION_LOCK_TIMEOUT="200ms", MIGRATION_LOCK_RETRIES="0"
            )
            assert blocked.returncode == 5, blocked.stderr
            assert "Nothing applied: the backup taken before it is removed" in blocked.stderr
            assert backup_names(project) == kept


def test_a_refused_deploy_takes_no_backup(project: Project) -> None:
    assert deploy(project).returncode == 0
    project.write_migration(NICKNAME, NICKNAME_SQL)  # never recorded in development: refused outside it
    refused = project.run("deploy", **STAGING)
    assert refused.returncode == 4, refused.stderr
    assert "Backing up" not in refused.stderr
    assert backup_names(project) == []


def test_the_backup_before_a_deploy_waits_for_a_lock_no_longer_than_a_migration_would(project: Project) -> None:
    assert deploy(project).returncode == 0
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url, 'LOCK TABLE "users" IN ACCESS EXCLUSIVE MODE'):
        started = time.monotonic()
        aborted = project.run("deploy", **STAGING, MIGRATION_LOCK_TIMEOUT="300ms")
        waited = time.monotonic() - started
    assert aborted.returncode == 1, aborted.stderr
    assert "Deploy aborted, nothing applied: the backup failed." in aborted.stderr
    assert "lock" in aborted.stderr.lower()
    assert waited < 30, waited
    assert backup_names(project) == []


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_deploy_stopped_while_it_waits_for_a_lock_records_the_migration_rolled_back_and_the_next_deploy_applies(
    project: Project, postgres: PostgresServer, number: signal.Signals
) -> None:
    """Its transaction never got the lock (the blocker still holds it), so nothing of it was applied: no resolve."""
    assert deploy(project).returncode == 0
    add_recorded_migration(project, NICKNAME, NICKNAME_SQL)
    with session_reading_users(project.database_url):
        waiting = subprocess.Popen(
            [sys.executable, "-m", "acams_db", "deploy", "--no-backup"],
            cwd=project.root,
            env=project.environment(**STAGING, MIGRATION_LOCK_TIMEOUT="10min"),
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_this_process(),
        )
        assert waiting.stderr
        while "waiting for AccessExclusiveLock on users" not in waiting.stderr.readline():
            assert waiting.poll() is None, "the deploy ended before it waited"
        waiting.send_signal(number)
        stderr = waiting.stderr.read()
        assert waiting.wait(timeout=120) == 128 + number, stderr
        assert f"Deploy interrupted by {number.name} while {NICKNAME} waited for a lock: nothing of it" in stderr
        assert "The next acams-db deploy applies it." in stderr
        assert nickname_column(postgres, project.database_url) == "0"
        records = postgres.psql(
            f"SELECT rolled_back_at IS NOT NULL FROM _prisma_migrations WHERE migration_name = '{NICKNAME}'",
            url=project.database_url,
        )
        assert records.split() == ["t"]
    applied = deploy(project)
    assert applied.returncode == 0, applied.stderr
    assert nickname_column(postgres, project.database_url) == "1"
