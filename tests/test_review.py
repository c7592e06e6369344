"""review: pending migrations' SQL and warnings, with the rows each warning affects on a real database."""

from __future__ import annotations

import json

import pytest

from acams_db.migrations import review
from acams_db.runtime.database import Database
from acams_db.settings import load_settings
from tests.support import HISTORY, PostgresServer, Project

DESTRUCTIVE = """\
-- breaking: last_login_at and magic links are replaced by sessions (released in v3)
ALTER TABLE "users" DROP COLUMN "last_login_at";
DROP TABLE "magic_link_tokens";
ALTER TABLE "users" ADD COLUMN "badge" TEXT NOT NULL;
ALTER TABLE "questions" ALTER COLUMN "topic" SET DATA TYPE VARCHAR(5);
CREATE UNIQUE INDEX "users_name_key" ON "users"("name");
ALTER TABLE "users" RENAME COLUMN "email" TO "mail";
COMMENT ON TABLE "users" IS 'DROP TABLE users; -- not a statement';
"""


def seed_rows(postgres: PostgresServer, project: Project) -> None:
    """Three users (two named alike, one who logged in), two magic links, one question."""
    postgres.psql(
        "INSERT INTO users (id, email, name, updated_at, last_login_at) VALUES"
        " (gen_random_uuid(), 'a@b.org', 'Ann', now(), now()),"
        " (gen_random_uuid(), 'b@b.org', 'Ann', now(), NULL),"
        " (gen_random_uuid(), 'c@b.org', 'Cy', now(), NULL);"
        "INSERT INTO magic_link_tokens (id, user_id, token_hash, expires_at)"
        " SELECT gen_random_uuid(), id, md5(id::text) || md5(email), now() FROM users WHERE name = 'Ann';"
        "INSERT INTO questions (id, domain, topic, stem, explanation, difficulty, reference, content_hash, updated_at)"
        " VALUES ('AML-0001', 'standards', 'FATF', 's', 'e', 'easy', 'r', repeat('0', 64), now())",
        url=project.database_url,
    )


@pytest.fixture
def deployed(project: Project, postgres: PostgresServer) -> Project:
    assert project.run("deploy").returncode == 0
    seed_rows(postgres, project)
    return project


def test_review_warns_about_each_risky_statement_with_rows_affected(deployed: Project) -> None:
    """A crafted destructive migration: every warning at its line, counted on the database's rows."""
    deployed.write_migration("20990101_000000_sessions", DESTRUCTIVE)
    result = deployed.run("review", "--json")
    assert result.returncode == 0, result.stderr
    (reviewed,) = json.loads(result.stdout)["migrations"]
    assert reviewed["name"] == "20990101_000000_sessions"
    assert reviewed["sql"] == DESTRUCTIVE
    assert reviewed["breaking_note"] == "last_login_at and magic links are replaced by sessions (released in v3)"
    warnings = [(w["line"], w["rule"], w["severity"], w["affected_rows"], w["affected"]) for w in reviewed["warnings"]]
    assert warnings == [
        (2, "drop-column", "danger", 1, "values lost"),
        (3, "drop-table", "danger", 2, "rows deleted"),
        (4, "not-null-without-default", "danger", 3, "rows (fails if any)"),
        (5, "type-change", "danger", 1, "values converted"),
        (6, "unique-constraint", "danger", 2, "rows with duplicate values"),
        (6, "index-without-concurrently", "warning", 3, "rows in the table"),
        (7, "rename", "danger", None, None),
    ]


def test_review_prints_the_sql_and_one_line_per_warning(deployed: Project) -> None:
    """Plain text when not on a terminal: numbered SQL lines, then file:line: rule (severity): message — count."""
    deployed.write_migration("20990101_000000_sessions", DESTRUCTIVE)
    result = deployed.run("review")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # no colours on a pipe
    assert '3 | DROP TABLE "magic_link_tokens";' in result.stdout.splitlines()
    assert (
        "prisma_migrations/20990101_000000_sessions/migration.sql:3: drop-table (danger): "
        "drops table magic_link_tokens and every row in it — 2 rows deleted"
    ) in result.stdout.splitlines()
    assert result.stdout.rstrip().endswith("1 migration(s) reviewed.")


def test_review_changes_nothing(deployed: Project, postgres: PostgresServer) -> None:
    deployed.write_migration("20990101_000000_sessions", DESTRUCTIVE)
    assert deployed.run("review").returncode == 0
    assert postgres.psql("SELECT count(*) FROM magic_link_tokens", url=deployed.database_url) == "2"
    assert postgres.psql("SELECT count(*) FROM _prisma_migrations", url=deployed.database_url) == str(len(HISTORY))


def test_review_covers_only_pending_migrations(deployed: Project) -> None:
    result = deployed.run("review", "--json")
    assert json.loads(result.stdout) == {"migrations": []}
    assert "No pending migrations." in deployed.run("review").stdout


def test_a_table_created_by_an_earlier_pending_migration_has_no_rows_to_warn_about(deployed: Project) -> None:
    """Pending migrations are reviewed as applied one after another."""
    deployed.write_migration("20990101_000000_notes", 'CREATE TABLE "notes" ("id" INT NOT NULL);\n')
    deployed.write_migration("20990102_000000_notes_index", 'CREATE INDEX "notes_id_idx" ON "notes"("id");\n')
    deployed.write_migration("20990103_000000_users_index", 'CREATE INDEX "users_name_idx" ON "users"("name");\n')
    result = deployed.run("review", "--json")
    reviews = {r["name"]: r["warnings"] for r in json.loads(result.stdout)["migrations"]}
    assert reviews["20990101_000000_notes"] == [] and reviews["20990102_000000_notes_index"] == []
    assert [(w["rule"], w["affected_rows"]) for w in reviews["20990103_000000_users_index"]] == [
        ("index-without-concurrently", 3)
    ]


def test_a_count_that_cannot_run_is_left_out(deployed: Project) -> None:
    """A column added by an earlier pending migration does not exist yet: its warning has no count."""
    deployed.write_migration("20990101_000000_add_nickname", 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;\n')
    deployed.write_migration(
        "20990102_000000_require_nickname", 'ALTER TABLE "users" ALTER COLUMN "nickname" SET NOT NULL;\n'
    )
    result = deployed.run("review", "--json")
    last = json.loads(result.stdout)["migrations"][-1]
    assert [(w["rule"], w["affected_rows"]) for w in last["warnings"]] == [("set-not-null", None)]


def test_review_pending_is_a_plain_function(deployed: Project) -> None:
    """What preflight calls: review_pending(settings, database) -> [MigrationReview]."""
    deployed.write_migration("20990101_000000_drop_tokens", '-- breaking: unused\nDROP TABLE "magic_link_tokens";\n')
    settings = load_settings(project_root=deployed.root)
    database = Database(deployed.database_url, None, embedded=False)
    (reviewed,) = review.review_pending(settings, database)
    assert reviewed.destructive
    (warning,) = reviewed.warnings
    assert (warning.rule, warning.affected_rows) == ("drop-table", 2)
    assert review.review_migrations(settings, None, [reviewed.name])[0].warnings[0].affected_rows is None
