"""Helpers for tests: a real PostgreSQL server, fresh databases, project copies and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from acams_db.runtime import pg_tools

REPOSITORY = Path(__file__).resolve().parent.parent
# The shipped migration history, oldest first (Prisma applies the folders in name order).
HISTORY = sorted(folder.name for folder in (REPOSITORY / "prisma_migrations").iterdir() if folder.is_dir())


def next_migration(name: str, seconds: int = 1) -> str:
    """A migration folder named NAME, dated `seconds` after the newest of HISTORY: in order, not in the future."""
    newest = datetime.strptime(HISTORY[-1][:15], "%Y%m%d_%H%M%S")
    return f"{newest + timedelta(seconds=seconds):%Y%m%d_%H%M%S}_{name}"


WIDGET_MODEL = "model Widget {\n  id    Int    @id\n  label String\n}\n"


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database of the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass(frozen=True)
class PostgresServer:
    """A real PostgreSQL server reached through its `postgres` database."""

    admin_url: str

    def psql(self, sql: str, *, url: str | None = None) -> str:
        """Run SQL with psql (unaligned, tuples only) and return its output; raise on error."""
        completed = subprocess.run(
            [
                str(pg_tools.executable("psql")),
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url or self.admin_url,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(f"psql failed: {completed.stderr}")
        return completed.stdout.strip()

    def create_database(self, *, template: str | None = None) -> str:
        """A new database (a copy of the database named `template`, if given); its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self.psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return with_database(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def databases(self) -> list[str]:
        return self.psql("SELECT datname FROM pg_database ORDER BY 1").splitlines()

    def tables(self, url: str) -> list[str]:
        return self.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", url=url).splitlines()


@dataclass(frozen=True)
class Project:
    """A copy of the project in a temporary folder, sharing the installed engine, node_modules and venv."""

    root: Path
    database_url: str

    @property
    def migrations(self) -> Path:
        return self.root / "prisma_migrations"

    @property
    def schema(self) -> Path:
        return self.root / "schema.prisma"

    def migration_folders(self) -> list[str]:
        return sorted(p.name for p in self.migrations.iterdir() if p.is_dir())

    def environment(self, **extra: str | None) -> dict[str, str]:
        """The test's environment for the CLI: DATABASE_URL is this project's, `extra` overrides (None removes)."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_"))}
        environment["DATABASE_URL"] = self.database_url
        environment.update({key: value for key, value in extra.items() if value is not None})
        return {key: value for key, value in environment.items() if extra.get(key, "") is not None}

    def run(
        self, *arguments: str, stdin: str | None = None, **extra_env: str | None
    ) -> subprocess.CompletedProcess[str]:
        """Run `acams-db ARGUMENTS` in the project copy."""
        return subprocess.run(
            [sys.executable, "-m", "acams_db", *arguments],
            cwd=self.root,
            env=self.environment(**extra_env),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    def on_a_terminal(self, command: list[str], answer: str, **extra_env: str | None) -> tuple[int, str]:
        """Run `command` in the project copy with a terminal as its input, typing `answer`; its exit code and output."""
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            command,
            cwd=self.root,
            env=self.environment(**extra_env),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.close(terminal)
        os.write(controller, answer.encode())
        output, _ = process.communicate(timeout=120)
        os.close(controller)
        return process.returncode, output

    def run_at_once(self, count: int, *arguments: str, **extra_env: str | None) -> list[dict[str, Any]]:
        """Start `count` processes of `acams-db ARGUMENTS --json` together; each must exit 0. Their JSON outputs."""
        command = [sys.executable, "-m", "acams_db", *arguments, "--json"]
        environment = self.environment(**extra_env)
        processes = [
            subprocess.Popen(
                command, cwd=self.root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(count)
        ]
        outputs = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr
            outputs.append(json.loads(stdout))
        return outputs

    def add_to_schema(self, text: str) -> None:
        self.schema.write_text(self.schema.read_text() + "\n" + text)

    def write_migration(self, name: str, sql: str) -> Path:
        folder = self.migrations / name
        folder.mkdir()
        (folder / "migration.sql").write_text(sql)
        return folder


def copy_project(destination: Path, database_url: str) -> Project:
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("schema.prisma", "prisma.config.ts", "package.json", "package-lock.json", "pyproject.toml"):
        shutil.copy2(REPOSITORY / name, destination / name)
    shutil.copytree(REPOSITORY / "prisma_migrations", destination / "prisma_migrations")
    for shared in ("engine", "node_modules", "data", "scripts"):
        (destination / shared).symlink_to(REPOSITORY / shared)
    return Project(destination, database_url)


# Every column, index, constraint and enum of the public schema except Prisma's bookkeeping.
SCHEMA_QUERY = """
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
       || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE connamespace = 'public'::regnamespace AND conrelid <> 0 AND conrelid::regclass::text <> '_prisma_migrations'
UNION ALL
SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
ORDER BY 1
"""


def schema_of(postgres: PostgresServer, url: str) -> list[str]:
    """The schema's columns, indexes, constraints and enums, one line each, sorted."""
    return postgres.psql(SCHEMA_QUERY, url=url).splitlines()


# The catalogue of a schema, one line per object, free of OIDs (a restore changes them): its tables, views,
# sequences, columns, constraints, indexes, triggers, types and functions.
CATALOGUE_QUERY = """
WITH ns AS (SELECT to_regnamespace(:'schema')::oid AS oid)
SELECT 'relation ' || relname || ' ' || relkind::text FROM pg_class, ns WHERE relnamespace = ns.oid AND relkind <> 'i'
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid CROSS JOIN ns
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = ns.oid AND c.relkind <> 'i' AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(pg_constraint.oid)
  FROM pg_constraint, ns WHERE connamespace = ns.oid
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index JOIN pg_class c ON c.oid = indexrelid, ns
 WHERE c.relnamespace = ns.oid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns
 WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'type ' || typname || ' ' || typtype::text || ' '
       || coalesce((SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '')
  FROM pg_type t, ns WHERE typnamespace = ns.oid AND typtype IN ('e', 'd')
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p, ns WHERE pronamespace = ns.oid
UNION ALL
SELECT 'view ' || relname || ' ' || pg_get_viewdef(c.oid) FROM pg_class c, ns WHERE relnamespace = ns.oid
   AND relkind IN ('v', 'm')
ORDER BY 1
"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Prisma's records without their ids and times, which differ from one run to the next.
_PRISMA_RECORDS = (
    "SELECT 'rows _prisma_migrations ' || coalesce(md5(string_agg(concat_ws(' ', migration_name, checksum,"
    " finished_at IS NULL, rolled_back_at IS NULL), E'\\n' ORDER BY migration_name)), '') FROM {table}"
)


def database_fingerprint(url: str, *, sequences: bool = True) -> dict[str, str]:
    """The schema's catalogue and, for every table and materialized view, its rows counted and checksummed.

    Keyed by "catalogue", "rows NAME" and, unless `sequences` is false, "sequence NAME" (last value; PostgreSQL
    never rolls those back, so a transaction undone still moves them). Prisma's `_prisma_migrations` counts by
    name, checksum and state, not by ids and times. Two fingerprints are equal when schema and rows are the same.
    """
    database = PostgresServer(url)  # psql against `url` itself
    schema = pg_tools.schema_of(url)
    kinds = "'r', 'p', 'm', 'S'" if sequences else "'r', 'p', 'm'"
    relations = database.psql(
        "SELECT relkind, quote_ident(relname) FROM pg_class"
        f" WHERE relnamespace = to_regnamespace({_literal(schema)}) AND relkind IN ({kinds}) ORDER BY 2"
    ).splitlines()
    qualified = pg_tools.quote_identifier(schema)
    checksum = "coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')"

    def rows(kind: str, name: str) -> str:
        if kind == "S":
            return f"SELECT 'sequence {name} ' || last_value || ' ' || is_called FROM {qualified}.{name}"
        if name == "_prisma_migrations":
            return _PRISMA_RECORDS.format(table=f"{qualified}.{name}")
        return f"SELECT 'rows {name} ' || count(*) || ' ' || {checksum} FROM {qualified}.{name} t"

    queries = [rows(*relation.split("|", 1)) for relation in relations]
    lines = database.psql("\nUNION ALL\n".join(queries)).splitlines() if queries else []
    fingerprint: dict[str, str] = {}
    for line in lines:
        kind, name, value = line.split(" ", 2)
        fingerprint[f"{kind} {name}"] = value.strip()  # psql's output loses the last line's trailing space
    fingerprint["catalogue"] = database.psql(CATALOGUE_QUERY.replace(":'schema'", _literal(schema)))
    return fingerprint


@dataclass(frozen=True)
class ProcessRecord:
    """A process seen once: its start time tells it from a later process given the same pid."""

    pid: int
    started: str
    command: str


def process_table() -> dict[int, tuple[int, str]]:
    """Every living process now (zombies are not): its parent and its start time."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # ended meanwhile
            if fields[0] != "Z":
                table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int) -> set[ProcessRecord]:
    """The living descendants of `pid`, children of children included."""
    table = process_table()
    found: set[ProcessRecord] = set()
    parents = {pid}
    while parents:
        children = {child for child, (parent, _) in table.items() if parent in parents}
        for child in children:
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            found.add(ProcessRecord(child, table[child][1], command.strip()))
        parents = children
    return found


def still_running(processes: set[ProcessRecord]) -> set[ProcessRecord]:
    """Those of `processes` that live on (the same process, not a later one with its pid)."""
    table = process_table()
    return {process for process in processes if table.get(process.pid, (0, ""))[1] == process.started}
