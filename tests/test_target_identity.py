"""'The same target' decided by asking the servers: every spelling of one server, database and schema is one target.

Run against a real server on loopback TCP with SCRAM logins (tests/loopback_server.py), so that each password
spelling is really checked by the server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from acams_db import database_url
from acams_db.errors import RefusedError
from acams_db.runtime import target_identity
from tests.loopback_server import LoopbackServer, loopback_server
from tests.support import PostgresServer, copy_project

PASSWORD = "Qz7@k:/Vx?#W%&j= é+Y"  # every character that means something in a URL, and non-ASCII
ROLE = "acams_spelling"


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackServer]:
    with loopback_server() as server:
        escaped = PASSWORD.replace("'", "''")
        server.psql(f"DROP ROLE IF EXISTS {ROLE}; CREATE ROLE {ROLE} LOGIN PASSWORD '{escaped}'")
        yield server
        server.psql(f"DROP ROLE IF EXISTS {ROLE}")


@pytest.fixture
def database(loopback: LoopbackServer) -> Iterator[str]:
    """A fresh database's name on the loopback server, that ROLE may use."""
    url = loopback.create_database()
    name = url.rsplit("/", 1)[1]
    loopback.psql(f'GRANT ALL ON DATABASE "{name}" TO {ROLE}')
    yield name
    loopback.drop_database(url)


def admin(loopback: LoopbackServer, host: str, database: str, *, scheme: str = "postgresql", tail: str = "") -> str:
    password = database_url.parse(loopback.admin_url).password
    return f"{scheme}://postgres:{password}@{host}:{loopback.port}/{database}{tail}"


SPELLINGS = {
    "127.1": lambda s, d: admin(s, "127.1", d),
    "localhost": lambda s, d: admin(s, "localhost", d),
    "upper-case host": lambda s, d: admin(s, "LOCALHOST", d),
    "the machine's name": lambda s, d: admin(s, socket.gethostname(), d),
    "[::1]": lambda s, d: admin(s, "[::1]", d),
    "unix socket (?host=)": lambda s, d: admin(s, "localhost", d, tail=f"?host={s.socket_dir}"),
    "unix socket (encoded host)": lambda s, d: admin(s, quote(s.socket_dir, safe=""), d),
    "postgres://": lambda s, d: admin(s, "127.0.0.1", d, scheme="postgres"),
    "percent-encoded database": lambda s, d: admin(s, "127.0.0.1", "".join(f"%{b:02X}" for b in d.encode())),
    "port parameter": lambda s, d: admin(s, "127.0.0.1", d).replace(f":{s.port}/", "/") + f"?port={s.port}",
    "?schema=public": lambda s, d: admin(s, "127.0.0.1", d, tail="?schema=public"),
    "?schema=%70ublic": lambda s, d: admin(s, "127.0.0.1", d, tail="?schema=%70ublic"),
    "empty ?schema=": lambda s, d: admin(s, "127.0.0.1", d, tail="?schema="),
    "another user, raw password": lambda s, d: f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{s.port}/{d}",
    "another user, encoded password": (
        lambda s, d: f"postgresql://{ROLE}:{quote(PASSWORD, safe='')}@localhost:{s.port}/{d}"
    ),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_one_database_is_the_same_target(
    loopback: LoopbackServer, database: str, spelling: str
) -> None:
    if spelling == "[::1]" and not loopback.listens_on("::1"):
        pytest.skip("the server does not listen on ::1 (CI's server listens on 127.0.0.1 only)")
    reference = admin(loopback, "127.0.0.1", database)
    spelled = SPELLINGS[spelling](loopback, database)
    answers = target_identity.ask_servers([reference, spelled])
    assert answers[0] is not None and answers[1] == answers[0]  # both servers answered, with one identity
    comparison = target_identity.compare(spelled, reference)
    assert comparison.same
    assert comparison.evidence.startswith("the same server (system identifier ")


@pytest.mark.parametrize(
    ("tail", "why"),
    [("?schema=other", "another schema"), ("?schema=PUBLIC", "Prisma quotes the schema: PUBLIC is not public")],
)
def test_another_schema_is_another_target(loopback: LoopbackServer, database: str, tail: str, why: str) -> None:
    assert not target_identity.compare(
        admin(loopback, "127.0.0.1", database, tail=tail), admin(loopback, "127.1", database)
    ).same, why


def test_another_database_of_the_same_server_is_another_target(loopback: LoopbackServer, database: str) -> None:
    assert not target_identity.compare(
        admin(loopback, "127.0.0.1", database), admin(loopback, "127.0.0.1", "postgres")
    ).same


def test_another_server_is_another_target(loopback: LoopbackServer, postgres: PostgresServer) -> None:
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("with TEST_DATABASE_URL the session's server is the loopback server")
    comparison = target_identity.compare(admin(loopback, "127.0.0.1", "postgres"), postgres.admin_url)
    assert not comparison.same


def test_the_default_port_is_5432(postgres: PostgresServer) -> None:
    url = postgres.admin_url
    if ":5432/" in url or "@/" not in url:
        pytest.skip("the session's server is not the embedded one on port 5432 named without a port")
    explicit = url.replace("@/", "@:5432/")
    comparison = target_identity.compare(url, explicit)
    assert comparison.same and comparison.evidence.startswith("the same server")


def test_a_role_that_may_not_read_the_system_identifier_is_compared_by_start_time(
    loopback: LoopbackServer, database: str
) -> None:
    """pg_control_system() is every role's unless an administrator revoked it (as here, in one database)."""
    loopback.psql(
        "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC", url=admin(loopback, "127.0.0.1", database)
    )
    plain = f"postgresql://{ROLE}:{quote(PASSWORD, safe='')}@127.1:{loopback.port}/{database}"
    superuser = admin(loopback, "localhost", database)
    answers = target_identity.ask_servers([plain, superuser])
    assert answers[0] is not None and answers[0].system_identifier == ""
    assert answers[1] is not None and answers[1].system_identifier != ""
    comparison = target_identity.compare(plain, superuser)
    assert comparison.same and comparison.evidence.startswith("the same server (started ")


def test_an_unreachable_server_is_compared_by_address_leaning_to_same(loopback: LoopbackServer) -> None:
    closed = _closed_port()
    started = time.monotonic()
    same = target_identity.compare(
        f"postgresql://u@127.0.0.1:{closed}/acams", f"postgresql://v:pw@LocalHost:{closed}/acams"
    )
    assert same.same and "could not be asked" in same.evidence
    assert not target_identity.compare(
        f"postgresql://u@127.0.0.1:{closed}/acams", f"postgresql://u@127.1:{closed}/other"
    ).same
    assert not target_identity.compare(
        f"postgresql://u@127.0.0.1:{closed}/acams", "postgresql://u@db.invalid/acams"
    ).same
    assert time.monotonic() - started < 3 * target_identity.PROBE_TIMEOUT


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once closed


def _project_on(tmp_path: Path, loopback: LoopbackServer, database: str) -> tuple[Path, dict[str, str]]:
    project = copy_project(tmp_path / "project", admin(loopback, "127.0.0.1", database))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_"))}
    return project.root, environment


def _run(root: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "acams_db", *arguments]
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, check=False)


def test_a_development_command_aimed_at_production_under_another_spelling_is_refused(
    loopback: LoopbackServer, database: str, tmp_path: Path
) -> None:
    """The issue's case: production named 127.1 in a development setting, and reset --force."""
    production = admin(loopback, "127.0.0.1", database)
    loopback.psql("CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1)", url=production)
    root, environment = _project_on(tmp_path, loopback, database)
    (root / ".env.production").write_text(f"DATABASE_URL={production}\n")
    (root / ".env").write_text(f"DATABASE_URL=postgresql://{ROLE}:{PASSWORD}@127.1:{loopback.port}/{database}\n")
    result = _run(root, environment, "reset", "--force")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert "development would act on production's database: postgresql://acams_spelling:***@127.1:" in result.stderr
    assert "from DATABASE_URL in .env line 1 and postgresql://postgres:***@127.0.0.1:" in result.stderr
    assert "from DATABASE_URL in .env.production line 1 reach the same server (system identifier" in result.stderr
    assert PASSWORD not in result.stderr and quote(PASSWORD, safe="") not in result.stderr
    assert loopback.psql("SELECT count(*) FROM keep_me", url=production) == "1"


@pytest.mark.parametrize(
    ("written", "variables"),
    [
        ("postgresql://{role}:{password}@localhost/{database}", {"PGPORT": "{port}"}),
        (
            "postgresql:///{database}",
            {"PGHOST": "127.0.0.1", "PGPORT": "{port}", "PGUSER": "{role}", "PGPASSWORD": "{password}"},
        ),
        ("postgresql://{role}:{password}@127.0.0.1:{port}", {"PGDATABASE": "{database}"}),
    ],
    ids=["PGPORT", "PGHOST PGPORT PGUSER PGPASSWORD", "PGDATABASE"],
)
def test_pg_variables_completing_a_development_url_to_production_are_seen_and_refused(
    loopback: LoopbackServer, database: str, tmp_path: Path, written: str, variables: dict[str, str]
) -> None:
    """node-postgres and libpq fill what a URL leaves out from PG* variables: the check sees the target they reach."""
    production = admin(loopback, "127.0.0.1", database)
    loopback.psql("CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1)", url=production)
    root, environment = _project_on(tmp_path, loopback, database)
    (root / ".env.production").write_text(f"DATABASE_URL={production}\n")
    names = {"role": ROLE, "password": quote(PASSWORD, safe=""), "database": database, "port": loopback.port}
    environment["DATABASE_URL"] = written.format(**names)
    environment.update({name: value.format(**{**names, "password": PASSWORD}) for name, value in variables.items()})
    result = _run(root, environment, "reset", "--force", "--no-seed")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert "development would act on production's database" in result.stderr
    assert PASSWORD not in result.stderr and quote(PASSWORD, safe="") not in result.stderr
    assert loopback.psql("SELECT count(*) FROM keep_me", url=production) == "1"


def test_a_production_command_aimed_at_another_environments_database_is_refused(
    loopback: LoopbackServer, database: str, tmp_path: Path
) -> None:
    root, environment = _project_on(tmp_path, loopback, database)
    (root / ".env.staging").write_text(f"DATABASE_URL={SPELLINGS['unix socket (?host=)'](loopback, database)}\n")
    environment.update(ACAMS_ENV="production", DATABASE_URL=admin(loopback, "localhost", database))
    result = _run(root, environment, "deploy")
    assert result.returncode == RefusedError.exit_code, result.stderr
    assert "production would act on staging's database" in result.stderr
    assert "from DATABASE_URL in .env.staging line 1" in result.stderr
    assert loopback.tables(admin(loopback, "127.0.0.1", database)) == []  # nothing deployed


def test_every_tool_logs_in_through_an_ipv6_literal_with_a_raw_special_password(
    loopback: LoopbackServer, database: str, tmp_path: Path
) -> None:
    """Prisma (node-postgres) applies the migrations and pg_dump backs up, both checked by SCRAM."""
    if not loopback.listens_on("::1"):
        pytest.skip("the server does not listen on ::1 (CI's server listens on 127.0.0.1 only)")
    loopback.psql(f'ALTER DATABASE "{database}" OWNER TO {ROLE}')
    root, environment = _project_on(tmp_path, loopback, database)
    environment.update(
        ACAMS_ENV="staging", DATABASE_URL=f"postgresql://{ROLE}:{PASSWORD}@[::1]:{loopback.port}/{database}"
    )
    deployed = _run(root, environment, "deploy", "--no-backup", "--json")
    assert deployed.returncode == 0, deployed.stderr
    backup = _run(root, environment, "backup", "--json")
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["database"].startswith(f"postgresql://{ROLE}:***@[::1]:")
    assert "users" in loopback.tables(admin(loopback, "127.0.0.1", database))
