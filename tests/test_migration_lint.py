"""lint-migrations: each rule triggered and not triggered, on migration folders alone (no database)."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from acams_db.migrations import manifest
from acams_db.migrations.lint import Finding, lint_migrations
from tests.support import REPOSITORY, copy_project, next_migration

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
RECORDED = "20240101_120000_init"
INIT_SQL = 'CREATE TABLE "notes" ("id" INT NOT NULL, "body" TEXT);\n'
NO_DATABASE = "postgresql://nobody:secret@127.0.0.1:9/nowhere"  # nothing listens there


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A history of one recorded migration."""
    folder = tmp_path / "prisma_migrations"
    folder.mkdir()
    write(folder, RECORDED, INIT_SQL)
    record(folder, RECORDED)
    return folder


def write(migrations_dir: Path, name: str, sql: str) -> Path:
    (migrations_dir / name).mkdir()
    (migrations_dir / name / "migration.sql").write_text(sql)
    return migrations_dir / name / "migration.sql"


def record(migrations_dir: Path, name: str) -> None:
    checksum = hashlib.sha256((migrations_dir / name / "migration.sql").read_bytes()).hexdigest()
    manifest.record(migrations_dir, {name: checksum})


def add(migrations_dir: Path, sql: str, name: str = "20240105_090000_change") -> Path:
    """A new migration, recorded as `make deploy` would in development."""
    path = write(migrations_dir, name, sql)
    record(migrations_dir, name)
    return path


def found(migrations_dir: Path) -> list[tuple[str, int | None, str]]:
    return [(f.file, f.line, f.rule) for f in lint_migrations(migrations_dir, now=NOW)]


def test_the_repository_history_passes() -> None:
    """The committed history and manifest have no finding at all."""
    assert lint_migrations(REPOSITORY / "prisma_migrations") == []


def test_a_clean_history_passes(migrations_dir: Path) -> None:
    assert found(migrations_dir) == []


@pytest.mark.parametrize("name", ["add_stuff", "2024010_120000_short", "20240104_120000_Add_Stuff", "20240104_1200_x"])
def test_folder_names_must_follow_the_convention(migrations_dir: Path, name: str) -> None:
    add(migrations_dir, "SELECT 1;", name)
    assert (f"prisma_migrations/{name}/", None, "naming") in found(migrations_dir)


def test_a_folder_must_carry_a_real_date(migrations_dir: Path) -> None:
    add(migrations_dir, "SELECT 1;", "20241340_120000_bad_month")
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.rule, finding.message) == ("naming", "20241340_120000 is not a real date and time")


def test_a_migration_dated_in_the_future_fails(migrations_dir: Path) -> None:
    add(migrations_dir, "SELECT 1;", "20240601_120001_later")
    assert found(migrations_dir) == [("prisma_migrations/20240601_120001_later/", None, "future-date")]
    assert lint_migrations(migrations_dir, now=datetime(2024, 6, 1, 12, 0, 1, tzinfo=UTC)) == []


def test_a_new_migration_sorting_before_recorded_ones_fails(migrations_dir: Path) -> None:
    """'In order': a folder not yet recorded must not sort before the newest recorded one."""
    add(migrations_dir, "SELECT 1;", "20240301_000000_newest")
    write(migrations_dir, "20240201_000000_late_branch", "SELECT 1;")
    assert found(migrations_dir) == [
        ("prisma_migrations/20240201_000000_late_branch/", None, "unrecorded"),
        ("prisma_migrations/20240201_000000_late_branch/", None, "order"),
    ]


def test_an_unrecorded_migration_fails_until_applied_in_development(migrations_dir: Path) -> None:
    write(migrations_dir, "20240301_000000_hand_written", "SELECT 1;")
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert finding.rule == "unrecorded"
    assert "make deploy" in finding.message
    record(migrations_dir, "20240301_000000_hand_written")
    assert found(migrations_dir) == []


def test_an_edited_migration_fails_with_both_checksums(migrations_dir: Path) -> None:
    sql = migrations_dir / RECORDED / "migration.sql"
    before = hashlib.sha256(sql.read_bytes()).hexdigest()
    sql.write_text(INIT_SQL + "-- a harmless comment is an edit too\n")
    after = hashlib.sha256(sql.read_bytes()).hexdigest()
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.file, finding.rule) == (f"prisma_migrations/{RECORDED}/migration.sql", "modified")
    assert before in finding.message and after in finding.message


def test_a_deleted_migration_fails_at_its_manifest_line(migrations_dir: Path) -> None:
    add(migrations_dir, "SELECT 1;")
    shutil.rmtree(migrations_dir / RECORDED)
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.file, finding.rule) == ("prisma_migrations/manifest.json", "deleted")
    line = (migrations_dir / "manifest.json").read_text().splitlines()[(finding.line or 0) - 1]
    assert RECORDED in line


def test_a_malformed_manifest_is_reported_with_its_line(migrations_dir: Path) -> None:
    (migrations_dir / "manifest.json").write_text('{\n  "migrations": {\n    "x": 1,\n  }\n}\n')
    (finding,) = lint_migrations(migrations_dir, now=NOW)  # edits and deletions cannot be checked then
    assert (finding.file, finding.line, finding.rule) == ("prisma_migrations/manifest.json", 4, "manifest")
    assert "not valid JSON" in finding.message


def test_a_folder_without_migration_sql_fails(migrations_dir: Path) -> None:
    (migrations_dir / "20240301_000000_empty").mkdir()
    assert found(migrations_dir) == [("prisma_migrations/20240301_000000_empty/", None, "no-sql")]


def test_sql_that_does_not_parse_fails_at_its_line(migrations_dir: Path) -> None:
    add(migrations_dir, "SELECT 1;\nUPDATE notes SET body = 'x' WHER id = 1;\n")
    assert found(migrations_dir) == [("prisma_migrations/20240105_090000_change/migration.sql", 2, "sql-syntax")]


def test_schema_and_data_changes_in_one_migration_fail(migrations_dir: Path) -> None:
    add(migrations_dir, 'ALTER TABLE "notes" ADD COLUMN "title" TEXT;\n\nUPDATE "notes" SET "title" = "body";\n')
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.line, finding.rule) == (3, "mixed-schema-and-data")
    assert "make migrate-data" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        # DDL words in string literals, dollar quotes and comments of a data migration
        'UPDATE "notes" SET "body" = \'ALTER TABLE notes DROP COLUMN body; CREATE TABLE x (id int)\';\n',
        'INSERT INTO "notes" ("id", "body") VALUES (1, $$DROP TABLE notes$$);\n',
        '-- ALTER TABLE "notes" ADD COLUMN "title" TEXT;\n/* CREATE INDEX */ UPDATE "notes" SET "body" = \'x\';\n',
        # DML words in a schema migration's comments and function bodies
        '-- then UPDATE notes and DELETE old rows\nALTER TABLE "notes" ADD COLUMN "title" TEXT;\n',
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM notes $$;\n",
        # a data migration with its transaction around it
        'BEGIN;\nSET LOCAL lock_timeout = \'5s\';\nUPDATE "notes" SET "body" = \'x\' WHERE "body" IS NULL;\nCOMMIT;\n',
    ],
)
def test_keywords_inside_strings_comments_and_bodies_do_not_mix(migrations_dir: Path, sql: str) -> None:
    add(migrations_dir, sql)
    assert found(migrations_dir) == []


def test_a_do_block_mixing_schema_and_data_fails(migrations_dir: Path) -> None:
    add(
        migrations_dir,
        'DO $$\nBEGIN\n  ALTER TABLE "notes" ADD COLUMN "n" INT;\n  UPDATE "notes" SET "n" = 1;\nEND $$;\n',
    )
    assert [f.rule for f in lint_migrations(migrations_dir, now=NOW)] == ["mixed-schema-and-data"]


def test_a_destructive_migration_without_a_breaking_note_fails(migrations_dir: Path) -> None:
    add(migrations_dir, '-- drop the body\nALTER TABLE "notes" DROP COLUMN "body";\n')
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.line, finding.rule) == (2, "breaking-note")
    assert "drop-column on line 2" in finding.message


def test_a_breaking_note_documents_a_destructive_migration(migrations_dir: Path) -> None:
    add(migrations_dir, '-- breaking: notes.body has been unused since the March release\nDROP TABLE "notes";\n')
    assert found(migrations_dir) == []


def test_a_readme_documents_a_destructive_migration(migrations_dir: Path) -> None:
    add(migrations_dir, 'DROP TABLE "notes";\n')
    (migrations_dir / "20240105_090000_change" / "README.md").write_text("Notes moved to the wiki in March.\n")
    assert found(migrations_dir) == []


def test_the_unfilled_breaking_note_template_fails(migrations_dir: Path) -> None:
    add(migrations_dir, '-- breaking: TODO: say what breaks, and why it is safe\nDROP TABLE "notes";\n')
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert finding.rule == "breaking-note"
    assert "still the template" in finding.message


def test_a_breaking_note_inside_a_string_does_not_count(migrations_dir: Path) -> None:
    add(migrations_dir, 'DROP TABLE "notes";\nCOMMENT ON TABLE "users" IS \'-- breaking: not a comment\';\n')
    assert [f.rule for f in lint_migrations(migrations_dir, now=NOW)] == ["breaking-note"]


@pytest.mark.parametrize(
    "statement",
    [
        'CREATE INDEX CONCURRENTLY "notes_body_idx" ON "notes"("body")',
        'DROP INDEX CONCURRENTLY "notes_body_idx"',
        'REINDEX INDEX CONCURRENTLY "notes_body_idx"',
        "REINDEX SCHEMA public",
        'VACUUM "notes"',
        "CLUSTER",
        'ALTER TABLE "notes" DETACH PARTITION "notes_2024" CONCURRENTLY',
        "CREATE DATABASE reports",
        "DROP DATABASE reports",
        "CREATE TABLESPACE fast LOCATION '/ssd'",
        "ALTER SYSTEM SET work_mem = '64MB'",
        "DISCARD ALL",
    ],
)
def test_a_statement_postgresql_refuses_in_a_transaction_must_be_alone(migrations_dir: Path, statement: str) -> None:
    """A migration of several statements is one transaction; these are refused there, so the deploy would fail."""
    add(migrations_dir, f"-- alone in its migration\n{statement};\n")
    assert found(migrations_dir) == []
    add(migrations_dir, f"SET lock_timeout = '5s';\n{statement};\n", "20240106_090000_with_another")
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.line, finding.rule) == (2, "outside-transaction"), finding
    assert "cannot run inside a transaction block" in finding.message and "alone" in finding.message


def test_statements_postgresql_allows_in_a_transaction_pass(migrations_dir: Path) -> None:
    add(migrations_dir, 'CREATE INDEX "notes_body_idx" ON "notes"("body");\nANALYZE "notes";\nREINDEX TABLE "notes";\n')
    assert found(migrations_dir) == []


def test_a_new_enum_value_used_in_the_same_migration_fails(migrations_dir: Path) -> None:
    add(
        migrations_dir,
        "CREATE TYPE \"Mood\" AS ENUM ('calm');\n",
        "20240105_090000_mood",
    )
    add(
        migrations_dir,
        'ALTER TYPE "Mood" ADD VALUE \'tense\';\nALTER TABLE "notes" ADD COLUMN "mood" "Mood" DEFAULT \'tense\';\n',
        "20240106_090000_tense",
    )
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.line, finding.rule) == (2, "new-enum-value")
    assert "'tense', added on line 1" in finding.message


def test_a_new_enum_value_used_in_a_later_migration_passes(migrations_dir: Path) -> None:
    add(migrations_dir, 'ALTER TYPE "Mood" ADD VALUE \'tense\';\nCREATE TABLE "other" ("id" INT);\n')
    add(migrations_dir, 'ALTER TABLE "notes" ADD COLUMN "mood" "Mood" DEFAULT \'tense\';\n', "20240106_090000_use")
    assert found(migrations_dir) == []


def test_dynamic_sql_is_a_warning_not_an_error(migrations_dir: Path) -> None:
    add(migrations_dir, "DO $$ BEGIN EXECUTE 'UPDATE notes SET body = NULL'; END $$;\n")
    (finding,) = lint_migrations(migrations_dir, now=NOW)
    assert (finding.rule, finding.severity) == ("dynamic-sql", "warning")


def test_finding_lines_read_file_line_rule_message() -> None:
    finding = Finding("prisma_migrations/x/migration.sql", 3, "mixed-schema-and-data", "error", "splits")
    assert str(finding) == "prisma_migrations/x/migration.sql:3: mixed-schema-and-data: splits"


def test_the_command_needs_no_database_and_exits_non_zero_on_errors(tmp_path: Path) -> None:
    """lint-migrations runs with an unreachable DATABASE_URL; one line per finding; --json for CI."""
    project = copy_project(tmp_path / "project", NO_DATABASE)
    clean = project.run("lint-migrations")
    assert (clean.returncode, clean.stdout.strip()) == (0, "No problems."), clean.stderr

    mixed = next_migration("mixed")
    write(project.migrations, mixed, 'CREATE TABLE "t" ("id" INT);\nINSERT INTO "t" VALUES (1);\n')
    result = project.run("lint-migrations")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"prisma_migrations/{mixed}/: unrecorded: not recorded in manifest.json: apply it in "
        "development (make deploy) to record its checksum, then commit it with the manifest",
        f"prisma_migrations/{mixed}/migration.sql:2: mixed-schema-and-data: changes the schema "
        "(line 1) and the data (line 2) in one migration: split it into a schema migration (make migrate) and "
        "a data migration (make migrate-data)",
        "2 error(s), 0 warning(s).",
    ]
    as_json = json.loads(project.run("lint-migrations", "--json").stdout)
    assert as_json["ok"] is False
    assert [(f["line"], f["rule"], f["severity"]) for f in as_json["findings"]] == [
        (None, "unrecorded", "error"),
        (2, "mixed-schema-and-data", "error"),
    ]
