"""make backup / make restore against a real PostgreSQL server: identical data back, refusals, retention."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from acams_db.errors import RefusedError, ToolchainError
from acams_db.operations import backups
from tests.support import HISTORY, PostgresServer, Project, database_fingerprint, next_migration

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


def backup(project: Project, *arguments: str, **env: str) -> dict[str, object]:
    result = project.run("backup", "--json", *arguments, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_backup_then_destructive_migration_then_restore_gives_identical_data(
    seeded: Project, postgres: PostgresServer
) -> None:
    before = database_fingerprint(seeded.database_url)
    assert {"questions", "answer_options", "users", "question_attempts", "_prisma_migrations"} <= set(
        postgres.tables(seeded.database_url)
    )
    written = backup(seeded, "--label", "before_cleanup")
    archive = Path(str(written["path"]))
    assert archive.parent == seeded.root / "backups" / "development"
    assert archive.name.endswith("_before_cleanup.dump")
    assert written["last_migration"] == HISTORY[-1]

    seeded.write_migration(next_migration("drop_attempts"), DESTRUCTIVE)
    assert seeded.run("deploy").returncode == 0
    assert database_fingerprint(seeded.database_url) != before

    result = seeded.run("restore", str(archive), "--force")
    assert result.returncode == 0, result.stderr
    assert database_fingerprint(seeded.database_url) == before  # added_later is gone too
    status = seeded.run("status", "--json", "--no-drift")
    assert json.loads(status.stdout)["pending"] == [next_migration("drop_attempts")]


def test_a_changed_archive_is_not_restored(seeded: Project, postgres: PostgresServer) -> None:
    archive = Path(str(backup(seeded)["path"]))
    before = database_fingerprint(seeded.database_url)
    with archive.open("ab") as stream:
        stream.write(b"tampered")
    result = seeded.run("restore", str(archive), "--force")
    assert result.returncode == 1
    assert "has changed since it was written" in result.stderr
    assert database_fingerprint(seeded.database_url) == before


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


def test_each_kind_keeps_its_newest_backups_and_automatic_ones_never_push_out_others(seeded: Project) -> None:
    manual = [Path(str(backup(seeded, "--label", label, BACKUP_KEEP="2")["path"])) for label in ("one", "two")]
    automatic = seeded.run_at_once(3, "backup", "--label", "before_deploy", BACKUP_KEEP="2")
    assert all(path.exists() for path in manual)
    assert sum(Path(str(written["path"])).exists() for written in automatic) == 2
    three = Path(str(backup(seeded, "--label", "three", BACKUP_KEEP="2")["path"]))
    assert [path.exists() for path in (*manual, three)] == [False, True, True]
    assert not manual[0].with_suffix(".json").exists()
    listed = json.loads(seeded.run("backups", "--json").stdout)["backups"]
    assert [entry["label"] for entry in listed if entry["label"] != "before_deploy"] == ["three", "two"]


def test_backups_and_their_folder_are_private(seeded: Project) -> None:
    archive = Path(str(backup(seeded)["path"]))
    for folder in (archive.parent, archive.parent.parent):
        assert folder.stat().st_mode & 0o777 == 0o700
    for path in (archive, archive.with_suffix(".json")):
        assert path.stat().st_mode & 0o777 == 0o600


def test_foreign_files_are_listed_as_ignored_in_one_line_each_and_never_deleted(seeded: Project) -> None:
    archive = Path(str(backup(seeded)["path"]))
    folder = archive.parent
    foreign = {
        "stray.json": ("{}", "stray.json: no stray.dump beside it."),
        "notes.dump": ("PGDMP", "notes.dump: no notes.json beside it: not a backup made by acams-db backup."),
        "broken.json": ('{"label": ', "broken.json: not valid JSON: Expecting value (line 1, column 11)."),
        "broken.dump": ("PGDMP", None),
    }
    for name, (content, _) in foreign.items():
        (folder / name).write_text(content)
    result = seeded.run("backups", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [entry["path"] for entry in document["backups"]] == [str(archive)]
    expected = sorted(f"{folder}/{line}" for _, line in foreign.values() if line)
    assert sorted(document["ignored"]) == expected
    assert sorted(line for line in result.stderr.splitlines() if line.startswith("ignored: ")) == [
        f"ignored: {line}" for line in expected
    ]
    backup(seeded, BACKUP_KEEP="1")  # prunes: the foreign files stay
    assert all((folder / name).exists() for name in foreign)


def test_a_restore_from_metadata_that_is_not_json_is_refused_in_one_line(seeded: Project) -> None:
    archive = Path(str(backup(seeded)["path"]))
    archive.with_suffix(".json").write_text("not json")
    result = seeded.run("restore", str(archive), "--force")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {archive.with_suffix('.json')}: not valid JSON: Expecting value (line 1, column 1)."
    ]


LEFT_OUT = object()
VALID_METADATA = {
    "environment": "development",
    "label": "manual",
    "created_at": "2026-11-24T10:15:00+00:00",
    "database": "postgresql://acams:***@localhost:5432/acams",
    "schema": "public",
    "last_migration": None,
    "server_version": 180006,
    "size": 5,
    "sha256": "0" * 64,
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"size": "5"}, 'size: expected a number of bytes, got "5"'),
        ({"server_version": True}, "server_version: expected a PostgreSQL version number such as 180006, got true"),
        ({"created_at": "2026-11-24T10:15:00"}, "created_at: expected an ISO 8601 date and time with its UTC offset"),
        ({"sha256": "A" * 64}, "sha256: expected 64 lower-case hexadecimal digits"),
        ({"environment": "qa"}, 'environment: expected one of development, staging, production, got "qa"'),
        ({"label": "../x"}, 'label: expected a label such as before_deploy, got "../x"'),
        ({"last_migration": 3}, "last_migration: expected a migration name or null, got 3"),
        ({"schema": LEFT_OUT}, "missing field 'schema'"),
        ({"note": "hello"}, "unexpected field 'note'"),
        ([], "expected a JSON object, got list"),
    ],
)
def test_metadata_is_checked_field_by_field(
    tmp_path: Path, change: dict[str, object] | list[object], problem: str
) -> None:
    archive = tmp_path / "20261124_101500_manual.dump"
    archive.write_bytes(b"PGDMP")
    document = {k: v for k, v in {**VALID_METADATA, **change}.items() if v is not LEFT_OUT} if change else change
    archive.with_suffix(".json").write_text(json.dumps(document))
    with pytest.raises(ToolchainError) as refused:
        backups.read(archive)
    assert str(refused.value).startswith(f"{archive.with_suffix('.json')}: {problem}")


def test_the_next_backup_alone_removes_what_killed_backups_left(seeded: Project) -> None:
    complete = Path(str(backup(seeded)["path"]))
    folder = complete.parent
    killed_before_metadata = folder / "20260101_000000_manual.dump"
    killed_before_metadata.write_bytes(b"PGDMP half")
    leftovers = {
        folder / ".20260101_000000_manual.k1l2.partial": killed_before_metadata,  # its archive has no metadata
        folder / f".{complete.stem}.x9y8.partial": complete,  # killed after its metadata: a complete backup
    }
    for partial, archive in leftovers.items():
        os.link(archive, partial)
    (folder / f".{complete.stem}.json.m3n4.partial").write_text("{")
    (folder / "notes.dump").write_bytes(b"PGDMP of someone")  # not ours: stays
    with (folder / ".lock").open() as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # a backup being written: nothing is removed meanwhile
        newer = Path(str(backup(seeded)["path"]))
        assert all(partial.exists() for partial in leftovers)
    backup(seeded)
    names = {path.name for path in folder.iterdir()}
    assert not {name for name in names if name.endswith(".partial")}
    assert killed_before_metadata.name not in names
    assert {complete.name, complete.with_suffix(".json").name, newer.name, "notes.dump"} <= names
    assert json.loads(seeded.run("backups", "--json").stdout)["ignored"] == [
        f"{folder}/notes.dump: no notes.json beside it: not a backup made by acams-db backup."
    ]


def test_a_bad_label_is_refused_before_dumping(seeded: Project) -> None:
    result = seeded.run("backup", "--label", "../escape")
    assert result.returncode == 2
    assert "Invalid backup label '../escape'" in result.stderr
    assert not (seeded.root / "backups").exists()


def test_a_staging_deploy_is_not_stopped_by_foreign_files_in_the_backup_folder(project: Project) -> None:
    folder = project.root / "backups" / "staging"
    folder.mkdir(parents=True)
    (folder / "notes.dump").write_text("copied by hand")
    (folder / "notes.json").write_text('{"note": "copied by hand"}')
    result = project.run("deploy", "--json", ACAMS_ENV="staging")
    assert result.returncode == 0, result.stderr
    assert Path(json.loads(result.stdout)["backup"]["path"]).is_file()
    (entry,) = (json.loads(line) for line in (folder / "deploys.jsonl").read_text().splitlines())
    assert entry["outcome"] == "ok"
    assert (folder / "notes.dump").exists() and (folder / "notes.json").exists()


@pytest.mark.parametrize("argument", ["", ".", "/"])
def test_a_folder_given_to_restore_is_a_usage_error_in_one_line(seeded: Project, argument: str) -> None:
    before = database_fingerprint(seeded.database_url)
    result = seeded.run("restore", argument, "--force")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("error: ")
    assert "is a folder: give a backup's .dump file" in result.stderr
    assert "Traceback" not in result.stderr
    assert database_fingerprint(seeded.database_url) == before


def test_the_metadata_given_to_restore_is_a_usage_error_naming_the_archive(seeded: Project) -> None:
    archive = Path(str(backup(seeded)["path"]))
    before = database_fingerprint(seeded.database_url)
    result = seeded.run("restore", str(archive.with_suffix(".json")), "--force")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"error: {archive.with_suffix('.json')} is a backup's metadata: give its archive, {archive}."
    )
    assert database_fingerprint(seeded.database_url) == before


def test_a_bad_label_is_refused_before_saying_anything_else(seeded: Project) -> None:
    result = seeded.run("backup", "--label", "stateA")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: Invalid backup label 'stateA': expected lower-case letters, digits and underscores, "
        "such as before_import."
    ]
