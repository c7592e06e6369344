"""Faults: backups and restores stopped by signals at chosen moments, and restores refused, change nothing.

Each moment is reached deterministically, not by sleeping: a session of the test holds
a lock that the command has to wait for at that moment (a table lock for the schema's
DROP or pg_dump's LOCK TABLE; advisory locks taken by a CHECK constraint in the middle
of a COPY and by the materialized view refreshed last, just before COMMIT), and the
test waits until pg_stat_activity shows the command waiting there. Then it sends the
signal. Afterwards the database's fingerprint (every table's rows and the schema's
catalogue) must be what it was, no process the command started may be left, and no
half backup may be listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from acams_db.runtime import pg_tools
from tests.support import PostgresServer, Project, copy_project, database_fingerprint

# A bank of learners, questions and options (a sequence), and the gates: gate(key, 500) waits for advisory lock
# `key` while a test holds it. The CHECK of `gated` calls it for the 500th row of its COPY; the materialized view,
# which pg_restore refreshes as its very last statement, calls it too.
BANK_SQL = """
INSERT INTO users (id, email, name, updated_at)
SELECT gen_random_uuid(), 'learner' || g || '@example.org', 'Learner ' || g, now() FROM generate_series(1, 20000) g;
INSERT INTO questions (id, domain, topic, stem, explanation, difficulty, tags, reference, content_hash, updated_at)
SELECT 'q' || g, 'standards', 'topic', 'stem ' || g, 'why', 'easy', ARRAY['t'], 'ref', repeat('0', 64), now()
  FROM generate_series(1, 200) g;
INSERT INTO answer_options (question_id, label, text, is_correct)
SELECT 'q' || g, l, 'option ' || l, l = 'A' FROM generate_series(1, 200) g, unnest(ARRAY['A', 'B', 'C', 'D']) l;
CREATE FUNCTION public.gate(key integer, row_id integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF row_id = 500 THEN PERFORM pg_catalog.pg_advisory_xact_lock_shared(key); END IF;
  RETURN true;
END $$;
CREATE TABLE public.gated (id integer PRIMARY KEY CHECK (public.gate(1, id)));
INSERT INTO public.gated SELECT generate_series(1, 1000);
CREATE MATERIALIZED VIEW public.refreshed_last AS SELECT public.gate(2, 500) AS passed;
"""
# What happened after the backup: the restore must undo it, and a stopped restore must keep it.
CHANGES_SQL = """
DELETE FROM users WHERE email LIKE 'learner1%';
UPDATE answer_options SET text = 'changed' WHERE label = 'B';
INSERT INTO answer_options (question_id, label, text, is_correct) VALUES ('q1', 'E', 'added', false);
CREATE TABLE added_later (id integer PRIMARY KEY);
INSERT INTO added_later VALUES (1), (2);
"""


@dataclass(frozen=True)
class Template:
    name: str
    archive: Path  # a backup of it, with its metadata beside it
    fingerprint: dict[str, str]


@dataclass(frozen=True)
class Scene:
    """A project whose database has changed since `archive` was taken from it."""

    project: Project
    name: str
    archive: Path
    archived: dict[str, str]  # the archive's fingerprint

    def start(self, *arguments: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "acams_db", *arguments],
            cwd=self.project.root,
            env=self.project.environment(**env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture(scope="module")
def template(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    url = postgres.create_database()
    project = copy_project(tmp_path_factory.mktemp("template"), url)
    assert project.run("deploy").returncode == 0
    postgres.psql(BANK_SQL, url=url)
    result = project.run("backup", "--json")
    assert result.returncode == 0, result.stderr
    archive = Path(json.loads(result.stdout)["path"])
    yield Template(urlsplit(url).path.lstrip("/"), archive, database_fingerprint(url))
    postgres.drop_database(url)


@pytest.fixture
def scene(template: Template, postgres: PostgresServer, tmp_path: Path) -> Iterator[Scene]:
    url = postgres.create_database(template=template.name)
    postgres.psql(CHANGES_SQL, url=url)
    archives = tmp_path / "archives"
    archives.mkdir()
    for path in (template.archive, template.archive.with_suffix(".json")):
        shutil.copy2(path, archives / path.name)
    project = copy_project(tmp_path / "project", url)
    yield Scene(project, urlsplit(url).path.lstrip("/"), archives / template.archive.name, template.fingerprint)
    postgres.drop_database(url)


@contextmanager
def holding(url: str, statement: str) -> Iterator[None]:
    """A session of the test that ran `statement` in a transaction it keeps open, with its locks, until the end."""
    holder = subprocess.Popen(
        [str(pg_tools.executable("psql")), "-X", "-q", "-o", os.devnull, "-v", "ON_ERROR_STOP=1", "-d", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PGAPPNAME": "fault-test-holder"},
    )
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(f"BEGIN;\n{statement};\n\\echo held\n")
    holder.stdin.flush()
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def wait_until_waiting(
    postgres: PostgresServer, name: str, program: str, statement: str, command: subprocess.Popen[str]
) -> None:
    """Until the command's `program` session waits for a lock in a statement starting with `statement`."""
    query = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND application_name = '{program}'"
        f" AND wait_event_type = 'Lock' AND query LIKE '{statement}%'"
    )
    deadline = time.monotonic() + 120
    while postgres.psql(query) != "1":
        assert command.poll() is None, command.communicate()
        assert time.monotonic() < deadline, f"{program} never waited in {statement}"
        time.sleep(0.02)


def settle(postgres: PostgresServer, name: str) -> None:
    """Wait until no session of the command (psql, pg_dump, pg_restore) is left on the database."""
    query = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'"
        " AND application_name IN ('psql', 'pg_dump', 'pg_restore') AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 60
    while postgres.psql(query) != "0":
        assert time.monotonic() < deadline, "a session of the command is still there"
        time.sleep(0.05)


def survivors(name: str) -> list[str]:
    """Live processes (not zombies) whose environment names the database: what the command started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environment = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if name.encode() in environment and state != "Z":
            found.append(f"{entry.name}: {command}")
    return found


def assert_no_survivor(name: str) -> None:
    deadline = time.monotonic() + 10
    while survivors(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert survivors(name) == []


def stop(command: subprocess.Popen[str], signal_number: int) -> tuple[int, str]:
    """Send the signal; the command's exit code and stderr (SIGKILL: -9, nothing to say)."""
    command.send_signal(signal_number)
    _, stderr = command.communicate(timeout=60)
    return command.returncode, stderr


def files(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under `folder`, hidden ones too: size, modification time and mode."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_mode)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def listed(scene: Scene, environment: str) -> dict[str, object]:
    result = scene.project.run("backups", "--json", ACAMS_ENV=environment)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
# Where a restore is stopped: what the test holds, the statement the restore then waits in.
RESTORE_MOMENTS = {
    "streaming, waiting to drop the schema": ("LOCK TABLE users IN ACCESS SHARE MODE", "DROP SCHEMA"),
    "in the middle of a COPY": ("SELECT pg_advisory_xact_lock(1)", "COPY public.gated"),
    "at the last statement, before COMMIT": ("SELECT pg_advisory_xact_lock(2)", "REFRESH MATERIALIZED VIEW"),
}


@pytest.mark.parametrize("moment", RESTORE_MOMENTS)
@pytest.mark.parametrize("signal_number", SIGNALS, ids=lambda number: signal.Signals(number).name)
def test_a_restore_stopped_at_any_moment_by_any_signal_leaves_the_database_as_it_was(
    scene: Scene, postgres: PostgresServer, moment: str, signal_number: int
) -> None:
    url = scene.project.database_url
    before = database_fingerprint(url)
    hold, statement = RESTORE_MOMENTS[moment]
    with holding(url, hold):
        restore = scene.start("restore", str(scene.archive), "--force")
        wait_until_waiting(postgres, scene.name, "psql", statement, restore)
        code, stderr = stop(restore, signal_number)
        if signal_number != signal.SIGKILL:  # it rolled back by itself, while the test still holds the lock
            assert code == 128 + signal_number, stderr
            assert f"not restored: stopped by {signal.Signals(signal_number).name}" in stderr
            assert "Traceback" not in stderr
            settle(postgres, scene.name)
    assert_no_survivor(scene.name)
    settle(postgres, scene.name)
    assert database_fingerprint(url) == before
    assert not (scene.project.root / "backups").exists()


def test_a_restore_stopped_by_sighup_in_a_copy_rolls_back(scene: Scene, postgres: PostgresServer) -> None:
    """A dropped SSH session."""
    url = scene.project.database_url
    before = database_fingerprint(url)
    with holding(url, "SELECT pg_advisory_xact_lock(1)"):
        restore = scene.start("restore", str(scene.archive), "--force")
        wait_until_waiting(postgres, scene.name, "psql", "COPY public.gated", restore)
        code, stderr = stop(restore, signal.SIGHUP)
    assert code == 128 + signal.SIGHUP and "stopped by SIGHUP" in stderr
    assert_no_survivor(scene.name)
    settle(postgres, scene.name)
    assert database_fingerprint(url) == before


def test_a_restore_killed_in_a_copy_can_be_run_again_and_gives_the_archive_exactly(
    scene: Scene, postgres: PostgresServer
) -> None:
    url = scene.project.database_url
    with holding(url, "SELECT pg_advisory_xact_lock(1)"):
        restore = scene.start("restore", str(scene.archive), "--force")
        wait_until_waiting(postgres, scene.name, "psql", "COPY public.gated", restore)
        stop(restore, signal.SIGKILL)
    settle(postgres, scene.name)
    result = scene.project.run("restore", str(scene.archive), "--force")
    assert result.returncode == 0, result.stderr
    assert database_fingerprint(url) == scene.archived


@pytest.mark.parametrize("signal_number", SIGNALS, ids=lambda number: signal.Signals(number).name)
def test_a_restore_stopped_during_its_safety_backup_changes_nothing_and_lists_no_half_backup(
    scene: Scene, postgres: PostgresServer, signal_number: int
) -> None:
    url = scene.project.database_url
    before = database_fingerprint(url)
    with holding(url, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"):
        restore = scene.start("restore", str(scene.archive), "--force", ACAMS_ENV="staging")
        wait_until_waiting(postgres, scene.name, "pg_dump", "LOCK TABLE", restore)
        code, stderr = stop(restore, signal_number)
    assert_no_survivor(scene.name)
    settle(postgres, scene.name)
    assert database_fingerprint(url) == before
    assert listed(scene, "staging") == {"backups": [], "ignored": []}
    staging = scene.project.root / "backups" / "staging"
    if signal_number != signal.SIGKILL:
        assert code == 128 + signal_number and "not restored" in stderr, stderr
        assert set(files(staging)) == {".lock"}  # the partial dump was removed on the way out


@pytest.mark.parametrize("signal_number", SIGNALS, ids=lambda number: signal.Signals(number).name)
def test_a_backup_stopped_while_dumping_lists_nothing_and_the_next_backup_cleans_up(
    scene: Scene, postgres: PostgresServer, signal_number: int
) -> None:
    url = scene.project.database_url
    with holding(url, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"):
        backup = scene.start("backup")
        wait_until_waiting(postgres, scene.name, "pg_dump", "LOCK TABLE", backup)
        code, stderr = stop(backup, signal_number)
    assert_no_survivor(scene.name)
    folder = scene.project.root / "backups" / "development"
    assert listed(scene, "development") == {"backups": [], "ignored": []}
    if signal_number == signal.SIGKILL:
        assert any(name.endswith(".partial") for name in files(folder))  # nobody could clean up
    else:
        assert code == 128 + signal_number, stderr
        assert f"Backup stopped by {signal.Signals(signal_number).name}: nothing written." in stderr
        assert set(files(folder)) == {".lock"}
    result = scene.project.run("backup", "--json")
    assert result.returncode == 0, result.stderr
    written = Path(json.loads(result.stdout)["path"])
    assert set(files(folder)) == {".lock", written.name, written.with_suffix(".json").name}


def forge(archive: Path, **fields: object) -> None:
    """Write metadata for `archive` that matches its size and SHA-256, with `fields` changed."""
    metadata = archive.with_suffix(".json")
    document = json.loads(metadata.read_text()) if metadata.exists() else {}
    data = archive.read_bytes()
    document.update(size=len(data), sha256=hashlib.sha256(data).hexdigest(), **fields)
    metadata.write_text(json.dumps(document))


def _changed_byte(archive: Path, url: str) -> None:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 1
    archive.write_bytes(bytes(data))


def _not_an_archive(archive: Path, url: str) -> None:
    archive.write_bytes(b"PGDMP but not really")
    forge(archive)


def _of_another_schema(archive: Path, url: str) -> None:
    database = PostgresServer(url)
    database.psql("CREATE SCHEMA other; CREATE TABLE other.t (id int)")
    pg_tools.run("pg_dump", ["--format=custom", "--schema=other", f"--file={archive}"], url=url)
    database.psql("DROP SCHEMA other CASCADE")
    forge(archive, schema="other")


def _untouched(archive: Path, url: str) -> None:
    pass


@dataclass(frozen=True)
class Refusal:
    damage: Callable[[Path, str], None]  # done to the archive
    message: str
    environment: str = "staging"  # where a restore backs up first: a refusal must come before that
    arguments: tuple[str, ...] = ("--force",)
    typed: str | None = None  # typed on a terminal
    declined: bool = False  # a person's no: "Nothing done." and exit 0, not a failure


REFUSALS = {
    "a changed archive": Refusal(_changed_byte, "has changed since it was written"),
    "an archive without metadata": Refusal(
        lambda archive, url: archive.with_suffix(".json").unlink(), "not a backup made by acams-db backup"
    ),
    "metadata that is not JSON": Refusal(
        lambda archive, url: archive.with_suffix(".json").write_text("{not json"),
        "json: not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2).",
    ),
    "a file that is no pg_dump archive": Refusal(_not_an_archive, "not an archive of pg_dump"),
    "metadata naming another schema": Refusal(
        lambda archive, url: forge(archive, schema="other"), "but its metadata says schema 'other'"
    ),
    "an archive of another schema": Refusal(_of_another_schema, "but this database uses 'public'"),
    "no confirmation off a terminal": Refusal(_untouched, "needs confirmation", arguments=()),
    "a declined confirmation": Refusal(_untouched, "Nothing done.", arguments=(), typed="n\n", declined=True),
    "production without consent": Refusal(
        _untouched, "pass --allow-production and --database", "production", ("--allow-production",)
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refused_restore_changes_no_file_and_nothing_in_the_database(scene: Scene, refusal: str) -> None:
    case = REFUSALS[refusal]
    url = scene.project.database_url
    environment = {"ACAMS_ENV": case.environment, "BACKUP_KEEP": "1"}
    for label in ("manual", "before_deploy"):  # what a safety backup's retention could push out
        assert scene.project.run("backup", "--label", label, **environment).returncode == 0
    case.damage(scene.archive, url)
    before, kept = database_fingerprint(url), files(scene.project.root / "backups")
    command = ["restore", str(scene.archive), *case.arguments]
    if case.typed is None:
        result = scene.project.run(*command, **environment)
        code, output = result.returncode, result.stderr
    else:
        code, output = run_on_a_terminal(scene, command, case.typed, **environment)
    assert (code == 0) == case.declined and case.message in output, output
    assert "Traceback" not in output
    assert files(scene.project.root / "backups") == kept
    assert database_fingerprint(url) == before


def run_on_a_terminal(scene: Scene, arguments: list[str], answer: str, **env: str) -> tuple[int, str]:
    """Run `acams-db ARGUMENTS` with a terminal as its input, typing `answer`; its exit code and output."""
    return scene.project.on_a_terminal([sys.executable, "-m", "acams_db", *arguments], answer, **env)
