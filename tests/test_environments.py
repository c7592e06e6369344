"""Environments: what staging and production refuse, their own databases, backups before deploys, redaction."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from acams_db import database_url
from acams_db.errors import RefusedError
from acams_db.migrations import manifest
from acams_db.migrations.folder import LocalMigration
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


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_staging_and_production_refuse_the_embedded_database(project: Project, environment: str) -> None:
    result = project.run("status", ACAMS_ENV=environment, DATABASE_URL=None)
    assert result.returncode == REFUSED
    assert f"{environment} has no DATABASE_URL" in result.stderr
    assert f"Set DATABASE_URL in .env.{environment}" in result.stderr
    assert not (project.root / ".data").exists()  # no embedded server was started


def test_a_dotenv_made_as_dotenv_example_says_serves_development(project: Project) -> None:
    """Copy .env.example to .env and set DATABASE_URL: development works; production refuses that database."""
    text = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    assert "\nDATABASE_URL=embedded\n" in text
    (project.root / ".env").write_text(
        text.replace("\nDATABASE_URL=embedded\n", f"\nDATABASE_URL={project.database_url}\n")
    )
    development = project.run("status", DATABASE_URL=None)
    assert development.returncode == 13, development.stderr  # migrations pending: it reached the database
    production = project.run("status", ACAMS_ENV="production", DATABASE_URL=None)
    assert production.returncode == REFUSED
    assert "production would act on development's database" in production.stderr
    assert "from DATABASE_URL in .env line " in production.stderr


def test_an_unreadable_url_in_one_environments_file_stops_only_that_environment(project: Project) -> None:
    """An unquoted ' #' in .env.production cuts the value short (python-dotenv's comment rule)."""
    (project.root / ".env.production").write_text("DATABASE_URL=postgresql://acams:12 #Xy9Qz@db.example.org/acams\n")
    assert project.run("status").returncode == 13  # development is not affected
    production = project.run("status", ACAMS_ENV="production", DATABASE_URL=None)
    assert production.returncode == 1
    assert "DATABASE_URL in .env.production line 1 cannot be read" in production.stderr
    assert (
        "an unquoted value ends at ' #'" in production.stderr and "Put the value in single quotes" in production.stderr
    )
    assert "Traceback" not in production.stderr and "Xy9Qz" not in production.stderr and "12" not in production.stderr


def test_backups_reach_the_unix_socket_the_host_parameter_names(project: Project, postgres: PostgresServer) -> None:
    """`?host=` wins over the URL's host for pg_dump too (Prisma's rule), not only for migrate."""
    socket_dir = postgres.psql("SELECT current_setting('unix_socket_directories')").split(",")[0].strip()
    parsed = database_url.parse(project.database_url)
    credentials = f"{parsed.user}:{quote(parsed.password or '', safe='')}"
    url = f"postgresql://{credentials}@localhost:{parsed.server_port}/{parsed.database}?host={socket_dir}"
    assert project.run("deploy", "--no-backup", ACAMS_ENV="staging", DATABASE_URL=url).returncode == 0
    backup = project.run("backup", "--json", ACAMS_ENV="staging", DATABASE_URL=url)
    assert backup.returncode == 0, backup.stderr
    assert Path(json.loads(backup.stdout)["path"]).stat().st_size > 0


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


# Every character that means something in a URL, and non-ASCII.
SPECIAL_SECRET = "Qz7@k:/Vx?#W%&j= é+Y"


def _parts(secret: str, length: int) -> set[str]:
    return {secret[i : i + length] for i in range(len(secret) - length + 1)}


@pytest.mark.parametrize("spelling", ["raw in .env.staging", "percent-encoded in the environment"])
def test_a_password_with_every_special_character_connects_and_never_shows(
    project: Project, postgres: PostgresServer, spelling: str
) -> None:
    """deploy (its backup and log), status, backup, backups and database: no part of the password anywhere."""
    role = "acams_special_secret"
    postgres.psql(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{SPECIAL_SECRET}'")
    try:
        parsed = database_url.parse(project.database_url)
        query = f"?host={parsed.parameter('host')}" if parsed.parameter("host") else ""
        server = f"{parsed.host}:{parsed.server_port}" if parsed.host else ""
        if spelling.startswith("raw"):
            (project.root / ".env.staging").write_text(
                f"DATABASE_URL=postgresql://{role}:{SPECIAL_SECRET}@{server}/{parsed.database}{query}\n"
            )
            env: dict[str, str | None] = {"ACAMS_ENV": "staging", "DATABASE_URL": None}
        else:
            url = f"postgresql://{role}:{quote(SPECIAL_SECRET, safe='')}@{server}/{parsed.database}{query}"
            env = {"ACAMS_ENV": "staging", "DATABASE_URL": url}
        # The raw spelling goes through every command; the encoded one through Prisma and pg_dump.
        commands = [
            ("deploy", "--json"),
            ("status", "--json"),
            ("backup", "--json"),
            ("backups",),
            ("database", "--json"),
        ]
        outputs = [
            project.run(*command, **env) for command in (commands if spelling.startswith("raw") else commands[:3])
        ]
        assert [o.returncode for o in outputs] == [0] * len(outputs), [o.stderr for o in outputs]
        assert f"database: postgresql://{role}:***@" in outputs[0].stderr
        written = [p.read_text() for p in (project.root / "backups").rglob("*") if p.suffix in (".json", ".jsonl")]
        assert len(written) == 3  # the deploy's backup, the backup's, and the deploy log
        secrets = _parts(SPECIAL_SECRET, 4) | _parts(quote(SPECIAL_SECRET, safe=""), 6)
        for text in [o.stdout + o.stderr for o in outputs] + written:
            assert not [part for part in secrets if part in text], text
    finally:
        postgres.psql(f"DROP OWNED BY {role} CASCADE; DROP ROLE {role}", url=project.database_url)
