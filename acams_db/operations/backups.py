"""Backups of an environment's database: pg_dump archives in `backups/<environment>/`.

Each archive (custom format, one consistent snapshot of the Prisma schema) has a
JSON file beside it with what a person needs before restoring it: when, which
database, the last migration applied, its size and SHA-256. A backup is listed
only once both are complete. The folder is private (0700, files 0600).

Retention keeps the newest `BACKUP_KEEP` backups of each kind: the backups a
person asks for (any label), and each kind the toolchain takes by itself
(`before_deploy`, `before_restore`). An automatic backup never pushes out a
backup of another kind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acams_db.errors import ExitCode, ToolchainError
from acams_db.migrations import history
from acams_db.runtime import interrupts, pg_tools
from acams_db.runtime.database import Database
from acams_db.runtime.interrupts import Interrupted
from acams_db.settings import ENVIRONMENTS, Settings

BACKUPS_FOLDER = "backups"
ARCHIVE_SUFFIX = ".dump"
METADATA_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"
# Held shared by every backup being written; see _writing.
LOCK_FILE = ".lock"
BEFORE_DEPLOY = "before_deploy"
BEFORE_RESTORE = "before_restore"
AUTOMATIC_LABELS = (BEFORE_DEPLOY, BEFORE_RESTORE)
MANUAL = "manual"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_]{0,59}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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

    @property
    def kind(self) -> str:
        """What retention counts it with: its label if the toolchain takes it by itself, else manual."""
        return self.label if self.label in AUTOMATIC_LABELS else MANUAL

    def as_dict(self) -> dict[str, object]:
        document = asdict(self)
        document.update(path=str(self.path), created_at=self.created_at.isoformat())
        return document


@dataclass(frozen=True)
class Inventory:
    """What an environment's backup folder holds."""

    backups: list[Backup]  # newest first
    ignored: list[str]  # one line per file that is not part of a backup, saying why


def folder(settings: Settings) -> Path:
    return settings.project_root / BACKUPS_FOLDER / settings.environment


def back_up(
    settings: Settings, label: str, *, connect: Callable[[Settings], Database], say: Callable[[str], None]
) -> Backup:
    """The backup a person asks for: `create`, which SIGINT, SIGTERM and SIGHUP stop with nothing written.

    `connect` gives the environment's database once the label is known to be valid: a bad one is refused
    before anything is said or reached."""
    check_label(label)
    database = connect(settings)
    say(f"Backing up {database.display} ...")
    with interrupts.signals_interrupt():
        return create(settings, database, label)


def check_label(label: str) -> None:
    if not _LABEL.match(label):
        raise ToolchainError(
            f"Invalid backup label {label!r}: expected lower-case letters, digits and underscores, "
            "such as before_import.",
            exit_code=ExitCode.USAGE,
        )


def create(
    settings: Settings, database: Database, label: str, *, prune_now: bool = True, lock_timeout: str | None = None
) -> Backup:
    """Dump the database into a new archive, then delete the backups of its kind beyond BACKUP_KEEP.

    `prune_now` False leaves the deletion to the caller (`prune`, or `discard` of this backup). `lock_timeout` (a
    PostgreSQL duration) bounds how long pg_dump waits for a table another session has locked.

    The dump goes to a hidden partial file; the archive appears under its own name
    (never another backup's, even when several deploys back up at once) only once
    it is complete, and is listed once its metadata is written. A failed or
    interrupted dump leaves nothing behind; what a killed one left, the next backup
    removes.
    """
    check_label(label)
    created_at = datetime.now(UTC)
    home = folder(settings)
    server_version, last_migration = pg_tools.server_version(database.url), _last_migration(settings, database)
    try:
        _make_private(home)
        with _writing(home):
            backup = _dump(
                Backup(
                    path=home / f"{created_at:%Y%m%d_%H%M%S}_{label}",  # the stem; the archive's name is claimed
                    environment=settings.environment,
                    label=label,
                    created_at=created_at,
                    database=database.display,
                    schema=pg_tools.schema_of(database.url),
                    last_migration=last_migration,
                    server_version=server_version,
                    size=0,
                    sha256="",
                ),
                database,
                lock_timeout,
            )
    except OSError as error:
        raise ToolchainError(f"Could not write a backup in {home}: {error}") from error
    except Interrupted as error:
        raise Interrupted(error.signal_number, f"Backup stopped by {error.signal_name}: nothing written.") from None
    if prune_now:
        prune(settings)
    return backup


def discard(backup: Backup) -> None:
    """Delete `backup` (its metadata first, so that it is never listed without its archive)."""
    backup.path.with_suffix(METADATA_SUFFIX).unlink(missing_ok=True)
    backup.path.unlink(missing_ok=True)


def _dump(planned: Backup, database: Database, lock_timeout: str | None) -> Backup:
    """Write the archive and metadata of `planned` (whose path is the stem); on any failure, neither."""
    descriptor, name = tempfile.mkstemp(dir=planned.path.parent, prefix=f".{planned.path.name}.", suffix=PARTIAL_SUFFIX)
    os.close(descriptor)
    partial, target = Path(name), None
    try:
        schema = f"--schema={pg_tools.quote_identifier(planned.schema)}"
        waits = [f"--lock-wait-timeout={lock_timeout}"] if lock_timeout else []
        pg_tools.run("pg_dump", ["--format=custom", *waits, schema, f"--file={partial}"], url=database.url)
        target = _claim_name(partial, planned.path.name)
        backup = replace(planned, path=target, size=partial.stat().st_size, sha256=_sha256(partial))
        _write_metadata(backup)
        return backup
    except BaseException:
        if target is not None:
            target.with_suffix(METADATA_SUFFIX).unlink(missing_ok=True)
            target.unlink(missing_ok=True)
        raise
    finally:
        partial.unlink(missing_ok=True)


def _claim_name(partial: Path, stem: str) -> Path:
    """Link `partial` as `stem.dump`, or `stem_2.dump` and so on if another backup took it; keep `partial`.

    Until the partial file is removed, an archive sharing its inode is known as this backup's own.
    """
    for attempt in range(1, 100):
        target = partial.with_name(f"{stem}{'' if attempt == 1 else f'_{attempt}'}{ARCHIVE_SUFFIX}")
        try:
            os.link(partial, target)  # atomic, and fails if the name exists
        except FileExistsError:
            continue
        return target
    raise ToolchainError(f"Too many backups named {stem} in {partial.parent}.")


@contextmanager
def _writing(home: Path) -> Iterator[None]:
    """Hold the folder's lock shared while writing a backup.

    A process that gets it exclusively knows no backup is being written: every
    partial file there was left by a killed one (SIGKILL cannot be handled), and it
    removes them, with the archives that are still only their links.
    """
    descriptor = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # others are writing; the next backup alone cleans up
        else:
            _remove_leftovers(home)
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)


def _remove_leftovers(home: Path) -> None:
    # A prune may delete archives meanwhile: those have no inode any more.
    archives = {inode: path for path in home.glob(f"*{ARCHIVE_SUFFIX}") if (inode := _inode(path)) is not None}
    for partial in home.glob(f".*{PARTIAL_SUFFIX}"):
        own = archives.get(_inode(partial) or -1)
        if own is not None and not own.with_suffix(METADATA_SUFFIX).exists():
            own.unlink(missing_ok=True)  # killed after claiming its name, before its metadata
        partial.unlink(missing_ok=True)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def inventory(settings: Settings) -> Inventory:
    """The environment's backups, newest first, and a line for each other file there. Reads files only."""
    home = folder(settings)
    if not home.is_dir():
        return Inventory([], [])
    stems = {
        path.stem
        for path in home.iterdir()
        if path.suffix in (ARCHIVE_SUFFIX, METADATA_SUFFIX) and not path.name.startswith(".")  # hidden: partial
    }
    found, ignored = [], []
    for stem in sorted(stems):
        try:
            found.append(read(home / f"{stem}{ARCHIVE_SUFFIX}"))
        except ToolchainError as error:
            ignored.append(str(error))
    return Inventory(sorted(found, key=lambda backup: (backup.created_at, backup.path.name), reverse=True), ignored)


def list_backups(settings: Settings) -> list[Backup]:
    """The environment's backups, newest first; other files are left out."""
    return inventory(settings).backups


def latest(settings: Settings) -> Backup | None:
    backups = list_backups(settings)
    return backups[0] if backups else None


def prune(settings: Settings) -> list[Path]:
    """Delete the backups beyond the newest BACKUP_KEEP of each kind; return the archives deleted.

    Files that are not part of a backup are never deleted.
    """
    seen: dict[str, int] = {}
    removed = []
    for backup in list_backups(settings):
        seen[backup.kind] = seen.get(backup.kind, 0) + 1
        if seen[backup.kind] > settings.backup_keep:
            removed.append(backup.path)
    for path in removed:  # another process may be pruning too
        path.with_suffix(METADATA_SUFFIX).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    return removed


def read(archive: Path) -> Backup:
    """The backup of `archive`, from its metadata file, which must be exactly what `create` writes.

    The archive's size must be the one recorded (its SHA-256 is checked by `verify`).

    Raises ToolchainError with one line naming the file and what is wrong with it.
    """
    metadata = archive.with_suffix(METADATA_SUFFIX)
    if not archive.is_file():
        if metadata.is_file():
            raise ToolchainError(f"{metadata}: no {archive.name} beside it.")
        raise ToolchainError(f"No backup archive at {archive}.")
    if not metadata.is_file():
        raise ToolchainError(f"{archive}: no {metadata.name} beside it: not a backup made by acams-db backup.")
    try:
        document = json.loads(metadata.read_bytes())
    except json.JSONDecodeError as error:
        raise ToolchainError(
            f"{metadata}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from error
    except (UnicodeDecodeError, OSError) as error:
        raise ToolchainError(f"{metadata}: cannot be read: {error}.") from error
    backup = _from_document(document, archive, metadata)
    if archive.stat().st_size != backup.size:
        actual = archive.stat().st_size
        raise ToolchainError(f"{archive} has changed since it was written: {actual} bytes, expected {backup.size}.")
    return backup


# Every field of the metadata: what it must hold, and how to say so.
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "environment": (lambda v: v in ENVIRONMENTS, f"one of {', '.join(ENVIRONMENTS)}"),
    "label": (lambda v: isinstance(v, str) and _LABEL.match(v) is not None, "a label such as before_deploy"),
    "created_at": (lambda v: _timestamp(v) is not None, "an ISO 8601 date and time with its UTC offset"),
    "database": (lambda v: isinstance(v, str), "a string"),
    "schema": (lambda v: isinstance(v, str) and v != "", "a schema name"),
    "last_migration": (lambda v: v is None or isinstance(v, str), "a migration name or null"),
    "server_version": (lambda v: _whole(v) and v > 0, "a PostgreSQL version number such as 180006"),
    "size": (lambda v: _whole(v) and v >= 0, "a number of bytes"),
    "sha256": (lambda v: isinstance(v, str) and _SHA256.match(v) is not None, "64 lower-case hexadecimal digits"),
}


def _from_document(document: object, archive: Path, metadata: Path) -> Backup:
    if not isinstance(document, dict):
        raise ToolchainError(f"{metadata}: expected a JSON object, got {type(document).__name__}.")
    for name in document.keys() - _FIELDS.keys():
        raise ToolchainError(f"{metadata}: unexpected field {name!r}.")
    for name, (valid, expected) in _FIELDS.items():
        if name not in document:
            raise ToolchainError(f"{metadata}: missing field {name!r} ({expected}).")
        if not valid(document[name]):
            raise ToolchainError(f"{metadata}: {name}: expected {expected}, got {json.dumps(document[name])}.")
    return Backup(**{**document, "path": archive, "created_at": _timestamp(document["created_at"])})


def _timestamp(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def verify(archive: Path) -> Backup:
    """The backup of `archive` once its size, SHA-256 and contents are checked. Reads files only."""
    backup = read(archive)
    actual = _sha256(archive)
    if actual != backup.sha256:
        raise ToolchainError(f"{archive} has changed since it was written: SHA-256 {actual}, expected {backup.sha256}.")
    try:
        schemas = pg_tools.archive_schemas(archive)
    except ToolchainError as error:
        raise ToolchainError(f"{archive}: not an archive of pg_dump: {error}") from error
    if schemas != [backup.schema]:
        found = ", ".join(map(repr, schemas)) or "no schema"
        raise ToolchainError(f"{archive} holds {found}, but its metadata says schema {backup.schema!r}.")
    return backup


def _last_migration(settings: Settings, database: Database) -> str | None:
    """The newest migration applied to the database and not rolled back, if any."""
    applied = (r.name for r in history.applied_records(settings, database) if r.finished and not r.rolled_back)
    return max(applied, default=None)


def _make_private(home: Path) -> None:
    for level in (home.parent, home):
        level.mkdir(mode=0o700, exist_ok=True)
        level.chmod(0o700)


def _write_metadata(backup: Backup) -> None:
    metadata = backup.path.with_suffix(METADATA_SUFFIX)
    document = {key: value for key, value in backup.as_dict().items() if key != "path"}
    descriptor, partial = tempfile.mkstemp(dir=metadata.parent, prefix=f".{metadata.name}.", suffix=PARTIAL_SUFFIX)
    try:
        with os.fdopen(descriptor, "w") as stream:
            stream.write(json.dumps(document, indent=2) + "\n")
        os.replace(partial, metadata)
    finally:
        Path(partial).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
