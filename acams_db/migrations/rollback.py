"""Development's rollback: undo the last applied migration in the database, keep its folder to edit or delete.

Prisma has no down migrations; the down SQL is Prisma's own diff from the applied
migrations to the applied migrations without the last one (revert.reverse_sql). It
runs with the record update in one script through the schema engine: the schema
change and `rolled_back_at` land together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from acams_db import caller
from acams_db.errors import ToolchainError
from acams_db.migrations import history, manifest, revert
from acams_db.migrations.folder import local_migrations
from acams_db.runtime.database import Database
from acams_db.runtime.prisma_cli import run_engine_script
from acams_db.settings import Settings
from acams_db.sql.parsing import parse
from acams_db.sql.risks import Risk
from acams_db.sql.rules import find_risks


@dataclass(frozen=True)
class Rollback:
    name: str  # the migration undone
    sql: str  # the down SQL
    risks: list[Risk]

    def as_dict(self) -> dict[str, object]:
        return {
            "migration": self.name,
            "sql": self.sql,
            "warnings": [risk.as_dict() for risk in self.risks],
        }


def plan(settings: Settings, database: Database) -> Rollback:
    """The last applied migration and the SQL that undoes it. Changes nothing."""
    current = history.status(settings, database, check_schema_drift=False)
    trouble = current.failed or current.modified or current.missing_locally
    if trouble:
        raise ToolchainError(
            f"Cannot roll back while {trouble[0]} is failed, edited after apply or missing locally: "
            f"{caller.typed('status')} says which; settle that first."
        )
    if not current.applied:
        raise ToolchainError("No applied migration to roll back.")
    local = {migration.name: migration for migration in local_migrations(settings)}
    name = current.applied[-1]
    sql = revert.reverse_sql(settings, database, name, history=[local[applied] for applied in current.applied])
    return Rollback(name, sql, find_risks(parse(sql)) if sql else [])


def apply(settings: Settings, database: Database, rollback: Rollback) -> None:
    """Run the down SQL and mark the migration rolled back, in one transaction; forget its checksum."""
    name = rollback.name.replace("'", "''")
    record = (
        'UPDATE "_prisma_migrations" SET rolled_back_at = now()'
        f" WHERE migration_name = '{name}' AND finished_at IS NOT NULL AND rolled_back_at IS NULL;\n"
    )
    with history.changing_records(settings, database):
        run_engine_script(
            settings,
            "schema-engine.mjs",
            ["execute", str(settings.schema_path)],
            database=database,
            stdin=rollback.sql + record,
        )
    # Its folder is now the user's to edit; the manifest records migrations as first applied.
    manifest.forget(settings.migrations_dir, rollback.name)
