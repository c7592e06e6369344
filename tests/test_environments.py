"""Environments: what staging and production refuse, their own databases, backups before deploys, redaction."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from acams_db import manifest
from acams_db.errors import RefusedError
from acams_db.migrations import LocalMigration
from tests.support import HISTORY, PostgresServer, Project, next_migration

REFUSED = RefusedError.exit_code


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(
    ("command", "advice"),
    [
        (("migrate", "add_widgets"), "make deploy applies the committed ones"),
        (("reset", "--force"), "make revert name="),
        (("setup",), "make deploy, then make seed"),
    ],
)
def test_development_commands_are_refused_outside_development(
    project: Project, postgres: PostgresServer, environment: str, command: tuple[str, ...], advice: str
) -> None:
    result = project.run(*command, ACAMS_ENV=environment)
    assert result.returncode == REFUSED, result.stderr
    assert f"is a development command and is refused in {environment}" in result.stderr
    assert advice in result.stderr
    assert postgres.tables(project.database_url) == []  # nothing touched


def test_production_refuses_the_embedded_database(project: Project) -> None:
    result = project.run("status", ACAMS_ENV="production", DATABASE_URL=None)
    assert result.returncode == REFUSED
    assert "production has no DATABASE_URL" in result.stderr
    assert not (project.root / ".data").exists()  # no embedded server was started


@pytest.mark.parametrize(
    ("files", "acting_as"),
    [
        ({".env.development": "URL"}, "production"),  # production's URL is development's too
        ({".env": "URL"}, "production"),  # a shared .env gives every environment the same database
        ({".env.production": "URL"}, "development"),  # development pointed at production's database
    ],
)
def test_a_database_shared_with_production_is_refused(
    project: Project, postgres: PostgresServer, files: dict[str, str], acting_as: str
) -> None:
    for name in files:
        (project.root / name).write_text(f"DATABASE_URL={project.database_url}\n")
    result = project.run("deploy", ACAMS_ENV=acting_as)
    assert result.returncode == REFUSED, result.stderr
    assert "production must have a database of its own" in result.stderr
    assert postgres.tables(project.database_url) == []


def test_each_environment_uses_the_database_its_file_names(project: Project, postgres: PostgresServer) -> None:
    """Two databases, one per environment, configured in .env.staging and .env.production only."""
    production_url = postgres.create_database()
    try:
        (project.root / ".env.staging").write_text(f"DATABASE_URL={project.database_url}\n")
        (project.root / ".env.production").write_text(f"DATABASE_URL={production_url}\n")
        staging = project.run("deploy", "--env", "staging", "--json", DATABASE_URL=None)
        assert staging.returncode == 0, staging.stderr
        assert json.loads(staging.stdout)["applied"] == HISTORY
        assert postgres.tables(production_url) == []

        production = project.run("deploy", "--json", ACAMS_ENV="production", DATABASE_URL=None)
        assert production.returncode == 0, production.stderr
        assert "environment: production" in production.stderr
        assert json.loads(production.stdout)["applied"] == HISTORY
        assert "users" in postgres.tables(production_url)
    finally:
        postgres.drop_database(production_url)


def test_production_deploy_backs_up_first_and_logs_it(project: Project, postgres: PostgresServer) -> None:
    result = project.run("deploy", "--json", ACAMS_ENV="production")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    backup = Path(report["backup"]["path"])
    assert backup.parent == project.root / "backups" / "production"
    assert backup.is_file() and backup.stat().st_size == report["backup"]["size"]
    assert report["backup"]["last_migration"] is None  # taken before anything was applied
    assert "Backup written:" in result.stderr

    again = project.run("deploy", "--json", ACAMS_ENV="production")
    assert json.loads(again.stdout) == {"applied": [], "backup": None, "backup_skipped": False}  # nothing pending

    log = [json.loads(line) for line in (backup.parent / "deploys.jsonl").read_text().splitlines()]
    assert [entry["outcome"] for entry in log] == ["ok", "ok"]
    assert log[0]["applied"] == HISTORY and log[0]["backup"] == str(backup)


def test_production_deploy_aborts_when_the_backup_fails(project: Project, postgres: PostgresServer) -> None:
    (project.root / "backups").mkdir()
    (project.root / "backups" / "production").write_text("a file where the backup folder should be")
    result = project.run("deploy", ACAMS_ENV="production")
    assert result.returncode == 1
    assert "Deploy aborted, nothing applied: the backup failed." in result.stderr
    assert postgres.tables(project.database_url) == []


def test_deploy_without_backup_must_be_explicit_and_is_logged(project: Project) -> None:
    result = project.run("deploy", "--no-backup", "--json", ACAMS_ENV="staging")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backup_skipped"] is True
    assert "WITHOUT a backup (--no-backup)" in result.stderr
    (entry,) = (json.loads(line) for line in (project.root / "backups/staging/deploys.jsonl").read_text().splitlines())
    assert entry["backup_skipped"] is True and entry["backup"] is None


def test_four_concurrent_production_deploys_apply_each_migration_once(
    project: Project, postgres: PostgresServer
) -> None:
    reports = project.run_at_once(4, "deploy", ACAMS_ENV="production")
    assert sorted(name for report in reports for name in report["applied"]) == HISTORY
    assert postgres.psql("SELECT count(*) FROM _prisma_migrations", url=project.database_url) == str(len(HISTORY))
    # Every deploy that saw pending migrations backed up, each into its own archive.
    archives = [report["backup"]["path"] for report in reports if report["backup"]]
    assert archives and len(set(archives)) == len(archives)
    assert all(Path(path).is_file() for path in archives)


SECRET = "Pa55-w0rd-n0t-for-logs"


def test_no_password_reaches_output_backups_or_logs(project: Project, postgres: PostgresServer) -> None:
    """A URL with a password: deploy, status, a failed deploy, backup, backups, restore in staging."""
    role = "acams_secret_owner"
    postgres.psql(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{SECRET}'")
    try:
        parts = urlsplit(project.database_url)
        server = parts.netloc.rsplit("@", 1)[-1]
        secret_url = urlunsplit(parts._replace(netloc=f"{role}:{SECRET}@{server}"))
        env = {"ACAMS_ENV": "staging", "DATABASE_URL": secret_url}
        outputs = [
            project.run("deploy", **env),
            project.run("status", "--json", **env),
            project.run("backup", "--json", **env),
            project.run("backups", **env),
        ]
        archive = json.loads(outputs[2].stdout)["path"]
        outputs.append(project.run("restore", archive, "--force", **env))
        broken = project.write_migration(next_migration("broken"), "SELECT * FROM nowhere;")
        # Staging applies only migrations applied in development first (recorded in manifest.json).
        manifest.record(project.migrations, {broken.name: LocalMigration(broken.name, broken).checksum})
        outputs.append(project.run("deploy", **env))
        assert [o.returncode for o in outputs] == [0, 0, 0, 0, 0, 1], [o.stderr for o in outputs]
        for output in outputs:
            assert SECRET not in output.stdout + output.stderr
            assert f"{role}:***@" in output.stdout + output.stderr  # the database is named, redacted
        for written in (project.root / "backups").rglob("*"):
            if written.is_file() and written.suffix in (".json", ".jsonl"):
                assert SECRET not in written.read_text(), written
    finally:
        postgres.psql(f"DROP OWNED BY {role} CASCADE; DROP ROLE {role}", url=project.database_url)
