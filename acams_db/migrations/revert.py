"""revert: a new forward migration holding the reverse of an earlier one, written for review.

Production never rolls back; the strategy document says to "create a new migration to fix
issues", and this writes it. The reverse is computed by Prisma (`migrate diff` from the
migrations with the reverted one to the migrations without it), which development's
rollback reuses through `reverse_sql`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from acams_db import caller
from acams_db.errors import ToolchainError
from acams_db.migrations import breaking_note, naming
from acams_db.migrations.drift import EMPTY_DIFF
from acams_db.migrations.folder import LOCK_FILE, LOCK_FILE_TEXT, LocalMigration, local_migrations, write_new_migration
from acams_db.runtime.database import Database
from acams_db.runtime.prisma_cli import run_prisma
from acams_db.settings import Settings
from acams_db.sql.parsing import parse
from acams_db.sql.rules import find_risks

REVERT_PREFIX = "revert_"


@dataclass(frozen=True)
class CreatedRevert:
    reverted: str  # the folder name of the migration reverted
    folder: Path
    sql: str  # the new migration.sql


def reverse_sql(
    settings: Settings, database: Database, name: str, *, history: list[LocalMigration] | None = None
) -> str:
    """SQL taking the schema of `history` (default: every local migration) to the schema of `history` without
    migration `name`; empty when `name` changes no schema (a data migration).

    Prisma replays both sets of migrations on a shadow database (SHADOW_DATABASE_URL, else a temporary
    database on the same server); the project's files and database are not changed.
    """
    migrations_with = history if history is not None else local_migrations(settings)
    if name not in {migration.name for migration in migrations_with}:
        raise ToolchainError(f"No migration {name} in {settings.migrations_dir.name}/.")
    migrations_without = [migration for migration in migrations_with if migration.name != name]
    with tempfile.TemporaryDirectory(prefix="acams-reverse-") as scratch:
        source = _copy_history(Path(scratch) / "with", migrations_with)
        target = (
            ["--to-migrations", str(_copy_history(Path(scratch) / "without", migrations_without))]
            if migrations_without
            else ["--to-empty"]
        )
        try:
            sql = run_prisma(
                settings,
                ["migrate", "diff", "--from-migrations", str(source), *target, "--script"],
                database=database,
            ).strip()
        except ToolchainError as error:
            raise ToolchainError(
                f"Cannot compute the reverse of {name}: Prisma could not replay the migrations with and without it "
                f"(does a later migration depend on it?).\n{error}"
            ) from error
    return "" if sql in ("", EMPTY_DIFF) else sql + "\n"


def _copy_history(folder: Path, history: list[LocalMigration]) -> Path:
    folder.mkdir()
    (folder / LOCK_FILE).write_text(LOCK_FILE_TEXT)
    for migration in history:
        shutil.copytree(migration.path, folder / migration.name)
    return folder


def find_migration(settings: Settings, name: str) -> LocalMigration:
    """The local migration called `name`: its folder name, or its descriptive part if that is unique."""
    local = local_migrations(settings)
    matches = [m for m in local if m.name == name] or [m for m in local if _descriptive_name(m.name) == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ToolchainError(f"{name} names several migrations; give the folder: {', '.join(m.name for m in matches)}")
    raise ToolchainError(
        f"No migration {name} in {settings.migrations_dir.name}/ (a migration applied elsewhere but missing here "
        "cannot be reverted: its SQL is needed)."
    )


def _descriptive_name(folder: str) -> str:
    match = naming.MIGRATION_FOLDER.match(folder)
    return match["name"] if match else folder


def revert_name(reverted_folder: str) -> str:
    """`revert_<descriptive name>`, shortened to the naming limit."""
    return f"{REVERT_PREFIX}{_descriptive_name(reverted_folder)}"[: naming.MAX_NAME_LENGTH].rstrip("_")


def create_revert(settings: Settings, database: Database, name: str) -> CreatedRevert:
    """Write `<now>_revert_<name>` with the reverse SQL of migration `name`, annotated for review; apply nothing."""
    target = find_migration(settings, name)
    body = reverse_sql(settings, database, target.name)
    if not body:
        raise ToolchainError(
            f"{target.name} changes no schema (a data migration?), so there is nothing to reverse automatically. "
            "Write the reverse by hand: "
            + caller.spelled(
                make=f"make migrate-data name={revert_name(target.name)}",
                cli=f"acams-db migrate-data {revert_name(target.name)}",
            )
        )
    text = revert_text(target.name, body)
    folder = write_new_migration(settings, revert_name(target.name), text)
    return CreatedRevert(target.name, folder, text)


def revert_text(reverted: str, body: str) -> str:
    """The revert migration: a header for the reviewer, then `body` with a warning above each risky statement."""
    risks = find_risks(parse(body))
    header = [
        f"-- Reverts {reverted}. Written by `acams-db revert` for review and not applied: check it, edit it if",
        "-- needed, apply it in development (make deploy), commit it, and deploy it like any migration.",
        f"-- It takes the schema back to what the migrations give without {reverted} (prisma migrate diff).",
        "-- Data is not restored: what that migration dropped is gone, and data stored since in what it",
        "-- created is dropped here.",
    ]
    if any(risk.destructive for risk in risks):
        header.append(f"-- breaking: {breaking_note.TEMPLATE}")
    warnings_by_line: dict[int, list[str]] = {}
    for risk in risks:
        warnings_by_line.setdefault(risk.line, []).append(f"-- WARNING {risk.rule} ({risk.severity}): {risk.message}")
    lines = []
    for number, line in enumerate(body.splitlines(), start=1):
        lines += warnings_by_line.get(number, [])
        lines.append(line)
    return "\n".join(header) + "\n\n" + "\n".join(lines) + "\n"
