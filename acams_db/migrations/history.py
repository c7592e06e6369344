"""The database's migration history (Prisma's `_prisma_migrations`) against the folder: status, drift, the manifest.

Prisma's records are read once per command, through the command's engine runner, and read again only after
the command changed them (changing_records).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from acams_db.errors import ExitCode
from acams_db.migrations import manifest
from acams_db.migrations.drift import DriftCheck
from acams_db.migrations.folder import local_migrations
from acams_db.runtime import engine_runner, engine_sql
from acams_db.runtime.database import Database
from acams_db.settings import Settings

_RECORDS = "_prisma_migrations"


@dataclass(frozen=True)
class AppliedRecord:
    """A row of Prisma's `_prisma_migrations` table."""

    name: str
    checksum: str
    finished: bool
    rolled_back: bool
    logs: str | None
    seconds: float | None = None  # how long it took to apply, once finished


@dataclass
class MigrationStatus:
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    missing_locally: list[str] = field(default_factory=list)
    schema_drift: bool = False

    @property
    def code(self) -> ExitCode:
        """The exit code of `status`: the most serious problem's when several apply."""
        for code, problem in (
            (ExitCode.FAILED_MIGRATION, self.failed),
            (ExitCode.MODIFIED_MIGRATION, self.modified),
            (ExitCode.MISSING_MIGRATION, self.missing_locally),
            (ExitCode.PENDING_MIGRATIONS, self.pending),
            (ExitCode.SCHEMA_DRIFT, self.schema_drift),
        ):
            if problem:
                return code
        return ExitCode.OK

    @property
    def up_to_date(self) -> bool:
        return self.code == ExitCode.OK

    def as_dict(self) -> dict[str, object]:
        return {
            "up_to_date": self.up_to_date,
            "exit_code": int(self.code),
            "applied": self.applied,
            "pending": self.pending,
            "failed": self.failed,
            "modified": self.modified,
            "missing_locally": self.missing_locally,
            "schema_drift": self.schema_drift,
        }


def applied_records(settings: Settings, database: Database) -> list[AppliedRecord]:
    """Prisma's records of the database, oldest first; none when Migrate never ran there. Read-only."""
    return engine_runner.runner(settings, database).remembered(_RECORDS, lambda: _read_records(settings, database))


@contextmanager
def changing_records(settings: Settings, database: Database) -> Iterator[None]:
    """Around what changes Prisma's records (or may have): the next applied_records() reads them again."""
    try:
        yield
    finally:
        engine_runner.runner(settings, database).forget()


def _read_records(settings: Settings, database: Database) -> list[AppliedRecord]:
    (table,) = engine_sql.query(settings, database, "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present")
    if not table["present"]:
        return []
    rows = engine_sql.query(
        settings,
        database,
        "SELECT migration_name, checksum, finished_at IS NOT NULL AS finished,"
        " rolled_back_at IS NOT NULL AS rolled_back, logs,"
        " extract(epoch FROM finished_at - started_at)::float8 AS seconds"
        " FROM _prisma_migrations ORDER BY started_at, migration_name",
    )
    return [
        AppliedRecord(r["migration_name"], r["checksum"], r["finished"], r["rolled_back"], r["logs"], r["seconds"])
        for r in rows
    ]


def status(settings: Settings, database: Database, *, check_schema_drift: bool = True) -> MigrationStatus:
    """Compare the migrations on disk, the database's records and schema.prisma. Writes nothing to the database.

    The drift check starts first: the runner replays the migrations on the shadow database while it reads
    the records (unless the files and server are those of the answer kept in .data/drift.json: see drift.py).
    """
    local = {m.name: m for m in local_migrations(settings)}
    drift = DriftCheck(settings, database, remembered=True) if check_schema_drift else None
    result = MigrationStatus()
    settled: set[str] = set()
    for record in applied_records(settings, database):
        if record.rolled_back:
            continue
        settled.add(record.name)
        if not record.finished:
            result.failed.append(record.name)
        elif record.name not in local:
            result.missing_locally.append(record.name)
        else:
            result.applied.append(record.name)
            if local[record.name].checksum != record.checksum:
                result.modified.append(record.name)
    result.pending = [name for name in local if name not in settled]
    # Drift is found by replaying the migrations on a shadow database, which a
    # failed, edited or missing migration would break; those are reported already.
    if drift is not None:
        if result.failed or result.modified or result.missing_locally:
            drift.abandon()
        else:
            result.schema_drift = bool(drift.changes())
    return result


def record_applied(settings: Settings, database: Database) -> list[str]:
    """Record in manifest.json each migration applied to `database` whose migration.sql is unchanged since.

    Recorded checksums never change; returns the names added. Reads the database only when a local migration
    is not recorded yet.
    """
    local = {migration.name: migration for migration in local_migrations(settings)}
    if set(local) <= set(manifest.load(settings.migrations_dir).checksums):
        return []
    unchanged = {
        record.name: record.checksum
        for record in applied_records(settings, database)
        if record.finished
        and not record.rolled_back
        and record.name in local
        and local[record.name].checksum == record.checksum
    }
    return manifest.record(settings.migrations_dir, unchanged)


def mark(settings: Settings, database: Database, name: str, resolution: str) -> None:
    """Record migration `name` as rolled-back or applied in Prisma's table (the WebAssembly schema engine: `prisma
    migrate resolve` would spawn the native one)."""
    request = {
        "resolution": resolution,
        "name": name,
        "migrationsDir": str(settings.migrations_dir),
        "schemaPath": str(settings.schema_path),
    }
    with changing_records(settings, database):
        engine_runner.runner(settings, database).request("mark", request)
