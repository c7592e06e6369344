"""lint-migrations: the strategy document's migration rules, checked on the files alone (no database).

Rules: folder naming and order, never modify and never delete (against manifest.json),
no schema and data changes in one migration, and a `-- breaking:` note on destructive ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from acams_db import manifest, naming, sql_analysis
from acams_db.migrations import MIGRATION_FILE, LocalMigration

BREAKING_NOTE_TEMPLATE = "TODO: say what breaks, and why it is safe"
README_NAMES = ("readme.md", "readme", "readme.txt")


@dataclass(frozen=True)
class Finding:
    file: str  # relative to the project root
    line: int | None
    rule: str
    severity: str  # "error" fails the lint; "warning" does not
    message: str

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line else self.file
        return f"{location}: {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }


def errors(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "error"]


def breaking_note(folder: Path, parsed: sql_analysis.ParsedSql) -> str | None:
    """The migration's `-- breaking:` note, or the name of its README; None when it has neither (or only the
    unfilled template)."""
    for _, note in sql_analysis.breaking_notes(parsed):
        if note and not note.upper().startswith("TODO"):
            return note
    readme = _readme(folder)
    return f"see {readme.name}" if readme else None


def _readme(folder: Path) -> Path | None:
    for path in folder.iterdir():
        if path.is_file() and path.name.lower() in README_NAMES and path.read_text().strip():
            return path
    return None


def lint_migrations(migrations_dir: Path, *, now: datetime | None = None) -> list[Finding]:
    """Check every migration folder and the manifest; return the findings, ordered by file and line.

    Reads files only. `now` (default: the current time) is what "dated in the future" is measured against.
    """
    root = migrations_dir.parent
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    findings: list[Finding] = []

    def relative(path: Path) -> str:
        return str(path.relative_to(root))

    recorded: manifest.Manifest | None = None  # None: unreadable, so edits and deletions cannot be checked
    try:
        recorded = manifest.load(migrations_dir)
    except manifest.ManifestError as error:
        findings.append(
            Finding(relative(manifest.manifest_path(migrations_dir)), error.line, "manifest", "error", error.reason)
        )
    folders = (
        sorted(
            (p for p in migrations_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
        if migrations_dir.is_dir()
        else []
    )

    for folder in folders:
        location = relative(folder) + "/"
        findings += _folder_name_findings(folder.name, location, moment)
        sql_file = folder / MIGRATION_FILE
        if not sql_file.is_file():
            findings.append(Finding(location, None, "no-sql", "error", f"has no {MIGRATION_FILE}"))
            continue
        if recorded is not None:
            findings += _manifest_findings(recorded, folder, location, relative(sql_file))
        findings += _sql_findings(folder, relative(sql_file))

    if recorded is not None:
        present = {folder.name for folder in folders}
        for name in sorted(set(recorded.checksums) - present):
            findings.append(
                Finding(
                    relative(recorded.path),
                    recorded.line_of(name),
                    "deleted",
                    "error",
                    f"{name} is recorded but its folder is missing: never delete a migration; restore it "
                    f"(git checkout -- {relative(migrations_dir)}/{name})",
                )
            )
    return sorted(findings, key=lambda finding: (finding.file, finding.line or 0))


def _manifest_findings(recorded: manifest.Manifest, folder: Path, location: str, sql_file: str) -> list[Finding]:
    """Never modify: a recorded checksum must match. Unrecorded migrations must sort after the recorded ones."""
    checksum = LocalMigration(folder.name, folder).checksum
    if folder.name in recorded.checksums:
        if recorded.checksums[folder.name] == checksum:
            return []
        return [
            Finding(
                sql_file,
                None,
                "modified",
                "error",
                f"edited after it was recorded: {manifest.MANIFEST_FILE} has sha256 {recorded.checksums[folder.name]}, "
                f"the file has sha256 {checksum}. Never edit a migration once applied: restore it and add a new "
                "migration (make migrate, make revert).",
            )
        ]
    findings = [
        Finding(
            location,
            None,
            "unrecorded",
            "error",
            f"not recorded in {manifest.MANIFEST_FILE}: apply it in development (make deploy) to record its "
            "checksum, then commit it with the manifest",
        )
    ]
    newest = recorded.newest
    if newest is not None and folder.name < newest:
        findings.append(
            Finding(
                location,
                None,
                "order",
                "error",
                f"sorts before {newest}, which is recorded already: Prisma would apply it out of order where that "
                "one is applied. Create it again so that it gets a current timestamp.",
            )
        )
    return findings


def _folder_name_findings(name: str, location: str, now: datetime) -> list[Finding]:
    match = naming.MIGRATION_FOLDER.match(name)
    if match is None:
        return [
            Finding(
                location,
                None,
                "naming",
                "error",
                "the folder name does not follow YYYYMMDD_HHMMSS_descriptive_name (descriptive name in lower "
                "snake_case, such as 20240101_120000_init)",
            )
        ]
    try:
        stamp = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return [
            Finding(location, None, "naming", "error", f"{match['date']}_{match['time']} is not a real date and time")
        ]
    if stamp > now:
        return [
            Finding(
                location,
                None,
                "future-date",
                "error",
                f"dated {stamp:%Y-%m-%d %H:%M:%S} UTC, in the future: migration folders are stamped with their "
                "creation time in UTC",
            )
        ]
    if len(match["name"]) > naming.MAX_NAME_LENGTH:
        return [
            Finding(location, None, "naming", "error", f"the descriptive name is longer than {naming.MAX_NAME_LENGTH}")
        ]
    return []


def _sql_findings(folder: Path, file: str) -> list[Finding]:
    try:
        parsed = sql_analysis.parse((folder / MIGRATION_FILE).read_text())
    except sql_analysis.SqlSyntaxError as error:
        return [Finding(file, error.line, "sql-syntax", "error", f"PostgreSQL cannot parse it: {error.reason}")]
    except UnicodeDecodeError as error:
        return [Finding(file, None, "sql-syntax", "error", f"not UTF-8 text: {error.reason}")]
    findings = []
    schema_lines, data_lines = parsed.lines_of(sql_analysis.Kind.SCHEMA), parsed.lines_of(sql_analysis.Kind.DATA)
    if schema_lines and data_lines:
        findings.append(
            Finding(
                file,
                data_lines[0],
                "mixed-schema-and-data",
                "error",
                f"changes the schema (line {schema_lines[0]}) and the data (line {data_lines[0]}) in one migration: "
                "split it into a schema migration (make migrate) and a data migration (make migrate-data)",
            )
        )
    risks = sql_analysis.find_risks(parsed)
    destructive = [risk for risk in risks if risk.destructive]
    if destructive and breaking_note(folder, parsed) is None:
        listed = ", ".join(f"{risk.rule} on line {risk.line}" for risk in destructive)
        templates = [line for line, note in sql_analysis.breaking_notes(parsed) if note.upper().startswith("TODO")]
        problem = (
            f"its -- breaking: note on line {templates[0]} is still the template"
            if templates
            else "it has no -- breaking: note"
        )
        findings.append(
            Finding(
                file,
                destructive[0].line,
                "breaking-note",
                "error",
                f"destructive statements ({listed}) but {problem}: add `-- breaking: <what breaks and why it is "
                "safe>` (or a README.md in the folder)",
            )
        )
    findings += [
        Finding(file, risk.line, risk.rule, "warning", risk.message) for risk in risks if risk.rule == "dynamic-sql"
    ]
    return findings
