"""make backup / make restore against a real PostgreSQL server: identical data back, refusals, retention."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from acams_db.errors import RefusedError
from tests.support import HISTORY, PostgresServer, Project, next_migration

DESTRUCTIVE = (
    "-- breaking: a test of restoring what it drops\n"
    'DROP TABLE "question_attempts";\n'
    'ALTER TABLE "questions" DROP COLUMN "explanation";\n'
    'CREATE TABLE "added_later" (id INT PRIMARY KEY);\n'
)


@pytest.fixture
def seeded(project: Project, postgres: PostgresServer) -> Project:
    """History applied, the question bank seeded, a learner with an attempt."""
    assert project.run("deploy").returncode == 0
    assert project.run("seed").returncode == 0
    postgres.psql(
        "WITH learner AS (INSERT INTO users (id, email, name, updated_at)"
        " VALUES (gen_random_uuid(), 'learner@example.org', 'L', now()) RETURNING id)"
        " INSERT INTO question_attempts (id, user_id, question_id, selected_label, is_correct)"
        " SELECT gen_random_uuid(), learner.id, (SELECT min(id) FROM questions), 'A', true FROM learner",
        url=project.database_url,
    )
    return project


def fingerprint(postgres: PostgresServer, url: str) -> dict[str, str]:
    """Row count and checksum of every table's content, keyed by table."""
    result = {}
    for table in postgres.tables(url):
        rows = f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table}\" t"
        result[table] = postgres.psql(rows, url=url)
    return result


def backup(project: Project, *arguments: str, **env: str) -> dict[str, object]:
    result = project.run("backup", "--json", *arguments, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_backup_then_destructive_migration_then_restore_gives_identical_data(
    seeded: Project, postgres: PostgresServer
) -> None:
    before = fingerprint(postgres, seeded.database_url)
    assert {"questions", "answer_options", "users", "question_attempts", "_prisma_migrations"} <= before.keys()
    written = backup(seeded, "--label", "before_cleanup")
    archive = Path(str(written["path"]))
    assert archive.parent == seeded.root / "backups" / "development"
    assert archive.name.endswith("_before_cleanup.dump")
    assert written["last_migration"] == HISTORY[-1]

    seeded.write_migration(next_migration("drop_attempts"), DESTRUCTIVE)
    assert seeded.run("deploy").returncode == 0
    assert fingerprint(postgres, seeded.database_url) != before

    result = seeded.run("restore", str(archive), "--force")
    assert result.returncode == 0, result.stderr
    assert fingerprint(postgres, seeded.database_url) == before  # added_later is gone too
    status = seeded.run("status", "--json", "--no-drift")
    assert json.loads(status.stdout)["pending"] == [next_migration("drop_attempts")]


def test_a_changed_archive_is_not_restored(seeded: Project, postgres: PostgresServer) -> None:
    archive = Path(str(backup(seeded)["path"]))
    before = fingerprint(postgres, seeded.database_url)
    with archive.open("ab") as stream:
        stream.write(b"tampered")
    result = seeded.run("restore", str(archive), "--force")
    assert result.returncode == 1
    assert "has changed since it was written" in result.stderr
    assert fingerprint(postgres, seeded.database_url) == before


def test_restore_needs_confirmation_off_a_terminal(seeded: Project) -> None:
    archive = str(backup(seeded)["path"])
    result = seeded.run("restore", archive)
    assert result.returncode == 1
    assert "needs confirmation" in result.stderr


def test_restore_in_production_needs_the_flag_and_the_database_name(seeded: Project, postgres: PostgresServer) -> None:
    production = {"ACAMS_ENV": "production"}
    archive = Path(str(backup(seeded, **production)["path"]))
    postgres.psql("DELETE FROM question_attempts", url=seeded.database_url)
    name = urlsplit(seeded.database_url).path.lstrip("/")
    for arguments in ([], ["--allow-production"], ["--allow-production", "--database", "acams"], ["--database", name]):
        result = seeded.run("restore", str(archive), *arguments, **production)
        assert result.returncode == RefusedError.exit_code, (arguments, result.stderr)
        assert "pass --allow-production and --database" in result.stderr
    assert postgres.psql("SELECT count(*) FROM question_attempts", url=seeded.database_url) == "0"

    result = seeded.run("restore", str(archive), "--allow-production", "--database", name, "--json", **production)
    assert result.returncode == 0, result.stderr
    assert postgres.psql("SELECT count(*) FROM question_attempts", url=seeded.database_url) == "1"
    safety = json.loads(result.stdout)["backup_before_restore"]
    assert Path(safety["path"]).is_file() and safety["label"] == "before_restore"


def test_only_the_newest_backups_are_kept(seeded: Project) -> None:
    paths = [Path(str(backup(seeded, "--label", label, BACKUP_KEEP="2")["path"])) for label in ("one", "two", "three")]
    assert [path.exists() for path in paths] == [False, True, True]
    assert not paths[0].with_suffix(".json").exists()
    listed = json.loads(seeded.run("backups", "--json").stdout)["backups"]
    assert [entry["label"] for entry in listed] == ["three", "two"]


def test_a_bad_label_is_refused_before_dumping(seeded: Project) -> None:
    result = seeded.run("backup", "--label", "../escape")
    assert result.returncode == 2
    assert "Invalid backup label '../escape'" in result.stderr
    assert not (seeded.root / "backups").exists()
