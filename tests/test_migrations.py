"""Prisma Migrate through the acams-db CLI, against a real PostgreSQL server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

from acams_db import contract
from acams_db.errors import ExitCode, RefusedError
from acams_db.migrations.drift import MEMO_FILE
from acams_db.runtime.processes import dies_with_this_process
from tests.support import HISTORY, WIDGET_MODEL, PostgresServer, Project, next_migration
from tests.test_deploy_monitor import session_reading_users

NICKNAME_FIELD = "  name        String\n  nickname    String?\n"


def add_user(postgres: PostgresServer, project: Project) -> None:
    postgres.psql(
        "INSERT INTO users (id, email, name, updated_at) VALUES (gen_random_uuid(), 'a@b.org', 'A', now())",
        url=project.database_url,
    )


def status(project: Project) -> tuple[int, dict[str, object]]:
    result = project.run("status", "--json")
    return result.returncode, json.loads(result.stdout)


def test_deploy_on_an_empty_database_applies_the_history(project: Project, postgres: PostgresServer) -> None:
    """deploy applies every migration in order and says which."""
    result = project.run("deploy", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"applied": HISTORY, "backup": None, "backup_skipped": False}
    assert {"users", "questions", "answer_options", "magic_link_tokens"} <= set(postgres.tables(project.database_url))


def test_concurrent_deploys_apply_each_migration_once(project: Project, postgres: PostgresServer) -> None:
    """Four deploys at once all succeed; between them every migration is applied, and reported, exactly once."""
    reported = [name for report in project.run_at_once(4, "deploy") for name in report["applied"]]
    assert sorted(reported) == HISTORY
    rows = postgres.psql("SELECT count(*) FROM _prisma_migrations", url=project.database_url)
    assert rows == str(len(HISTORY))


def test_deploy_on_an_up_to_date_database_does_nothing(project: Project) -> None:
    """A second deploy applies nothing and succeeds."""
    assert project.run("deploy").returncode == 0
    result = project.run("deploy", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["applied"] == []


def test_every_command_names_its_environment_and_redacted_database(project: Project, postgres: PostgresServer) -> None:
    """Commands say where they act, without the password."""
    result = project.run("deploy")
    assert re.search(r"environment: development · database: postgresql://", result.stderr)


def test_create_only_writes_a_named_migration_that_deploy_applies(project: Project, postgres: PostgresServer) -> None:
    """create-only writes YYYYMMDD_HHMMSS_name/migration.sql and applies nothing; deploy then applies it."""
    assert project.run("deploy").returncode == 0
    project.add_to_schema(WIDGET_MODEL)
    result = project.run("migrate", "add_widgets", "--create-only", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert re.fullmatch(r"prisma_migrations/\d{8}_\d{6}_add_widgets", created["created"])
    assert 'CREATE TABLE "Widget"' in created["sql"]
    assert created["applied"] is False
    assert "Widget" not in postgres.tables(project.database_url)
    code, report = status(project)
    assert code == ExitCode.PENDING_MIGRATIONS
    assert report["pending"] == [created["created"].split("/")[1]]

    assert project.run("deploy").returncode == 0
    assert "Widget" in postgres.tables(project.database_url)
    assert status(project)[0] == ExitCode.OK


def test_migrate_without_a_schema_change_creates_nothing(project: Project) -> None:
    """With schema.prisma matching the migrations, migrate says so and writes no folder."""
    before = project.migration_folders()
    result = project.run("migrate", "nothing_changed", "--create-only")
    assert result.returncode == 0, result.stderr
    assert "No schema change" in result.stdout
    assert project.migration_folders() == before


def test_migrate_leaves_no_shadow_database_behind(project: Project, postgres: PostgresServer) -> None:
    """The shadow database Prisma diffs against is dropped again."""
    project.add_to_schema(WIDGET_MODEL)
    assert project.run("migrate", "add_widgets", "--create-only").returncode == 0
    assert not [name for name in postgres.databases() if name.startswith("prisma_migrate_shadow_db_")]


def test_shadow_database_url_is_used_when_given(project: Project, postgres: PostgresServer) -> None:
    """With SHADOW_DATABASE_URL, Prisma diffs on that database instead of creating one."""
    shadow = postgres.create_database()
    try:
        project.add_to_schema(WIDGET_MODEL)
        result = project.run("migrate", "add_widgets", "--create-only", "--json", SHADOW_DATABASE_URL=shadow)
        assert result.returncode == 0, result.stderr
        assert "users" in postgres.tables(shadow)  # the migrations were replayed there
    finally:
        postgres.drop_database(shadow)


def test_a_migration_failing_halfway_leaves_no_partial_change(project: Project, postgres: PostgresServer) -> None:
    """Each migration is one transaction: the statements before the failing one are undone."""
    assert project.run("deploy").returncode == 0
    project.write_migration(
        next_migration("half_broken"),
        'CREATE TABLE "first_half" (id INT PRIMARY KEY);\n'
        'CREATE TABLE "second_half" (id INT REFERENCES "no_such_table"(id));\n',
    )
    result = project.run("deploy")
    assert result.returncode == 1
    assert f"Migration {next_migration('half_broken')} failed and was rolled back" in result.stderr
    assert 'relation "no_such_table" does not exist' in result.stderr or "no_such_table" in result.stderr
    # In the words of the command typed: acams-db here.
    assert f"acams-db resolve {next_migration('half_broken')} --as rolled-back && acams-db deploy" in result.stderr
    assert "first_half" not in postgres.tables(project.database_url)
    code, report = status(project)
    assert code == ExitCode.FAILED_MIGRATION
    assert report["failed"] == [next_migration("half_broken")]
    assert report["applied"] == HISTORY  # the last good migration

    again = project.run("deploy")
    assert again.returncode == RefusedError.exit_code
    assert "failed earlier and is not resolved" in again.stderr
    assert f"acams-db resolve {next_migration('half_broken')} --as rolled-back" in again.stderr


def test_semicolons_inside_strings_do_not_split_statements(project: Project, postgres: PostgresServer) -> None:
    """A migration is sent whole, so a ';' in a literal stays part of its statement."""
    assert project.run("deploy").returncode == 0
    project.write_migration(next_migration("comment"), "COMMENT ON TABLE \"users\" IS 'learners; and admins';\n")
    assert project.run("deploy").returncode == 0
    comment = postgres.psql("SELECT obj_description('users'::regclass)", url=project.database_url)
    assert comment == "learners; and admins"


def test_failed_migration_resolved_then_fixed_deploys(project: Project, postgres: PostgresServer) -> None:
    """resolve --as rolled-back clears a failure; the corrected migration then deploys."""
    assert project.run("deploy").returncode == 0
    folder = project.write_migration(
        next_migration("add_notes"), 'CREATE TABLE "notes" (id INT REFERENCES nowhere(id));\n'
    )
    assert project.run("deploy").returncode != 0
    assert project.run("deploy").returncode != 0  # refuses while the failure is unresolved

    result = project.run("resolve", folder.name, "--as", "rolled-back")
    assert result.returncode == 0, result.stderr
    (folder / "migration.sql").write_text('CREATE TABLE "notes" (id INT PRIMARY KEY);\n')
    result = project.run("deploy", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["applied"] == [folder.name]
    assert "notes" in postgres.tables(project.database_url)


def test_resolve_refuses_a_migration_that_is_not_failed(project: Project) -> None:
    """Prisma only resolves failed migrations; we say so plainly instead of P3012."""
    assert project.run("deploy").returncode == 0
    result = project.run("resolve", HISTORY[0], "--as", "applied")
    assert result.returncode == 1
    assert f"Migration {HISTORY[0]} is applied, not failed" in result.stderr
    assert "P3012" in result.stderr


def test_status_pending_exit_code(project: Project) -> None:
    code, report = status(project)
    assert code == ExitCode.PENDING_MIGRATIONS
    assert report["pending"] == HISTORY
    assert report["up_to_date"] is False


def test_status_up_to_date_exit_code(project: Project) -> None:
    assert project.run("deploy").returncode == 0
    code, report = status(project)
    assert code == ExitCode.OK
    assert report["applied"] == HISTORY


def test_status_reports_a_migration_edited_after_apply(project: Project) -> None:
    """Editing an applied migration.sql is detected by checksum."""
    assert project.run("deploy").returncode == 0
    sql = project.migrations / HISTORY[1] / "migration.sql"
    sql.write_text(sql.read_text() + "\n-- edited\n")
    code, report = status(project)
    assert code == ExitCode.MODIFIED_MIGRATION
    assert report["modified"] == [HISTORY[1]]


def test_status_reports_an_applied_migration_missing_locally(project: Project) -> None:
    """Deleting an applied migration's folder is detected."""
    import shutil

    assert project.run("deploy").returncode == 0
    shutil.rmtree(project.migrations / HISTORY[2])
    code, report = status(project)
    assert code == ExitCode.MISSING_MIGRATION
    assert report["missing_locally"] == [HISTORY[2]]


def test_status_reports_schema_changes_without_a_migration(project: Project) -> None:
    """A model added to schema.prisma but to no migration is drift."""
    assert project.run("deploy").returncode == 0
    project.add_to_schema(WIDGET_MODEL)
    code, report = status(project)
    assert code == ExitCode.SCHEMA_DRIFT
    assert report["schema_drift"] is True


def test_status_keeps_the_drift_answer_for_the_same_files_only(project: Project) -> None:
    """The drift check's answer is kept for unchanged files; a changed schema.prisma is checked again."""
    assert project.run("deploy").returncode == 0
    assert status(project)[0] == ExitCode.OK
    memo = project.root / MEMO_FILE
    assert json.loads(memo.read_text())["changes"] == ""
    kept = memo.stat().st_mtime_ns
    assert status(project)[0] == ExitCode.OK
    assert memo.stat().st_mtime_ns == kept  # answered from the memo, not replayed and written again
    project.add_to_schema(WIDGET_MODEL)
    assert status(project)[0] == ExitCode.SCHEMA_DRIFT
    assert 'CREATE TABLE "Widget"' in json.loads(memo.read_text())["changes"]


def test_reset_refuses_without_confirmation(project: Project, postgres: PostgresServer) -> None:
    """Without a terminal or --force, reset changes nothing."""
    assert project.run("deploy").returncode == 0
    add_user(postgres, project)
    result = project.run("reset", stdin="y\n")
    assert result.returncode == 1
    assert "force" in result.stderr
    assert postgres.psql("SELECT count(*) FROM users", url=project.database_url) == "1"


def test_reset_with_force_deletes_data_and_reapplies(project: Project, postgres: PostgresServer) -> None:
    assert project.run("deploy").returncode == 0
    add_user(postgres, project)
    result = project.run("reset", "--force", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["applied"] == HISTORY
    assert postgres.psql("SELECT count(*) FROM users", url=project.database_url) == "0"
    # then the question bank is seeded again
    assert report["seed"]["created"] > 0
    assert postgres.psql("SELECT count(*) FROM questions", url=project.database_url) == str(report["seed"]["created"])


def test_reset_without_seed(project: Project, postgres: PostgresServer) -> None:
    assert project.run("deploy").returncode == 0
    result = project.run("reset", "--force", "--no-seed", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"applied": HISTORY}
    assert postgres.psql("SELECT count(*) FROM questions", url=project.database_url) == "0"


def test_a_migration_that_fails_to_apply_is_withdrawn(project: Project, postgres: PostgresServer) -> None:
    """migrate leaves no folder and no failed record behind when its SQL cannot be applied."""
    assert project.run("deploy").returncode == 0
    add_user(postgres, project)
    before = project.migration_folders()
    # A required column without a default cannot be added to a table that has rows.
    project.schema.write_text(
        project.schema.read_text().replace("  name        String\n", "  name        String\n  badge       String\n", 1)
    )
    result = project.run("migrate", "add_badge")
    assert result.returncode == 1
    assert "add_badge" in result.stderr
    assert project.migration_folders() == before
    code, report = status(project)
    assert report["failed"] == [] and report["pending"] == []
    assert code == ExitCode.SCHEMA_DRIFT  # the schema change is still there to migrate properly


def test_a_not_null_failure_during_deploy_names_the_column(project: Project, postgres: PostgresServer) -> None:
    """PostgreSQL's own reason reaches the user: which column of which table holds NULLs."""
    assert project.run("deploy").returncode == 0
    add_user(postgres, project)
    project.write_migration(
        next_migration("require_field"), 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT NOT NULL;\n'
    )
    result = project.run("deploy")
    assert result.returncode == 1
    assert "Null constraint failed: (nickname)" in result.stderr, result.stderr


def test_migrate_stopped_by_sigterm_names_migrate(project: Project, postgres: PostgresServer) -> None:
    """It is stopped while it applies its migration, which waits for a lock another session holds."""
    assert project.run("deploy").returncode == 0
    project.schema.write_text(project.schema.read_text().replace("  name        String\n", NICKNAME_FIELD, 1))
    waiting_sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        f"AND application_name LIKE '{contract.DEPLOY_APPLICATION_NAME_PREFIX}%'"
    )
    with session_reading_users(project.database_url):
        migrate = subprocess.Popen(
            [sys.executable, "-m", "acams_db", "migrate", "add_nickname"],
            cwd=project.root,
            env=project.environment(),
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_this_process(),
        )
        deadline = time.monotonic() + 120
        while postgres.psql(waiting_sql, url=project.database_url) != "1":
            assert migrate.poll() is None and time.monotonic() < deadline, "migrate never waited for the lock"
            time.sleep(0.1)
        migrate.send_signal(signal.SIGTERM)
        _, stderr = migrate.communicate(timeout=120)
        assert migrate.returncode == 128 + signal.SIGTERM, stderr
        assert "Migrate interrupted by SIGTERM" in stderr
        assert "Deploy interrupted" not in stderr
