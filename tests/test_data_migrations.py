"""migrate-data: an empty data-only migration from a transaction template, which lint accepts and deploy applies."""

from __future__ import annotations

import json
import re
from pathlib import Path

from acams_db.migrations.data_migration import TEMPLATE
from tests.support import PostgresServer, Project, copy_project

NO_DATABASE = "postgresql://nobody:secret@127.0.0.1:9/nowhere"  # nothing listens there
EXAMPLE = '-- UPDATE "users" SET "new_field" = lower("name") WHERE "new_field" IS NULL;'


def create(project: Project, name: str) -> Path:
    result = project.run("migrate-data", name, "--json")
    assert result.returncode == 0, result.stderr
    return project.root / json.loads(result.stdout)["created"] / "migration.sql"


def test_migrate_data_writes_the_template_by_the_naming_convention(tmp_path: Path) -> None:
    """Only files are written: no database is needed. Lint accepts it as data-only; it is merely unrecorded."""
    project = copy_project(tmp_path / "project", NO_DATABASE)
    sql = create(project, "backfill_nicknames")
    assert re.fullmatch(r"\d{8}_\d{6}_backfill_nicknames", sql.parent.name)
    assert sql.read_text() == TEMPLATE.replace("NAME", "backfill_nicknames", 1)
    assert "BEGIN;" in sql.read_text() and "COMMIT;" in sql.read_text()
    lint = json.loads(project.run("lint-migrations", "--json").stdout)
    assert [f["rule"] for f in lint["findings"]] == ["unrecorded"]


def test_migrate_data_refuses_a_bad_name_and_creates_nothing(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", NO_DATABASE)
    before = project.migration_folders()
    result = project.run("migrate-data", "Backfill Names")
    assert result.returncode == 2
    assert "Invalid migration name" in result.stderr
    assert project.migration_folders() == before


def deploy_with_user(project: Project, postgres: PostgresServer, name: str) -> None:
    assert project.run("deploy").returncode == 0
    postgres.psql(
        f"INSERT INTO users (id, email, name, updated_at) VALUES (gen_random_uuid(), 'a@b.org', '{name}', now())",
        url=project.database_url,
    )


def test_a_filled_in_data_migration_deploys_and_is_recorded(project: Project, postgres: PostgresServer) -> None:
    deploy_with_user(project, postgres, "  Ann ")
    sql = create(project, "trim_names")
    sql.write_text(
        sql.read_text().replace(EXAMPLE, 'UPDATE "users" SET "name" = btrim("name") WHERE "name" <> btrim("name");')
    )
    result = project.run("deploy", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["applied"] == [sql.parent.name]
    assert postgres.psql("SELECT name FROM users", url=project.database_url) == "Ann"
    assert project.run("lint-migrations").returncode == 0


def test_a_failing_check_undoes_the_whole_data_migration(project: Project, postgres: PostgresServer) -> None:
    """The template's transaction: an exception raised after an UPDATE leaves no change and a failed record."""
    deploy_with_user(project, postgres, "Ann")
    sql = create(project, "rename_everyone")
    sql.write_text(
        sql.read_text().replace(
            EXAMPLE,
            'UPDATE "users" SET "name" = \'Bob\';\n'
            "DO $$ BEGIN RAISE EXCEPTION 'check failed: %', (SELECT count(*) FROM \"users\"); END $$;",
        )
    )
    result = project.run("deploy")
    assert result.returncode == 1
    assert "check failed: 1" in result.stderr
    assert postgres.psql("SELECT name FROM users", url=project.database_url) == "Ann"
    status = json.loads(project.run("status", "--json", "--no-drift").stdout)
    assert status["failed"] == [sql.parent.name]
