"""Deploy refuses a history that status or lint-migrations calls broken, before it applies anything."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from acams_db.errors import RefusedError
from acams_db.migrations import manifest
from tests import deployed
from tests.support import HISTORY, PostgresServer, Project, next_migration, schema_of

# Every test starts from a deployed history.
deployed_template, project = deployed.deployed_template, deployed.project

# A good pending migration, which must stay pending while anything else is broken.
NOTES = next_migration("add_notes")
NOTES_SQL = 'CREATE TABLE "notes" ("id" INT PRIMARY KEY);\n'


@dataclass(frozen=True)
class Snapshot:
    records: str
    schema: list[str]


def snapshot(postgres: PostgresServer, project: Project) -> Snapshot:
    """Prisma's records (without times) and the schema: what a refused deploy must leave as it was."""
    records = postgres.psql(
        "SELECT migration_name, checksum, finished_at IS NULL, rolled_back_at IS NULL FROM _prisma_migrations"
        " ORDER BY 1",
        url=project.database_url,
    )
    return Snapshot(records, schema_of(postgres, project.database_url))


def record(project: Project, name: str) -> None:
    """Record a migration in manifest.json, as a development deploy does."""
    checksum = hashlib.sha256((project.migrations / name / "migration.sql").read_bytes()).hexdigest()
    manifest.record(project.migrations, {name: checksum})


def edit_an_applied_migration(project: Project, name: str = HISTORY[1]) -> list[str]:
    sql = project.migrations / name / "migration.sql"
    sql.write_text(sql.read_text() + "\n-- edited\n")
    return [f"prisma_migrations/{name}/migration.sql: modified:", "restore it"]


def edit_an_applied_migration_missing_from_the_manifest(project: Project) -> list[str]:
    """Status's check (the database's checksum), for a migration the manifest does not hold."""
    manifest.forget(project.migrations, HISTORY[-1])
    edit_an_applied_migration(project, HISTORY[-1])
    return [
        f"prisma_migrations/{HISTORY[-1]}/migration.sql was edited after it was applied here",
        f"git checkout -- prisma_migrations/{HISTORY[-1]}",
    ]


def delete_an_applied_migration(project: Project) -> list[str]:
    shutil.rmtree(project.migrations / HISTORY[2])
    return [f"{HISTORY[2]} is recorded but its folder is missing", f"git checkout -- prisma_migrations/{HISTORY[2]}"]


def delete_an_applied_migration_missing_from_the_manifest(project: Project) -> list[str]:
    manifest.forget(project.migrations, HISTORY[-1])
    shutil.rmtree(project.migrations / HISTORY[-1])
    return [f"prisma_migrations/{HISTORY[-1]}/ is applied here but missing", "never delete a migration"]


def add_a_badly_named_folder(project: Project) -> list[str]:
    project.write_migration("add_stuff", "SELECT 1;\n")
    return ["prisma_migrations/add_stuff/: naming:"]


def add_a_folder_dated_zero(project: Project) -> list[str]:
    """The issue's `00000000_000000_first`, which Prisma would apply after the newer ones."""
    project.write_migration("00000000_000000_first", 'CREATE TABLE "first" ("id" INT);\n')
    return ["prisma_migrations/00000000_000000_first/: naming: 00000000_000000 is not a real date and time"]


def add_a_folder_dated_in_the_future(project: Project) -> list[str]:
    project.write_migration("20990101_000000_later", 'CREATE TABLE "later" ("id" INT);\n')
    return ["prisma_migrations/20990101_000000_later/: future-date:"]


def add_an_unrecorded_folder_out_of_order(project: Project) -> list[str]:
    name = HISTORY[-1][:9] + "000000_late_branch"
    project.write_migration(name, 'CREATE TABLE "late" ("id" INT);\n')
    return [f"prisma_migrations/{name}/: order: sorts before {HISTORY[-1]}"]


def add_a_recorded_folder_sorting_before_applied_ones(project: Project) -> list[str]:
    """A branch merged late: recorded in development, but this database has newer migrations already."""
    name = HISTORY[-1][:9] + "000000_late_branch"
    project.write_migration(name, 'CREATE TABLE "late" ("id" INT);\n')
    record(project, name)
    return [f"prisma_migrations/{name}/ is pending but sorts before {HISTORY[-1]}", "out of order"]


def add_a_folder_without_migration_sql(project: Project) -> list[str]:
    (project.migrations / next_migration("empty")).mkdir()
    return [f"prisma_migrations/{next_migration('empty')}/: no-sql: has no migration.sql"]


def add_create_index_concurrently_next_to_another_statement(project: Project) -> list[str]:
    name = next_migration("index_names")
    project.write_migration(
        name, 'SET lock_timeout = \'5s\';\nCREATE INDEX CONCURRENTLY "users_name_idx" ON "users"("name");\n'
    )
    return [f"prisma_migrations/{name}/migration.sql:2: outside-transaction: CREATE INDEX CONCURRENTLY cannot run"]


def add_a_migration_mixing_schema_and_data(project: Project) -> list[str]:
    name = next_migration("mixed")
    project.write_migration(name, 'ALTER TABLE "users" ADD COLUMN "nick" TEXT;\nUPDATE "users" SET "nick" = "name";\n')
    return [f"prisma_migrations/{name}/migration.sql:2: mixed-schema-and-data:"]


BREAKAGES: list[Callable[[Project], list[str]]] = [
    edit_an_applied_migration,
    edit_an_applied_migration_missing_from_the_manifest,
    delete_an_applied_migration,
    delete_an_applied_migration_missing_from_the_manifest,
    add_a_badly_named_folder,
    add_a_folder_dated_zero,
    add_a_folder_dated_in_the_future,
    add_an_unrecorded_folder_out_of_order,
    add_a_recorded_folder_sorting_before_applied_ones,
    add_a_folder_without_migration_sql,
    add_create_index_concurrently_next_to_another_statement,
    add_a_migration_mixing_schema_and_data,
]


@pytest.mark.parametrize("break_history", BREAKAGES, ids=lambda function: function.__name__)
def test_deploy_refuses_a_broken_history_and_applies_nothing(
    project: Project, postgres: PostgresServer, break_history: Callable[[Project], list[str]]
) -> None:
    project.write_migration(NOTES, NOTES_SQL)
    before = snapshot(postgres, project)
    expected = break_history(project)
    result = project.run("deploy")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert "Nothing applied: the migration history is broken." in result.stderr
    for text in expected:
        assert text in result.stderr
    assert snapshot(postgres, project) == before
    assert "notes" not in postgres.tables(project.database_url)


def test_a_failed_migration_stops_deploy_with_the_refusal_code(project: Project, postgres: PostgresServer) -> None:
    broken = next_migration("broken")
    project.write_migration(broken, 'CREATE TABLE "broken" ("id" INT REFERENCES "nowhere"("id"));\n')
    assert project.run("deploy").returncode == 1  # the migration failed: PostgreSQL's error
    before = snapshot(postgres, project)
    again = project.run("deploy")
    assert again.returncode == RefusedError.exit_code
    assert f"acams-db resolve {broken} --as rolled-back" in again.stderr
    assert snapshot(postgres, project) == before


def test_status_names_a_folder_without_migration_sql_and_fails(project: Project) -> None:
    empty = next_migration("empty")
    (project.migrations / empty).mkdir()
    result = project.run("status")
    assert result.returncode == 1
    assert f"prisma_migrations/{empty}/ has no migration.sql" in result.stderr


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_outside_development_an_unrecorded_migration_is_refused(
    project: Project, postgres: PostgresServer, environment: str
) -> None:
    """A migration never applied in development (not in manifest.json) does not reach staging or production."""
    project.write_migration(NOTES, NOTES_SQL)
    before = snapshot(postgres, project)
    result = project.run("deploy", "--env", environment, "--no-backup")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert f"prisma_migrations/{NOTES}/: unrecorded: not recorded in manifest.json" in result.stderr
    assert snapshot(postgres, project) == before
    record(project, NOTES)
    assert project.run("deploy", "--env", environment, "--no-backup").returncode == 0
    assert "notes" in postgres.tables(project.database_url)


def test_in_development_deploy_applies_and_records_an_unrecorded_migration(
    project: Project, postgres: PostgresServer
) -> None:
    project.write_migration(NOTES, NOTES_SQL)
    result = project.run("deploy", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["applied"] == [NOTES]
    assert NOTES in manifest.load(project.migrations).checksums


def test_create_index_concurrently_alone_in_its_migration_deploys(project: Project, postgres: PostgresServer) -> None:
    """Alone, the statement runs outside a transaction block, as PostgreSQL requires."""
    name = next_migration("index_names")
    project.write_migration(name, 'CREATE INDEX CONCURRENTLY "users_name_idx" ON "users"("name");\n')
    result = project.run("deploy")
    assert result.returncode == 0, result.stderr
    indexes = postgres.psql("SELECT indexname FROM pg_indexes WHERE tablename = 'users'", url=project.database_url)
    assert "users_name_idx" in indexes.splitlines()


def test_reset_refuses_a_broken_history_before_dropping_anything(project: Project, postgres: PostgresServer) -> None:
    postgres.psql(
        "INSERT INTO users (id, email, name, updated_at) VALUES (gen_random_uuid(), 'a@b.org', 'A', now())",
        url=project.database_url,
    )
    expected = add_a_folder_dated_in_the_future(project)
    result = project.run("reset", "--force")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert expected[0] in result.stderr
    assert postgres.psql("SELECT count(*) FROM users", url=project.database_url) == "1"


@pytest.mark.parametrize("command", [["setup"], ["migrate", "add_widgets"]])
def test_setup_and_migrate_refuse_a_broken_history(
    project: Project, postgres: PostgresServer, command: list[str]
) -> None:
    project.add_to_schema("model Widget {\n  id Int @id\n}\n")
    folders = project.migration_folders()
    expected = edit_an_applied_migration(project)
    before = snapshot(postgres, project)
    result = project.run(*command)
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert expected[0] in result.stderr
    assert project.migration_folders() == folders  # migrate wrote nothing
    assert snapshot(postgres, project) == before


def test_migrate_withdraws_a_migration_the_lint_rejects(project: Project, postgres: PostgresServer) -> None:
    """A destructive change needs a -- breaking: note: migrate writes it for editing instead (create_only)."""
    project.schema.write_text(project.schema.read_text().replace("  name        String\n", "", 1))
    folders = project.migration_folders()
    result = project.run("migrate", "drop_user_name")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert "breaking-note" in result.stderr
    assert "acams-db migrate drop_user_name --create-only" in result.stderr
    assert project.migration_folders() == folders
    assert any(line.startswith("column users.name ") for line in schema_of(postgres, project.database_url))
