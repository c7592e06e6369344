"""The strategy document's `prisma ...` commands typed in the activated environment, as real processes.

`prisma` is Prisma Client Python's console script in .venv/bin, which runs the pinned CLI; prisma.config.ts hands
migrate dev / deploy / reset / resolve to the acams-db operation and gives the other commands the environment's
database (engine/prisma-cli/prisma-commands.mjs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import HISTORY, WIDGET_MODEL, PostgresServer, Project, copy_project, next_migration
from tests.test_studio import free_port, stop, studio_request, wait_for_listener

VENV_BIN = Path(sys.executable).parent
QUESTIONS_IN_BANK = 140
# Any download attempt would go to this closed port and fail at once; Prisma Client Python (the seed) reaches its
# query engine on 127.0.0.1 directly.
OFFLINE = {name: "http://127.0.0.1:9" for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")}
OFFLINE["NO_PROXY"] = "127.0.0.1,localhost"
MISLEADING = ("will NOT be used", "prisma/migrations", "skipping environment variable loading")


def typed(root: Path, *arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`prisma ARGUMENTS` as typed in an activated environment: .venv/bin first on PATH, no database variable."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_", "PRISMA_"))
    }
    environment.update(OFFLINE, PATH=f"{VENV_BIN}{os.pathsep}{environment['PATH']}", **variables)
    completed = subprocess.run(
        ["prisma", *arguments], cwd=root, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    for message in MISLEADING:
        assert message not in completed.stdout + completed.stderr, completed.stdout + completed.stderr
    return completed


def count(postgres: PostgresServer, url: str, table: str) -> int:
    return int(postgres.psql(f"SELECT count(*) FROM {table}", url=url))


@pytest.fixture(scope="module")
def embedded_project() -> Iterator[tuple[Project, str]]:
    """A project copy on its own embedded server (no DATABASE_URL anywhere), and that server's URL.

    Not under pytest's temporary folders: a test session started meanwhile deletes all but the newest three of
    those, and the server's data with them, which leaves the server impossible to stop.
    """
    folder = Path(tempfile.mkdtemp(prefix="acams-test-typed-"))
    project = copy_project(folder / "project", "")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_"))}
    try:
        resolved = subprocess.run(
            [sys.executable, "-m", "acams_db", "internal-database-url"],
            cwd=project.root, env=environment, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        yield project, json.loads(resolved.stdout)["url"]
    finally:
        subprocess.run([sys.executable, "-m", "acams_db", "db-stop"], cwd=project.root, env=environment, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def test_typed_commands_work_on_the_embedded_default(
    embedded_project: tuple[Project, str], postgres: PostgresServer
) -> None:
    """No DATABASE_URL: validate, format, migrate deploy, migrate status, db seed and generate all work there."""
    project, url = embedded_project
    validate = typed(project.root, "validate")
    assert validate.returncode == 0 and "is valid" in validate.stdout, validate.stderr
    assert typed(project.root, "format", "--check").returncode == 0

    deploy = typed(project.root, "migrate", "deploy")
    assert deploy.returncode == 0, deploy.stderr
    assert "(embedded)" in deploy.stderr
    assert postgres.psql("SELECT migration_name FROM _prisma_migrations ORDER BY 1", url=url).split() == HISTORY

    status = typed(project.root, "migrate", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"{len(HISTORY)} migrations found in prisma_migrations" in status.stdout
    assert "Database schema is up to date!" in status.stdout

    seed = typed(project.root, "db", "seed")
    assert seed.returncode == 0, seed.stdout + seed.stderr
    assert f"Seeded: {QUESTIONS_IN_BANK} created" in seed.stdout
    assert count(postgres, url, "questions") == QUESTIONS_IN_BANK

    generate = typed(project.root, "generate")
    assert generate.returncode == 0 and "Generated Prisma Client Python" in generate.stdout, generate.stderr


def test_typed_commands_read_database_url_from_dotenv(project: Project, postgres: PostgresServer) -> None:
    """DATABASE_URL written in .env (Prisma itself skips .env when a config file exists); production has its own."""
    (project.root / ".env").write_text(f"DATABASE_URL={project.database_url}\n")
    (project.root / ".env.production").write_text("DATABASE_URL=postgresql://acams@db.example.org/acams\n")
    assert typed(project.root, "migrate", "deploy").returncode == 0
    status = typed(project.root, "migrate", "status")
    assert status.returncode == 0 and "Database schema is up to date!" in status.stdout, status.stdout
    assert count(postgres, project.database_url, "_prisma_migrations") == len(HISTORY)


def test_migrate_dev_typed_does_what_make_migrate_does(project: Project, postgres: PostgresServer) -> None:
    """Our folder naming, applied, recorded in the manifest, the client regenerated."""
    assert project.run("deploy").returncode == 0
    project.add_to_schema(WIDGET_MODEL)
    created = typed(project.root, "migrate", "dev", "--name", "add_widget", DATABASE_URL=project.database_url)
    assert created.returncode == 0, created.stderr
    (new,) = set(project.migration_folders()) - set(HISTORY)
    assert re.fullmatch(r"\d{8}_\d{6}_add_widget", new)
    assert 'CREATE TABLE "Widget"' in (project.migrations / new / "migration.sql").read_text()
    assert "client regenerated" in created.stdout
    assert new in json.loads((project.migrations / "manifest.json").read_text())["migrations"]
    assert "Widget" in postgres.tables(project.database_url)


def test_migrate_reset_typed_applies_everything_again_and_seeds(project: Project, postgres: PostgresServer) -> None:
    assert project.run("deploy").returncode == 0
    learner = "INSERT INTO users (id, email, name, updated_at) VALUES (gen_random_uuid(), 'a@b.org', 'A', now())"
    postgres.psql(learner, url=project.database_url)
    reset = typed(project.root, "migrate", "reset", "--force", DATABASE_URL=project.database_url)
    assert reset.returncode == 0, reset.stderr
    assert count(postgres, project.database_url, "users") == 0
    assert count(postgres, project.database_url, "questions") == QUESTIONS_IN_BANK


def test_migrate_resolve_typed_settles_a_failed_migration(project: Project, postgres: PostgresServer) -> None:
    """Prisma's own resolve spawned the native engine (EACCES); this one marks the record through acams-db."""
    assert project.run("deploy").returncode == 0
    broken = next_migration("broken")
    project.write_migration(broken, "SELECT 1/0;\n")
    assert project.run("deploy").returncode != 0
    resolved = typed(project.root, "migrate", "resolve", "--rolled-back", broken, DATABASE_URL=project.database_url)
    assert resolved.returncode == 0, resolved.stderr
    assert f"Marked {broken} as rolled-back." in resolved.stdout
    rolled_back = f"SELECT rolled_back_at IS NOT NULL FROM _prisma_migrations WHERE migration_name = '{broken}'"
    assert postgres.psql(rolled_back, url=project.database_url) == "t"


def test_migrate_diff_typed_replays_the_migrations_on_a_shadow_database(project: Project) -> None:
    diff = typed(
        project.root,
        *("migrate", "diff", "--from-migrations", "prisma_migrations", "--to-schema-datamodel", "schema.prisma"),
        "--script",
        DATABASE_URL=project.database_url,
    )
    assert diff.returncode == 0, diff.stderr
    assert "-- This is an empty migration." in diff.stdout


def test_a_shadow_database_can_be_used_any_number_of_times(project: Project, postgres: PostgresServer) -> None:
    """The WebAssembly engine does not empty SHADOW_DATABASE_URL before use (the second use failed with P3006)."""
    shadow = postgres.create_database()
    try:
        assert project.run("deploy").returncode == 0
        for _ in range(2):
            status = project.run("status", SHADOW_DATABASE_URL=shadow)
            assert status.returncode == 0, status.stderr
        project.add_to_schema(WIDGET_MODEL)
        assert project.run("migrate", "add_widget", SHADOW_DATABASE_URL=shadow).returncode == 0
        assert project.run("status", SHADOW_DATABASE_URL=shadow).returncode == 0
    finally:
        postgres.drop_database(shadow)


def test_a_shadow_database_that_is_the_database_itself_is_refused(project: Project, postgres: PostgresServer) -> None:
    """Emptying the shadow database must never empty the real one."""
    assert project.run("deploy").returncode == 0
    status = project.run("status", SHADOW_DATABASE_URL=project.database_url)
    assert status.returncode != 0
    assert "SHADOW_DATABASE_URL names the database itself" in status.stderr
    assert count(postgres, project.database_url, "_prisma_migrations") == len(HISTORY)


def test_development_commands_typed_are_refused_outside_development(project: Project, postgres: PostgresServer) -> None:
    """Staging: migrate dev and migrate reset refuse with exit 4 and change nothing, like make."""
    assert project.run("deploy").returncode == 0
    staging = {"ACAMS_ENV": "staging", "DATABASE_URL": project.database_url}
    project.add_to_schema(WIDGET_MODEL)
    created = typed(project.root, "migrate", "dev", "--name", "add_widget", **staging)
    assert created.returncode == 4
    assert "refused in staging" in created.stderr and "make deploy" in created.stderr
    assert project.migration_folders() == HISTORY
    reset = typed(project.root, "migrate", "reset", "--force", **staging)
    assert reset.returncode == 4
    assert count(postgres, project.database_url, "_prisma_migrations") == len(HISTORY)


def test_migrate_deploy_typed_in_staging_backs_up_first(project: Project) -> None:
    """The same guardrail as make deploy: a backup before anything is applied."""
    deployed = typed(project.root, "migrate", "deploy", ACAMS_ENV="staging", DATABASE_URL=project.database_url)
    assert deployed.returncode == 0, deployed.stderr
    assert list((project.root / "backups" / "staging").glob("*_before_deploy.dump"))


@pytest.mark.parametrize(
    ("arguments", "exit_code", "make_target"),
    [
        (("db", "push"), 4, "make migrate name=NAME"),
        (("db", "execute", "--stdin"), 4, "make migrate-data name=NAME"),
        (("migrate", "dev"), 2, "make migrate name=NAME"),
        (("migrate", "dev", "--name", "x", "--schema", "other.prisma"), 2, "make migrate name=NAME"),
        (("migrate", "resolve"), 2, "make resolve name=NAME as=rolled-back|applied"),
        (("migrate", "diff", "--from-schema-datasource", "schema.prisma", "--to-empty"), 4, "make status"),
        (("migrate", "diff", "--from-empty", "--to-url=postgresql://u@h/d"), 4, "make status"),
    ],
)
def test_commands_that_cannot_work_here_refuse_in_one_line_naming_the_make_target(
    project: Project, arguments: tuple[str, ...], exit_code: int, make_target: str
) -> None:
    refused = typed(project.root, *arguments, DATABASE_URL=project.database_url)
    assert refused.returncode == exit_code
    assert len(refused.stderr.strip().splitlines()) == 1 and make_target in refused.stderr, refused.stderr
    assert project.migration_folders() == HISTORY


def typed_studio(root: Path, port: int, environment: dict[str, str]) -> subprocess.Popen[str]:
    """`prisma studio` typed in an activated environment, in its own process group (the terminal's foreground)."""
    return subprocess.Popen(
        ["prisma", "studio", "--browser", "none", "--port", str(port)],
        cwd=root,
        env={**environment, **OFFLINE, "PATH": f"{VENV_BIN}{os.pathsep}{environment['PATH']}"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_prisma_studio_typed_on_the_embedded_default_reads_its_database(
    embedded_project: tuple[Project, str], postgres: PostgresServer
) -> None:
    project, url = embedded_project
    assert typed(project.root, "migrate", "deploy").returncode == 0
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_"))}
    studio = typed_studio(project.root, port, environment)
    try:
        wait_for_listener(studio, port)
        answer = studio_request(f"http://127.0.0.1:{port}", "count", {})
    finally:
        os.killpg(studio.pid, signal.SIGINT)
        stop(studio)
    assert answer["error"] is None
    assert answer["data"] == count(postgres, url, "questions")


def test_ctrl_c_stops_a_typed_command_in_one_line_at_most_and_leaves_no_process(project: Project) -> None:
    """Ctrl-C (SIGINT to the foreground process group, as a terminal sends it) on `prisma studio`: the Prisma CLI
    stops, and Prisma Client Python's `prisma` command waits for it and exits 130 without a traceback."""
    port = free_port()
    studio = typed_studio(project.root, port, project.environment())
    try:
        wait_for_listener(studio, port)
        started = psutil.Process(studio.pid).children(recursive=True)
        os.killpg(studio.pid, signal.SIGINT)
        output, _ = studio.communicate(timeout=30)
    finally:
        stop(studio)
    assert studio.returncode == 128 + signal.SIGINT, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert output.rstrip().endswith(f"Prisma Studio is up on http://localhost:{port}"), output
    _, alive = psutil.wait_procs(started, timeout=5)
    assert alive == []
