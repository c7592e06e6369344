"""Backups of an environment's database: pg_dump archives in `backups/<environment>/`, and their restore.

Each archive (custom format, one consistent snapshot of the Prisma schema) has a
JSON file beside it with what a person needs before restoring it: when, which
database, the last migration applied, its size and SHA-256. Only the newest
`BACKUP_KEEP` backups of an environment are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from acams_db import engine_sql, migrations, pg_tools
from acams_db.database import Database
from acams_db.errors import ToolchainError
from acams_db.settings import Settings

BACKUPS_FOLDER = "backups"
ARCHIVE_SUFFIX = ".dump"
METADATA_SUFFIX = ".json"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_]{0,59}$")
# PostgreSQL 17 added transaction_timeout; pg_restore 18 sets it even for older servers, which reject it.
_TRANSACTION_TIMEOUT_LINE = b"SET transaction_timeout = 0;"
_TRANSACTION_TIMEOUT_SINCE = 170000


@dataclass(frozen=True)
class Backup:
    path: Path
    environment: str
    label: str
    created_at: datetime
    database: str  # redacted
    schema: str
    last_migration: str | None
    server_version: int
    size: int
    sha256: str

    def as_dict(self) -> dict[str, object]:
        document = asdict(self)
        document.update(path=str(self.path), created_at=self.created_at.isoformat())
        return document


def folder(settings: Settings) -> Path:
    return settings.project_root / BACKUPS_FOLDER / settings.environment


def create(settings: Settings, database: Database, label: str) -> Backup:
    """Dump the database into a new archive, then delete the backups beyond BACKUP_KEEP.

    The dump goes to a hidden partial file; the archive appears under its own name
    (never another backup's, even when several deploys back up at once) only once
    it is complete, and is listed once its metadata is written. A failed dump
    leaves nothing behind.
    """
    if not _LABEL.match(label):
        raise ToolchainError(
            f"Invalid backup label {label!r}: expected lower-case letters, digits and underscores, "
            "such as before_deploy.",
            exit_code=2,
        )
    created_at = datetime.now(UTC)
    server_version, last_migration = _server_version(settings, database), _last_migration(settings, database)
    schema = pg_tools.schema_of(database.url)
    stem = f"{created_at:%Y%m%d_%H%M%S}_{label}"
    partial: Path | None = None
    target: Path | None = None
    try:
        folder(settings).mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=folder(settings), prefix=f".{stem}.", suffix=".partial")
        os.close(descriptor)
        partial = Path(name)
        pg_tools.run(
            "pg_dump", ["--format=custom", f"--schema={_quoted(schema)}", f"--file={partial}"], url=database.url
        )
        size, sha256 = partial.stat().st_size, _sha256(partial)
        target = _claim_name(partial, stem)
        backup = Backup(
            path=target,
            environment=settings.environment,
            label=label,
            created_at=created_at,
            database=database.display,
            schema=schema,
            last_migration=last_migration,
            server_version=server_version,
            size=size,
            sha256=sha256,
        )
        _write_metadata(backup)
    except BaseException as error:
        for leftover in (partial, target, target and target.with_suffix(METADATA_SUFFIX)):
            if leftover is not None and leftover.is_file():
                leftover.unlink()
        if isinstance(error, OSError):
            raise ToolchainError(f"Could not write a backup in {folder(settings)}: {error}") from error
        raise
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    prune(settings)
    return backup


def _claim_name(partial: Path, stem: str) -> Path:
    """Give `partial` the archive name `stem.dump`, or `stem_2.dump` and so on if another backup took it."""
    for attempt in range(1, 100):
        target = partial.with_name(f"{stem}{'' if attempt == 1 else f'_{attempt}'}{ARCHIVE_SUFFIX}")
        try:
            os.link(partial, target)  # atomic, and fails if the name exists
        except FileExistsError:
            continue
        return target
    raise ToolchainError(f"Too many backups named {stem} in {partial.parent}.")


def list_backups(settings: Settings) -> list[Backup]:
    """The environment's backups, newest first (archives whose metadata is missing are skipped)."""
    archives = folder(settings).glob(f"*{ARCHIVE_SUFFIX}")
    found = [read(path) for path in archives if path.with_suffix(METADATA_SUFFIX).is_file()]
    return sorted(found, key=lambda backup: backup.created_at, reverse=True)


def latest(settings: Settings) -> Backup | None:
    backups = list_backups(settings)
    return backups[0] if backups else None


def prune(settings: Settings) -> list[Path]:
    """Delete the environment's backups beyond the newest BACKUP_KEEP; return the archives deleted."""
    removed = [backup.path for backup in list_backups(settings)[settings.backup_keep :]]
    for path in removed:  # another process may be pruning too
        path.with_suffix(METADATA_SUFFIX).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    return removed


def read(archive: Path) -> Backup:
    """The backup of `archive`, from its metadata file."""
    metadata = archive.with_suffix(METADATA_SUFFIX)
    if not archive.is_file():
        raise ToolchainError(f"No backup archive at {archive}.")
    if not metadata.is_file():
        raise ToolchainError(f"{archive} has no {metadata.name} beside it: it is not a backup made by make backup.")
    document = json.loads(metadata.read_text())
    document.update(path=archive, created_at=datetime.fromisoformat(document["created_at"]))
    return Backup(**document)


def restore(settings: Settings, database: Database, archive: Path) -> Backup:
    """Replace the database's schema by the archive's, in one transaction: all of it or nothing."""
    backup = read(archive)
    actual = _sha256(archive)
    if actual != backup.sha256:
        raise ToolchainError(
            f"{archive} has changed since it was written: SHA-256 {actual}, expected {backup.sha256}. Not restored."
        )
    schema = pg_tools.schema_of(database.url)
    if schema != backup.schema:
        raise ToolchainError(f"{archive} holds schema {backup.schema!r}, but this database uses {schema!r}.")
    server_version = _server_version(settings, database)
    pg_tools.pipe(
        ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(archive)],
        # The archive re-creates the schema; dropping it first removes what was added since the backup.
        [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--command=DROP SCHEMA IF EXISTS {_quoted(schema)} CASCADE",
            "--file=-",
        ],
        url=database.url,
        drop_header_line=_TRANSACTION_TIMEOUT_LINE if server_version < _TRANSACTION_TIMEOUT_SINCE else None,
    )
    return backup


def _server_version(settings: Settings, database: Database) -> int:
    (row,) = engine_sql.query(settings, database, "SELECT current_setting('server_version_num')::int AS version")
    return int(row["version"])


def _last_migration(settings: Settings, database: Database) -> str | None:
    """The newest migration applied to the database and not rolled back, if any."""
    applied = (r.name for r in migrations.applied_records(settings, database) if r.finished and not r.rolled_back)
    return max(applied, default=None)


def _write_metadata(backup: Backup) -> None:
    metadata = backup.path.with_suffix(METADATA_SUFFIX)
    partial = metadata.with_name(f".{metadata.name}.partial")
    document = {key: value for key, value in backup.as_dict().items() if key != "path"}
    partial.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(partial, metadata)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
