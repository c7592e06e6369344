"""Watch a deploy from a connection of its own: what runs, for how long, which lock it waits on, who holds it.

The Prisma CLI's connections carry the application name `application_name()` (engine/lib/pg-adapter.mjs); a
thread samples pg_stat_activity, pg_locks and pg_blocking_pids() for them through psql while the CLI runs,
and reports every `deploy_monitor_seconds`, at once when the blockers change. Queries are shown without
their literal values (pglast's normalize, a regex when the text does not parse: pg_stat_activity cuts it).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from acams_db import contract
from acams_db.errors import ToolchainError
from acams_db.runtime import pg_tools
from acams_db.runtime.database import Database

QUERY_WIDTH = 100
# Seconds between samples: often enough to see a blocker before a lock_timeout of one second ends the wait.
SAMPLE_SECONDS = 0.25

_SESSION_COLUMNS = """json_build_object('pid', {s}.pid, 'user', {s}.usename, 'application', {s}.application_name,
  'state', {s}.state, 'transaction_seconds', round(extract(epoch FROM now() - {s}.xact_start)::numeric, 1),
  'query', {s}.query)"""

_SAMPLE_SQL = """SELECT coalesce(json_agg(json_build_object(
  'pid', a.pid, 'running_seconds', round(extract(epoch FROM now() - a.query_start)::numeric, 1), 'query', a.query,
  'waiting_for', (SELECT json_build_object('mode', l.mode, 'object', coalesce(l.relation::regclass::text, l.locktype))
                  FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1),
  'relation', (SELECT l.relation FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1),
  'holding', (SELECT coalesce(json_agg(json_build_object('pid', b.pid, 'xact_start', b.xact_start)), '[]')
              FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))),
  'blockers', (SELECT coalesce(json_agg({blocker}), '[]') FROM pg_stat_activity b
               WHERE b.pid = ANY (pg_blocking_pids(a.pid))))), '[]')
FROM pg_stat_activity a WHERE a.application_name = {name} AND a.state = 'active' AND a.pid <> pg_backend_pid()
"""

_HOLDERS_SQL = """SELECT coalesce(json_agg({session} ORDER BY s.pid), '[]') FROM pg_stat_activity s
WHERE s.pid <> pg_backend_pid() AND s.datname = current_database() AND (s.pid IN (
  SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE l.granted AND n.nspname = {schema} AND c.relname = ANY (ARRAY[{tables}]::text[])))
"""


@dataclass(frozen=True)
class Session:
    """Another session, as the monitor shows it: its query without literal values."""

    pid: int
    user: str | None
    application: str | None
    state: str | None
    transaction_seconds: float | None
    query: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Session:
        seconds = row["transaction_seconds"]
        return cls(
            int(row["pid"]),
            row["user"],
            row["application"],
            row["state"],
            float(seconds) if seconds is not None else None,
            shown_query(row["query"] or ""),
        )

    def describe(self) -> str:
        opened = f"transaction open {self.transaction_seconds:.0f} s" if self.transaction_seconds is not None else ""
        who = ", ".join(
            part
            for part in (f"user {self.user}", f"application {self.application!r}" if self.application else "", opened)
            if part
        )
        return f"pid {self.pid} ({who}, {self.state}): {self.query}"


@dataclass(frozen=True)
class LockWait:
    """The deploy's connection waiting for an ACCESS EXCLUSIVE lock on a table, and the transactions it waits on:
    (pid, xact_start) each, which names one transaction."""

    relation: int
    table: str
    blockers: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Sample:
    """One look at the deploy's busy connection."""

    elapsed_seconds: float
    running_seconds: float
    query: str
    waiting_for: str | None
    blockers: tuple[Session, ...]

    def as_event(self) -> dict[str, object]:
        return {"event": "progress", **asdict(self), "blockers": [asdict(blocker) for blocker in self.blockers]}

    def describe(self) -> str:
        line = f"[{self.elapsed_seconds:5.1f} s] running {self.running_seconds:.1f} s: {self.query}"
        if self.waiting_for:
            line += f"\n    waiting for {self.waiting_for}"
        for blocker in self.blockers:
            line += f"\n    blocked by {blocker.describe()}"
        return line


def application_name() -> str:
    """The application name of this deploy's Prisma CLI connections."""
    return f"{contract.DEPLOY_APPLICATION_NAME_PREFIX} {os.getpid()}"


def shown_query(query: str) -> str:
    """`query` shortened, on one line, its literal values replaced by $n."""
    text = query.strip()
    from pglast import parser  # pglast's import costs a deploy that has no monitor

    try:
        text = parser.normalize(text)
    except parser.ParseError:  # cut short by track_activity_query_size, or not SQL
        text = re.sub(r"'(?:[^']|'')*'?|\b\d+(?:\.\d+)?\b", "?", text)
    text = " ".join(text.split())
    return text if len(text) <= QUERY_WIDTH else text[: QUERY_WIDTH - 3] + "..."


def holders(database: Database, tables: set[str]) -> list[Session]:
    """Other sessions holding a lock on any of `tables` (in the database's schema) now."""
    if not tables:
        return []
    sql = _HOLDERS_SQL.format(
        session=_SESSION_COLUMNS.format(s="s"),
        schema=_literal(pg_tools.schema_of(database.url)),
        tables=", ".join(_literal(table) for table in sorted(tables)),
    )
    return [Session.from_row(row) for row in _json_query(database, sql)]


def lock_timeout_in_force(database: Database) -> str:
    """The server's lock_timeout for a new session (0: wait forever)."""
    return str(_json_query(database, "SELECT to_json(current_setting('lock_timeout'))"))


class Monitor:
    """Samples the deploy's connections in a thread while the `watching()` block runs."""

    def __init__(self, database: Database, every_seconds: float, report: Callable[[Sample], None]) -> None:
        self.database = database
        self.every_seconds = every_seconds
        self.report = report
        self.blockers_seen: dict[int, Session] = {}
        # What the deploy waited for at the last look, if it waited for an ACCESS EXCLUSIVE lock on a table.
        self.lock_wait: LockWait | None = None
        self._stop = threading.Event()
        self._sql = _SAMPLE_SQL.format(blocker=_SESSION_COLUMNS.format(s="b"), name=_literal(application_name()))

    @contextmanager
    def watching(self) -> Iterator[None]:
        thread = threading.Thread(target=self._run, name="deploy monitor", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        reported_at = started
        last_blockers: tuple[int, ...] = ()
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                rows = _json_query(self.database, self._sql)
            except (ToolchainError, ValueError):  # the server is busy or gone: the deploy says what happened
                continue
            now = time.monotonic()
            self.lock_wait = next(filter(None, map(_lock_wait, rows)), None)
            for row in rows:
                sample = _sample(row, now - started)
                self.blockers_seen.update({blocker.pid: blocker for blocker in sample.blockers})
                pids = tuple(blocker.pid for blocker in sample.blockers)
                if now - reported_at >= self.every_seconds or pids != last_blockers:
                    self.report(sample)
                    reported_at, last_blockers = now, pids


def _sample(row: dict[str, Any], elapsed: float) -> Sample:
    waiting = row["waiting_for"]
    return Sample(
        elapsed_seconds=round(elapsed, 1),
        running_seconds=float(row["running_seconds"] or 0),
        query=shown_query(row["query"] or ""),
        waiting_for=f"{waiting['mode']} on {waiting['object']}" if waiting else None,
        blockers=tuple(Session.from_row(blocker) for blocker in row["blockers"]),
    )


def _lock_wait(row: dict[str, Any]) -> LockWait | None:
    waiting = row["waiting_for"]
    if not waiting or waiting["mode"] != "AccessExclusiveLock" or row["relation"] is None or not row["holding"]:
        return None
    blockers = tuple((int(holder["pid"]), str(holder["xact_start"])) for holder in row["holding"])
    return LockWait(int(row["relation"]), waiting["object"], blockers)


def end_sessions(database: Database) -> bool:
    """End the sessions a stopped deploy's Prisma CLI left; whether they are all gone. A backend waiting for a
    lock does not notice that its client is gone, and once granted it would run the rest of the migration's
    script (one multi-statement query) to its COMMIT, after the deploy said what state it left."""
    ended = _json_query(
        database,
        "SELECT to_json(coalesce(bool_and(pg_terminate_backend(pid, 10000)), true)) FROM pg_stat_activity "
        f"WHERE application_name = {_literal(application_name())} AND pid <> pg_backend_pid()",
    )
    return ended is True


def never_got_its_lock(database: Database, wait: LockWait) -> bool:
    """Whether the deploy, stopped while it waited for `wait`, and its sessions ended (end_sessions), never got
    that lock, so that its transaction (the migration's, which takes it) cannot have committed: one of the
    transactions it waited on still holds a lock on the table. A table lock is held until its transaction ends,
    and conflicts with ACCESS EXCLUSIVE whatever its mode.
    """
    transactions = ", ".join(f"({pid}, {_literal(started)}::timestamptz)" for pid, started in wait.blockers)
    return (
        _json_query(
            database,
            "SELECT to_json(EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid "
            f"WHERE l.granted AND l.relation = {wait.relation} AND (s.pid, s.xact_start) IN ({transactions})))",
        )
        is True
    )


def _json_query(database: Database, sql: str) -> Any:
    output = pg_tools.run(
        "psql", ["--no-psqlrc", "--tuples-only", "--no-align", "--quiet"], url=database.url, stdin=sql + ";\n"
    )
    return json.loads(output)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
