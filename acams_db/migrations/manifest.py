"""prisma_migrations/manifest.json: the checksum of every migration, recorded once, so edits and deletions show.

A migration is recorded the first time it is applied in development (`make migrate`, or
`make deploy` for one written with `make migrate-data`, `make revert` or `--create-only`,
which are meant to be edited before that). The checksum is Prisma's: the SHA-256 of
migration.sql. The Prisma CLI ignores the file. Nobody edits it by hand.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from acams_db.errors import ToolchainError

MANIFEST_FILE = "manifest.json"
_ABOUT = (
    "Checksums (SHA-256 of migration.sql) recorded by acams-db when each migration was first applied in "
    "development. lint-migrations fails on an edited or deleted migration. Do not edit by hand."
)


@dataclass(frozen=True)
class Manifest:
    path: Path
    checksums: dict[str, str]  # folder name -> SHA-256

    def line_of(self, name: str) -> int | None:
        """The line of `name`'s entry in the file (one entry per line), for findings."""
        if not self.path.is_file():
            return None
        needle = json.dumps(name) + ":"
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            if needle in line:
                return number
        return None

    @property
    def newest(self) -> str | None:
        return max(self.checksums, default=None)


class ManifestError(ToolchainError):
    def __init__(self, message: str, path: Path, line: int | None) -> None:
        super().__init__(f"{path}{f':{line}' if line else ''}: {message}")
        self.reason = message
        self.line = line


def manifest_path(migrations_dir: Path) -> Path:
    return migrations_dir / MANIFEST_FILE


def load(migrations_dir: Path) -> Manifest:
    """Read the manifest (empty when the file does not exist); raise ManifestError on a malformed one."""
    path = manifest_path(migrations_dir)
    if not path.is_file():
        return Manifest(path, {})
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ManifestError(f"not valid JSON: {error.msg} (column {error.colno})", path, error.lineno) from error
    migrations = document.get("migrations") if isinstance(document, dict) else None
    if not isinstance(migrations, dict):
        raise ManifestError('expected an object with a "migrations" object', path, 1)
    for name, checksum in migrations.items():
        if not (isinstance(checksum, str) and len(checksum) == 64 and all(c in "0123456789abcdef" for c in checksum)):
            line = Manifest(path, {}).line_of(name)
            raise ManifestError(f"{name}: expected a lower-case hexadecimal SHA-256, got {checksum!r}", path, line)
    return Manifest(path, dict(migrations))


def save(manifest: Manifest) -> None:
    """Write the manifest atomically: readers see the old file or the new one, never half of one."""
    text = json.dumps({"about": _ABOUT, "migrations": dict(sorted(manifest.checksums.items()))}, indent=2) + "\n"
    manifest.path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=manifest.path.parent, prefix=".manifest.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, manifest.path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def record(migrations_dir: Path, checksums: dict[str, str]) -> list[str]:
    """Add migrations not yet recorded; a recorded checksum never changes. Return the names added."""
    manifest = load(migrations_dir)
    added = sorted(name for name in checksums if name not in manifest.checksums)
    if added:
        save(Manifest(manifest.path, {**manifest.checksums, **{name: checksums[name] for name in added}}))
    return added


def forget(migrations_dir: Path, name: str) -> bool:
    """Remove `name` (a withdrawn or rolled-back migration whose folder goes away). Return whether it was there."""
    manifest = load(migrations_dir)
    if name not in manifest.checksums:
        return False
    save(Manifest(manifest.path, {key: value for key, value in manifest.checksums.items() if key != name}))
    return True
