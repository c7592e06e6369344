"""Database URLs read as Prisma and node-postgres read them, written canonically, and redacted in any text."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from acams_db.database_url import DatabaseUrlError, parse, redact
from acams_db.runtime import pg_tools

# A password with every character that means something in a URL, and non-ASCII.
PASSWORD = "Qz7@k:/Vx?#W%&j= é+Y"


@pytest.mark.parametrize(
    ("text", "user", "password", "host", "port", "database"),
    [
        ("postgresql://u:p@ss@h:6543/db", "u", "p@ss", "h", 6543, "db"),  # the last @ before the host
        ("postgresql://u:p:w@h/db", "u", "p:w", "h", None, "db"),  # the first : splits user and password
        ("postgresql://user@tenant:pw@h/db", "user@tenant", "pw", "h", None, "db"),
        ("postgresql://u:pa#ss@h/db", "u", "pa#ss", "h", None, "db"),  # raw # / ?: the first @ before a host
        ("postgresql://u:pa/ss@h/db", "u", "pa/ss", "h", None, "db"),
        ("postgresql://u:pa?ss@h/db", "u", "pa?ss", "h", None, "db"),
        ("postgresql://u:/ss@h/db", "u", "/ss", "h", None, "db"),
        ("postgresql://u:12/ss@h/db", "u", "12/ss", "h", None, "db"),  # not host u, port 12, database ss@h/db
        ("postgresql://u:a/b@c@h/db", "u", "a/b@c", "h", None, "db"),
        ("postgresql://u:50%off@h/db", "u", "50%off", "h", None, "db"),  # % without two hex digits stays
        ("postgresql://u:%51z%2F@h/db", "u", "Qz/", "h", None, "db"),
        ("postgres://u:é ü@[::1]:5433/d%20b", "u", "é ü", "::1", 5433, "d b"),
        ("postgresql://h/db?password=pw&user=v&port=7", "v", "pw", "h", 7, "db"),  # parameters win (pg, libpq)
        ("postgresql://postgres:@/postgres?host=/tmp/x", "postgres", "", "", None, "postgres"),
        ("postgresql:///acams", None, None, "", None, "acams"),
    ],
)
def test_urls_are_read_as_prisma_and_node_postgres_read_them(
    text: str, user: str | None, password: str | None, host: str, port: int | None, database: str
) -> None:
    url = parse(text)
    assert (url.user, url.password, url.host, url.port, url.database) == (user, password, host, port, database)


@pytest.mark.parametrize(
    "written", [f"postgresql://u:{PASSWORD}@h:5432/db", f"postgresql://u:{quote(PASSWORD)}@h:5432/db"]
)
def test_a_password_reads_the_same_encoded_or_not_and_is_written_encoded(written: str) -> None:
    url = parse(written)
    assert url.password == PASSWORD
    assert url.canonical() == f"postgresql://u:{quote(PASSWORD, safe='')}@h:5432/db"
    assert parse(url.canonical()) == url


def test_the_canonical_url_leaves_no_reading_to_a_tool() -> None:
    """No host means localhost (Prisma and node-postgres; libpq would take its socket); + in a parameter is a
    space for Prisma and node-postgres, so it is written %20; an empty schema is the default schema."""
    url = parse("postgresql://u@/db?application_name=a+b&schema=")
    assert url.canonical() == "postgresql://u@localhost/db?application_name=a%20b"
    assert url.schema == "public"


def test_a_socket_folder_in_the_host_parameter_wins_for_every_tool() -> None:
    """Prisma's rule (quaint's PostgresNativeUrl::host): `?host=` wins over the URL's host; libpq gets it."""
    url = parse("postgresql://u:pw@localhost:6000/db?host=/run/pg")
    assert url.canonical() == "postgresql://u:pw@localhost:6000/db?host=%2Frun%2Fpg"
    environment = pg_tools.libpq_environment(url.canonical())
    assert (environment["PGHOST"], environment["PGPORT"], environment["PGDATABASE"]) == ("/run/pg", "6000", "db")
    assert parse("postgres://u@%2Frun%2Fpg/db").server_host == "/run/pg"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "mysql://root:Xy9Qz@db/x",
            "must be a PostgreSQL URL, starting with postgresql:// or postgres:// (it starts with mysql://)",
        ),
        ("Xy9Qz", "must be a PostgreSQL URL, starting with postgresql:// or postgres://."),
        ("postgresql://u:Xy9Qz", "its host or port is not valid"),  # a .env value cut at ' #'
        ("postgresql://u:Xy9Qz@h/db#frag", "it holds a # after the host"),
        ("postgresql://u:Xy9Qz@h1,h2/db", "it names several hosts"),
        ("postgresql://u:Xy9Qz@h:99999/db", "its host or port is not valid"),
        ("postgresql://u:Xy9Qz@h/a%40b", "its database name holds one of"),
    ],
)
def test_an_unreadable_url_is_a_clear_error_that_quotes_none_of_it(text: str, reason: str) -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        parse(text, name="DATABASE_URL in .env.production line 2")
    assert reason in str(raised.value)
    assert "Xy9Qz" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:s3cr%40t@host:5432/db", "postgresql://user:***@host:5432/db"),
        (
            "error at postgres://u:p@h/d and postgresql://v:q@i/e",
            "error at postgres://u:***@h/d and postgresql://v:***@i/e",
        ),
        (
            "postgresql://user@host/db?password=abc&sslmode=require",
            "postgresql://user@host/db?password=***&sslmode=require",
        ),
        ("postgresql://postgres:@/acams?host=/tmp/x", "postgresql://postgres:@/acams?host=/tmp/x"),
        (f"failed: postgresql://u:{PASSWORD}@h/db.", "failed: postgresql://u:***@h/db."),
        (f"'postgresql://u:{quote(PASSWORD)}@h/db'", "'postgresql://u:***@h/db'"),
        ("postgresql://u:pa ss@h/db ok", "postgresql://u:***@h/db ok"),
        ("value postgresql://u:Xy9Qz cut short", "value postgresql://u:*** cut short"),
        ("postgresql://u:p@h/db?sslpassword=key&x=1", "postgresql://u:***@h/db?sslpassword=***&x=1"),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
        ("psql \"host=h password='a b' user=u\"", 'psql "host=h password=*** user=u"'),
        ('{"password": "hunter2", "user": "u"}', '{"password": ***, "user": "u"}'),
        ('password authentication failed for user "u"', 'password authentication failed for user "u"'),
        ("Studio at http://127.0.0.1:5555/#/model", "Studio at http://127.0.0.1:5555/#/model"),
    ],
)
def test_redact_hides_every_spelling_of_a_password(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_pg_variables_complete_only_what_a_url_leaves_out() -> None:
    environment = {
        "PGHOST": "db.internal",
        "PGPORT": "6543",
        "PGUSER": "app",
        "PGPASSWORD": "s3cret",
        "PGDATABASE": "acams",
        "PGSSLMODE": "require",
    }
    completed = parse("postgresql:///").with_libpq_defaults(environment)
    assert completed.canonical() == "postgresql://app:s3cret@db.internal:6543/acams?sslmode=require"
    written = "postgresql://me:pw@127.0.0.1:5433/mine?sslmode=disable"
    assert parse(written).with_libpq_defaults(environment).canonical() == written
    socket = parse("postgresql://u@/d").with_libpq_defaults({"PGHOST": "/run/postgresql", "PGPORT": "5433"})
    assert (socket.server_host, socket.server_port) == ("/run/postgresql", 5433)
    with pytest.raises(DatabaseUrlError, match="PGPORT must be a port number"):
        parse("postgresql://u@h/d").with_libpq_defaults({"PGPORT": "54x"})
