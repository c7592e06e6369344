"""make rollback in development: the last migration undone in the database, proven with a schema comparison."""

from __future__ import annotations

import json

import pytest

from acams_db.errors import RefusedError
from acams_db.migrations import manifest
from tests.support import HISTORY, WIDGET_MODEL, PostgresServer, Project, schema_of


def migrate_widgets(project: Project) -> str:
    project.add_to_schema(WIDGET_MODEL)
    created = project.run("migrate", "add_widgets", "--json")
    assert created.returncode == 0, created.stderr
    return str(json.loads(created.stdout)["created"]).split("/")[1]


def test_rollback_round_trip_restores_the_schema(project: Project, postgres: PostgresServer) -> None:
    assert project.run("deploy").returncode == 0
    before = schema_of(postgres, project.database_url)
    folder = migrate_widgets(project)
    assert folder in manifest.load(project.migrations).checksums
    assert schema_of(postgres, project.database_url) != before

    result = project.run("rollback", "--force", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["migration"] == folder and report["applied"] is True
    assert 'DROP TABLE "public"."Widget"' in report["sql"]
    assert [warning["rule"] for warning in report["warnings"]] == ["drop-table"]  # data loss is flagged

    assert schema_of(postgres, project.database_url) == before
    assert (project.migrations / folder / "migration.sql").is_file()  # left for the user to edit or delete
    assert folder not in manifest.load(project.migrations).checksums
    status = json.loads(project.run("status", "--json", "--no-drift").stdout)
    assert status["applied"] == HISTORY and status["pending"] == [folder]

    # Edited and applied again, it is a migration like any other.
    (project.migrations / folder / "migration.sql").write_text('CREATE TABLE "Widget" ("id" INTEGER PRIMARY KEY);\n')
    assert project.run("deploy").returncode == 0
    assert folder in manifest.load(project.migrations).checksums


def test_rollback_dry_run_changes_nothing(project: Project, postgres: PostgresServer) -> None:
    assert project.run("deploy").returncode == 0
    folder = migrate_widgets(project)
    after = schema_of(postgres, project.database_url)
    result = project.run("rollback", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"Rolling back {folder} with:" in result.stdout and 'DROP TABLE "public"."Widget"' in result.stdout
    assert schema_of(postgres, project.database_url) == after


def test_rollback_needs_confirmation_off_a_terminal(project: Project) -> None:
    assert project.run("deploy").returncode == 0
    result = project.run("rollback")
    assert result.returncode == 1
    assert "needs confirmation" in result.stderr


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_rollback_is_refused_outside_development(project: Project, environment: str) -> None:
    assert project.run("deploy").returncode == 0
    result = project.run("rollback", "--force", ACAMS_ENV=environment)
    assert result.returncode == RefusedError.exit_code
    assert "make revert name=" in result.stderr
    status = json.loads(project.run("status", "--json", "--no-drift").stdout)
    assert status["applied"] == HISTORY
