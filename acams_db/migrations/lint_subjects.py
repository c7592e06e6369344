"""What the lint rules look at: the migrations folder, its manifest, and each migration's files, read once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from acams_db.migrations import manifest, naming
from acams_db.migrations.folder import MIGRATION_FILE
from acams_db.sql.parsing import ParsedSql, SqlSyntaxError, parse
from acams_db.sql.risks import Risk
from acams_db.sql.rules import find_risks


@dataclass(frozen=True)
class Unreadable:
    """Why migration.sql could not be read as SQL, and where."""

    line: int | None
    message: str


class Folder:
    """One migration folder, its name's parts and its SQL, parsed when a rule first asks."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.name = path.name
        self.location = f"{path.relative_to(root)}/"
        self.sql_path = path / MIGRATION_FILE
        self.sql_file = str(self.sql_path.relative_to(root))
        self.has_sql = self.sql_path.is_file()

    @cached_property
    def stamp(self) -> datetime | None:
        """When the folder name says it was created; None when the name does not hold a real date and time."""
        match = naming.MIGRATION_FOLDER.match(self.name)
        if match is None:
            return None
        try:
            return datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None

    @cached_property
    def sql(self) -> ParsedSql | Unreadable | None:
        """The parsed migration.sql; Unreadable when PostgreSQL cannot parse it; None when there is none."""
        if not self.has_sql:
            return None
        try:
            return parse(self.sql_path.read_text())
        except SqlSyntaxError as error:
            return Unreadable(error.line, error.problem)
        except UnicodeDecodeError as error:
            return Unreadable(None, f"not UTF-8 text: {error.reason}")

    @property
    def parsed(self) -> ParsedSql | None:
        return self.sql if isinstance(self.sql, ParsedSql) else None

    @cached_property
    def risks(self) -> list[Risk]:
        return find_risks(self.parsed) if self.parsed is not None else []


class History:
    """The migrations folder as the lint sees it; `now` is what "dated in the future" is measured against."""

    def __init__(self, migrations_dir: Path, now: datetime) -> None:
        self.migrations_dir = migrations_dir
        self.root = migrations_dir.parent
        self.now = now
        self.recorded: manifest.Manifest | None = None  # None: unreadable, so edits and deletions cannot be checked
        self.manifest_error: manifest.ManifestError | None = None
        try:
            self.recorded = manifest.load(migrations_dir)
        except manifest.ManifestError as error:
            self.manifest_error = error
        paths = migrations_dir.iterdir() if migrations_dir.is_dir() else iter(())
        folders = sorted((p for p in paths if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
        self.folders = [Folder(path, self.root) for path in folders]

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    @property
    def with_sql(self) -> list[Folder]:
        return [folder for folder in self.folders if folder.has_sql]

    @property
    def unrecorded(self) -> list[Folder]:
        """Migrations not in the manifest; none when the manifest cannot be read."""
        if self.recorded is None:
            return []
        return [folder for folder in self.with_sql if folder.name not in self.recorded.checksums]

    @property
    def parsed(self) -> list[tuple[Folder, ParsedSql]]:
        return [(folder, folder.parsed) for folder in self.folders if folder.parsed is not None]
