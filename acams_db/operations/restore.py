"""Restore a backup: every check that can refuse first, then a safety backup, then the archive in one transaction.

Nothing changes until everything that can refuse has passed: the archive
(metadata, size, SHA-256, contents), its schema against the database's, and
the person's consent. Outside development the current state is then backed up
(kind `before_restore`, which never pushes out other backups). The schema is
dropped and the archive applied by psql in a transaction committed only once
pg_restore has written all of it (`pg_tools.run_in_transaction`): stopped at
any moment, by any signal, the database is as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acams_db.errors import ToolchainError, UsageError
from acams_db.migrations import history
from acams_db.operations import backups
from acams_db.operations.backups import Backup
from acams_db.runtime import guardrails, interrupts, pg_tools
from acams_db.runtime.database import Database
from acams_db.runtime.interrupts import Interrupted
from acams_db.settings import Settings

# PostgreSQL 17 added transaction_timeout; pg_restore 18 sets it even for older servers, which reject it.
_TRANSACTION_TIMEOUT_LINE = b"SET transaction_timeout = 0;"
_TRANSACTION_TIMEOUT_SINCE = 170000
_EXAMPLE = "such as backups/staging/20261124_101500_manual.dump"


@dataclass(frozen=True)
class Consent:
    """What the person said: --force, or in production --allow-production and the database's name typed out."""

    force: bool = False
    allow_production: bool = False
    typed_database: str | None = None


@dataclass(frozen=True)
class Restored:
    backup: Backup
    backup_before_restore: Backup | None

    def as_dict(self) -> dict[str, object]:
        safety = self.backup_before_restore
        return {"restored": self.backup.as_dict(), "backup_before_restore": safety.as_dict() if safety else None}


def restore(
    settings: Settings,
    archive: Path,
    *,
    connect: Callable[[Settings], Database],
    consent: Consent,
    confirm: Callable[[str], None],
    say: Callable[[str], None],
) -> Restored:
    """Replace the database's schema and data by `archive`'s; refuse without changing anything when a check fails.

    `connect` gives the environment's database once the archive passed its checks; `confirm` asks the question
    (outside a protected environment, without --force) and raises if the answer is no. SIGINT, SIGTERM and
    SIGHUP stop it with the database as it was.
    """
    _check_argument(archive)
    with interrupts.signals_interrupt():
        backup = backups.verify(archive)  # before connecting anywhere
        database = connect(settings)
        schema = pg_tools.schema_of(database.url)
        if schema != backup.schema:
            raise ToolchainError(f"{archive} holds schema {backup.schema!r}, but this database uses {schema!r}.")
        if settings.policy.protected:
            guardrails.require_production_consent(database.url, consent.allow_production, consent.typed_database)
        elif not consent.force:
            confirm(f"Replace ALL data in {database.display} by {archive.name}?")
        return Restored(backup, _replace(settings, database, archive, schema, say))


def _check_argument(archive: Path) -> None:
    """Refuse, as a usage error, a FILE that is a folder or a backup's metadata: restore takes the archive."""
    if archive.is_dir() or not archive.name:
        raise UsageError(f"{archive} is a folder: give a backup's {backups.ARCHIVE_SUFFIX} file, {_EXAMPLE}.")
    if archive.suffix == backups.METADATA_SUFFIX:
        raise UsageError(
            f"{archive} is a backup's metadata: give its archive, {archive.with_suffix(backups.ARCHIVE_SUFFIX)}."
        )


def _replace(
    settings: Settings, database: Database, archive: Path, schema: str, say: Callable[[str], None]
) -> Backup | None:
    """Back the current state up where the environment asks for it, then apply `archive`; return that backup."""
    try:
        safety = None
        if settings.policy.backs_up_before_deploy:
            say("Backing up the current state first ...")
            safety = backups.create(settings, database, backups.BEFORE_RESTORE)
        with history.changing_records(settings, database):  # the archive brings its own _prisma_migrations
            _apply(database, archive, schema)
    except Interrupted as error:
        raise Interrupted(
            error.signal_number,
            f"{archive} not restored: stopped by {error.signal_name}; {database.display} is as it was.",
        ) from None
    except ToolchainError as error:
        raise ToolchainError(f"{archive} not restored, {database.display} is as it was: {error}") from error
    return safety


def _apply(database: Database, archive: Path, schema: str) -> None:
    old_server = pg_tools.server_version(database.url) < _TRANSACTION_TIMEOUT_SINCE
    pg_tools.run_in_transaction(
        ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(archive)],
        url=database.url,
        # The archive re-creates the schema; dropping it first removes what was added since the backup.
        first=f"DROP SCHEMA IF EXISTS {pg_tools.quote_identifier(schema)} CASCADE",
        drop_header_line=_TRANSACTION_TIMEOUT_LINE if old_server else None,
    )
