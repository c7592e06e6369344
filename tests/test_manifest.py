"""manifest.json: Prisma's checksum of each migration, recorded when first applied in development."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from acams_db.migrations import manifest
from tests.support import HISTORY, PostgresServer, Project, next_migration

NOTES = next_migration("add_notes")


def recorded(project: Project) -> dict[str, str]:
    return manifest.load(project.migrations).checksums


def test_the_committed_manifest_holds_prismas_checksums(project: Project, postgres: PostgresServer) -> None:
    """The manifest's checksums are the ones Prisma stores when it applies the history."""
    result = project.run("deploy")
    assert result.returncode == 0, result.stderr
    rows = postgres.psql("SELECT migration_name || ' ' || checksum FROM _prisma_migrations", url=project.database_url)
    assert dict(line.split(" ") for line in rows.splitlines()) == recorded(project)
    assert sorted(recorded(project)) == HISTORY


def test_prisma_ignores_the_manifest(project: Project) -> None:
    """deploy, status and the drift check (migrate diff --from-migrations) see the migrations, not the manifest."""
    assert (project.migrations / "manifest.json").is_file()
    assert project.run("deploy").returncode == 0
    result = project.run("status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["applied"] == HISTORY


def test_a_development_deploy_records_new_migrations(project: Project) -> None:
    assert project.run("deploy").returncode == 0
    folder = project.write_migration(NOTES, 'CREATE TABLE "notes" ("id" INT PRIMARY KEY);\n')
    assert NOTES not in recorded(project)
    assert project.run("deploy").returncode == 0
    assert recorded(project)[NOTES] == hashlib.sha256(folder.joinpath("migration.sql").read_bytes()).hexdigest()
    assert project.run("lint-migrations").returncode == 0


def test_create_only_is_recorded_once_deployed(project: Project) -> None:
    """A migration written for review may still be edited: it is recorded when applied, not when written."""
    assert project.run("deploy").returncode == 0
    project.add_to_schema("model Widget {\n  id    Int    @id\n  label String\n}\n")
    created = json.loads(project.run("migrate", "add_widgets", "--create-only", "--json").stdout)["created"]
    name = created.split("/")[1]
    assert name not in recorded(project)
    assert project.run("deploy").returncode == 0
    assert name in recorded(project)


def test_staging_refuses_an_unrecorded_migration_and_writes_nothing(project: Project) -> None:
    """Only development records: a staging or production checkout is never written to."""
    assert project.run("deploy", "--env", "staging").returncode == 0
    project.write_migration(NOTES, 'CREATE TABLE "notes" ("id" INT PRIMARY KEY);\n')
    before = (project.migrations / "manifest.json").read_text()
    result = project.run("deploy", "--env", "staging")
    assert result.returncode == 4
    assert f"{NOTES}/: unrecorded" in result.stderr
    assert (project.migrations / "manifest.json").read_text() == before


def test_a_migration_edited_after_apply_is_not_recorded(project: Project) -> None:
    """The manifest takes the checksum Prisma applied, never a later edit: the deploy refuses instead."""
    assert project.run("deploy").returncode == 0
    folder = project.write_migration(NOTES, 'CREATE TABLE "notes" ("id" INT PRIMARY KEY);\n')
    assert project.run("deploy").returncode == 0
    manifest.forget(project.migrations, NOTES)  # as if applied by a checkout without the manifest
    (folder / "migration.sql").write_text('CREATE TABLE "notes" ("id" BIGINT PRIMARY KEY);\n')
    result = project.run("deploy")
    assert result.returncode == 4
    assert f"{NOTES}/migration.sql was edited after it was applied here" in result.stderr
    assert NOTES not in recorded(project)


def test_a_withdrawn_migration_leaves_no_entry(project: Project, postgres: PostgresServer) -> None:
    """migrate withdraws a migration that fails to apply: no folder, no manifest entry."""
    assert project.run("deploy").returncode == 0
    postgres.psql(
        "INSERT INTO users (id, email, name, updated_at) VALUES (gen_random_uuid(), 'a@b.org', 'A', now())",
        url=project.database_url,
    )
    before = (project.migrations / "manifest.json").read_text()
    project.schema.write_text(
        project.schema.read_text().replace("  name        String\n", "  name        String\n  badge       String\n", 1)
    )
    assert project.run("migrate", "add_badge").returncode == 1
    assert (project.migrations / "manifest.json").read_text() == before
    assert project.migration_folders() == HISTORY


def test_forget_and_record_rewrite_the_file_whole(tmp_path: Path) -> None:
    assert manifest.record(tmp_path, {"20240101_120000_init": "a" * 64}) == ["20240101_120000_init"]
    assert manifest.record(tmp_path, {"20240101_120000_init": "b" * 64}) == []  # a recorded checksum never changes
    assert manifest.load(tmp_path).checksums == {"20240101_120000_init": "a" * 64}
    assert manifest.forget(tmp_path, "20240101_120000_init") is True
    assert manifest.load(tmp_path).checksums == {}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary file left behind
