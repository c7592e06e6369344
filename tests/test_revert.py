"""revert: a new forward migration with the reverse SQL of an earlier one, proven by deploying it."""

from __future__ import annotations

import json
import re

from acams_db.migrations import revert
from acams_db.migrations.folder import local_migrations
from acams_db.runtime.database import Database
from acams_db.settings import load_settings
from tests.support import HISTORY, WIDGET_MODEL, PostgresServer, Project, schema_of


def add_widgets_and_nicknames(project: Project) -> str:
    """A schema change (a table, a column), created for review and then deployed; returns its folder."""
    project.add_to_schema(WIDGET_MODEL)
    project.schema.write_text(
        project.schema.read_text().replace("  name        String\n", "  name        String\n  nickname    String?\n", 1)
    )
    created = project.run("migrate", "add_widgets", "--create-only", "--json")
    assert created.returncode == 0, created.stderr
    assert project.run("deploy").returncode == 0
    return str(json.loads(created.stdout)["created"]).split("/")[1]


def test_revert_writes_a_migration_that_deploys_and_restores_the_previous_schema(
    project: Project, postgres: PostgresServer
) -> None:
    assert project.run("deploy").returncode == 0
    before = schema_of(postgres, project.database_url)
    reverted = add_widgets_and_nicknames(project)
    postgres.psql(
        "INSERT INTO users (id, email, name, nickname, updated_at)"
        " VALUES (gen_random_uuid(), 'a@b.org', 'A', 'a', now());"
        "INSERT INTO \"Widget\" VALUES (1, 'x'), (2, 'y')",
        url=project.database_url,
    )
    assert schema_of(postgres, project.database_url) != before

    result = project.run("revert", "add_widgets", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["reverted"] == reverted
    assert re.fullmatch(r"prisma_migrations/\d{8}_\d{6}_revert_add_widgets", report["created"])
    folder = project.root / report["created"]
    sql = (folder / "migration.sql").read_text()
    assert sql == report["sql"]
    assert 'DROP TABLE "public"."Widget";' in sql
    assert "-- breaking: TODO" in sql  # destructive: the reviewer must say why it is safe
    assert "-- WARNING drop-column (danger)" in sql
    # data loss flagged as in review, counted on the database
    warnings = {(w["rule"], w["affected_rows"]) for w in report["warnings"]}
    assert {("drop-table", 2), ("drop-column", 1)} <= warnings
    # written for review: nothing applied
    status = json.loads(project.run("status", "--json", "--no-drift").stdout)
    assert status["pending"] == [folder.name]
    lint = json.loads(project.run("lint-migrations", "--json").stdout)
    assert {f["rule"] for f in lint["findings"]} == {"unrecorded", "breaking-note"}

    (folder / "migration.sql").write_text(
        sql.replace("-- breaking: TODO: say what breaks, and why it is safe", "-- breaking: widgets were a test")
    )
    deployed = project.run("deploy", "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert json.loads(deployed.stdout)["applied"] == [folder.name]
    assert schema_of(postgres, project.database_url) == before
    assert project.run("lint-migrations").returncode == 0  # recorded by the development deploy


def test_reverse_sql_of_the_last_migration_is_what_rollback_applies(project: Project) -> None:
    """reverse_sql(history=...) diffs the given history with and without the migration; it writes nothing."""
    settings = load_settings(project_root=project.root)
    database = Database(project.database_url, None, embedded=False)
    history = local_migrations(settings)
    sql = revert.reverse_sql(settings, database, HISTORY[2], history=history)
    assert sorted(re.findall(r'DROP INDEX "public"\."(\w+)";', sql)) == [
        "magic_link_tokens_expires_at_idx",
        "magic_link_tokens_user_id_idx",
        "question_attempts_question_id_is_correct_idx",
        "question_attempts_selected_option_id_idx",
        "question_attempts_user_id_answered_at_idx",
        "questions_domain_active_idx",
    ]
    assert 'DROP TABLE "public"."users"' in revert.reverse_sql(settings, database, HISTORY[0], history=history[:1])
    assert [m.name for m in local_migrations(settings)] == HISTORY


def test_a_migration_later_ones_depend_on_cannot_be_reverted_alone(project: Project) -> None:
    """Reverting the magic link tokens table would break the later index migration: refused, nothing written."""
    result = project.run("revert", "add_magic_link_tokens")
    assert result.returncode == 1
    assert "Cannot compute the reverse of 20240102_140000_add_magic_link_tokens" in result.stderr
    assert "20240103_100000_add_indexes" in result.stderr
    assert project.migration_folders() == HISTORY


def test_a_data_migration_has_no_automatic_reverse(project: Project) -> None:
    project.write_migration("20990101_000000_backfill", 'UPDATE "users" SET "name" = btrim("name");\n')
    result = project.run("revert", "20990101_000000_backfill")
    assert result.returncode == 1
    assert "changes no schema" in result.stderr
    assert "acams-db migrate-data revert_backfill" in result.stderr  # the words of the command typed
    assert project.migration_folders() == [*HISTORY, "20990101_000000_backfill"]


def test_revert_of_an_unknown_migration_says_so(project: Project) -> None:
    result = project.run("revert", "no_such_migration")
    assert result.returncode == 1
    assert "No migration no_such_migration in prisma_migrations/" in result.stderr


def test_revert_names_are_shortened_to_the_naming_limit() -> None:
    long_name = "20240101_120000_" + "a" * 60
    assert revert.revert_name(long_name) == "revert_" + "a" * 53
    assert revert.revert_name("20240103_100000_add_indexes") == "revert_add_indexes"
