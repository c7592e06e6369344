"""make preflight: the deployment checklist on a clean set-up, a reviewed change and a broken one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import PostgresServer, Project


@pytest.fixture
def staging_url(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


def preflight(project: Project, staging_url: str) -> tuple[int, dict[str, dict[str, str]]]:
    """Run preflight for production (the project's database), staging configured in .env.staging."""
    (project.root / ".env.staging").write_text(f"DATABASE_URL={staging_url}\n")
    result = project.run("preflight", "--json")
    checks = {check["item"].split(" (")[0]: check for check in json.loads(result.stdout)["checks"]}
    assert "environment: production" in result.stderr
    return result.returncode, checks


def test_clean_setup_is_ready(project: Project, staging_url: str) -> None:
    assert project.run("deploy").returncode == 0
    code, checks = preflight(project, staging_url)
    assert code == 0, checks
    assert {check["outcome"] for check in checks.values()} == {"passed"}
    assert checks["migration lint"]["detail"] == "make lint-migrations is clean"


def test_a_reviewed_change_applied_on_staging_needs_a_person_only(
    project: Project, postgres: PostgresServer, staging_url: str
) -> None:
    development_url = postgres.create_database()
    try:
        for url in (project.database_url, staging_url, development_url):
            assert project.run("deploy", "--no-backup", DATABASE_URL=url, ACAMS_ENV="staging").returncode == 0
        # Made with make migrate in development (which records it), deployed to staging; pending in production.
        project.schema.write_text(
            project.schema.read_text().replace('  @@map("users")', '  @@index([name])\n  @@map("users")')
        )
        created = project.run("migrate", "index_user_names", "--json", DATABASE_URL=development_url)
        assert created.returncode == 0, created.stderr
        folder = str(json.loads(created.stdout)["created"]).split("/")[1]
        assert project.run("deploy", "--no-backup", DATABASE_URL=staging_url, ACAMS_ENV="staging").returncode == 0

        code, checks = preflight(project, staging_url)
        assert code == 0, checks
        assert checks["applied on staging first"]["outcome"] == "passed"
        assert checks["review the migration SQL"]["outcome"] == "needs a person"
        assert "index-without-concurrently" in checks["review the migration SQL"]["detail"]
        assert checks["maintenance window"]["outcome"] == "needs a person"
        assert folder in checks["maintenance window"]["detail"]
        assert checks["backup before applying"]["outcome"] == "passed"
        assert "make deploy takes one first" in checks["backup before applying"]["detail"]
    finally:
        postgres.drop_database(development_url)


def test_a_broken_setup_fails(project: Project, staging_url: str) -> None:
    assert project.run("deploy").returncode == 0
    # Destructive, undocumented, never applied in development nor on staging, touching the questions.
    project.write_migration("20990101_000000_drop_explanations", 'ALTER TABLE "questions" DROP COLUMN "explanation";\n')
    project.schema.write_text(project.schema.read_text() + "\nmodel   Badly_Formatted {\n id Int @id\n}\n")

    code, checks = preflight(project, staging_url)
    assert code == 1
    failed = {item for item, check in checks.items() if check["outcome"] == "failed"}
    assert failed >= {"schema.prisma is formatted", "migration lint", "applied on staging first"}
    assert "breaking" in checks["migration lint"]["detail"]
    assert checks["seed script follows the Question model"]["outcome"] == "needs a person"
    assert "20990101_000000_drop_explanations" in checks["applied on staging first"]["detail"]


def _newest_backup(project: Project) -> tuple[Path, Path]:
    archive = max((project.root / "backups" / "production").glob("*.dump"))
    return archive, archive.with_suffix(".json")


def test_a_backup_that_restore_rejects_fails_the_backup_item(project: Project, staging_url: str) -> None:
    assert project.run("deploy").returncode == 0
    assert project.run("backup", ACAMS_ENV="production").returncode == 0
    archive, _ = _newest_backup(project)
    content = bytearray(archive.read_bytes())
    content[-1] ^= 0xFF  # same size, another SHA-256
    archive.write_bytes(bytes(content))
    code, checks = preflight(project, staging_url)
    assert code != 0
    assert checks["backup before applying"]["outcome"] == "failed"
    assert "SHA-256" in checks["backup before applying"]["detail"]


def test_a_backup_dated_in_the_future_is_not_believed(project: Project, staging_url: str) -> None:
    assert project.run("deploy").returncode == 0
    assert project.run("backup", ACAMS_ENV="production").returncode == 0
    _, metadata = _newest_backup(project)
    document = json.loads(metadata.read_text())
    document["created_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    metadata.write_text(json.dumps(document))
    code, checks = preflight(project, staging_url)
    assert code != 0
    assert checks["backup before applying"]["outcome"] == "failed"
    assert "in the future" in checks["backup before applying"]["detail"]
