"""lint-migrations: the strategy document's migration rules, checked on the files alone (no database).

Rules: folder naming and order, never modify and never delete (against manifest.json),
no schema and data changes in one migration, a `-- breaking:` note on destructive ones, and
nothing PostgreSQL refuses inside the migration's transaction. Deploy refuses what this rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pglast import ast, visitors
from pglast.enums import (
    AlterSubscriptionType,
    AlterTableType,
    DiscardMode,
    ObjectType,
    ReindexObjectType,
    TransactionStmtKind,
)

from acams_db.migrations import manifest, naming
from acams_db.migrations.folder import MIGRATION_FILE, LocalMigration
from acams_db.sql import sql_analysis

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
    findings += _transaction_findings(parsed, file)
    findings += [
        Finding(file, risk.line, risk.rule, "warning", risk.message) for risk in risks if risk.rule == "dynamic-sql"
    ]
    return findings


def _transaction_findings(parsed: sql_analysis.ParsedSql, file: str) -> list[Finding]:
    """A migration of several statements runs as one transaction (see README, Atomic migrations).

    PostgreSQL refuses some statements there ("cannot run inside a transaction block"), and a value added to an
    enum cannot be used before the transaction that added it commits ("unsafe use of new value").
    """
    findings = []
    if len(parsed.statements) > 1:
        findings += [
            Finding(
                file,
                statement.line,
                "outside-transaction",
                "error",
                f"{what} cannot run inside a transaction block, and a migration of several statements is one "
                "transaction: put it alone in a migration of its own",
            )
            for statement in parsed.statements
            if (what := _needs_no_transaction(statement.node))
        ]
    added: dict[str, int] = {}  # enum value -> line of its ADD VALUE
    for statement in parsed.statements:
        for value in sorted(_string_constants(statement.node) & set(added)):
            findings.append(
                Finding(
                    file,
                    statement.line,
                    "new-enum-value",
                    "error",
                    f"uses enum value {value!r}, added on line {added[value]} of the same migration: PostgreSQL "
                    "refuses a new enum value before its transaction commits. Move this statement to a later "
                    "migration",
                )
            )
        node = statement.node
        if isinstance(node, ast.AlterEnumStmt) and node.newVal is not None and node.oldVal is None:
            added[node.newVal] = statement.line
    return findings


def _needs_no_transaction(node: ast.Node) -> str | None:
    """The name of a statement PostgreSQL refuses inside a transaction block (PreventInTransactionBlock), or None."""
    concurrently = isinstance(node, ast.IndexStmt | ast.DropStmt) and node.concurrent
    if isinstance(node, ast.IndexStmt) and concurrently:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and concurrently and node.removeType == ObjectType.OBJECT_INDEX:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt):
        if any(isinstance(o, ast.DefElem) and o.defname == "concurrently" for o in node.params or ()):
            return "REINDEX CONCURRENTLY"
        if node.kind in _REINDEX_MANY:
            return f"REINDEX {_REINDEX_MANY[node.kind]}"
    if isinstance(node, ast.AlterTableStmt):
        for command in node.cmds or ():
            detach = isinstance(command, ast.AlterTableCmd) and command.subtype == AlterTableType.AT_DetachPartition
            if detach and isinstance(command.def_, ast.PartitionCmd) and command.def_.concurrent:
                return "DETACH PARTITION … CONCURRENTLY"
    if isinstance(node, ast.AlterSubscriptionStmt) and node.kind in _REFRESHING_SUBSCRIPTION_CHANGES:
        return "ALTER SUBSCRIPTION … PUBLICATION"  # refreshes the publication by default
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:
        return "VACUUM"
    if isinstance(node, ast.ClusterStmt) and node.relation is None:
        return "CLUSTER without a table"
    if isinstance(node, ast.AlterDatabaseStmt) and any(o.defname == "tablespace" for o in node.options or ()):
        return "ALTER DATABASE … SET TABLESPACE"
    if isinstance(node, ast.DiscardStmt) and node.target == DiscardMode.DISCARD_ALL:
        return "DISCARD ALL"
    if isinstance(node, ast.TransactionStmt) and node.kind in (
        TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED,
        TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED,
    ):
        return "COMMIT PREPARED / ROLLBACK PREPARED"
    return _ALWAYS_OUTSIDE_TRANSACTION.get(type(node))


_REINDEX_MANY = {
    ReindexObjectType.REINDEX_OBJECT_SCHEMA: "SCHEMA",
    ReindexObjectType.REINDEX_OBJECT_SYSTEM: "SYSTEM",
    ReindexObjectType.REINDEX_OBJECT_DATABASE: "DATABASE",
}
_REFRESHING_SUBSCRIPTION_CHANGES = (
    AlterSubscriptionType.ALTER_SUBSCRIPTION_REFRESH,
    AlterSubscriptionType.ALTER_SUBSCRIPTION_SET_PUBLICATION,
    AlterSubscriptionType.ALTER_SUBSCRIPTION_ADD_PUBLICATION,
    AlterSubscriptionType.ALTER_SUBSCRIPTION_DROP_PUBLICATION,
)
_ALWAYS_OUTSIDE_TRANSACTION: dict[type[ast.Node], str] = {
    ast.CreatedbStmt: "CREATE DATABASE",
    ast.DropdbStmt: "DROP DATABASE",
    ast.CreateTableSpaceStmt: "CREATE TABLESPACE",
    ast.DropTableSpaceStmt: "DROP TABLESPACE",
    ast.AlterSystemStmt: "ALTER SYSTEM",
    # Refused with a replication slot to create or drop, their default.
    ast.CreateSubscriptionStmt: "CREATE SUBSCRIPTION",
    ast.DropSubscriptionStmt: "DROP SUBSCRIPTION",
}


def _string_constants(node: ast.Node) -> set[str]:
    found = _StringConstants()
    found(node)
    return found.values


class _StringConstants(visitors.Visitor):
    def __init__(self) -> None:
        self.values: set[str] = set()

    def visit_A_Const(self, ancestors: Any, node: ast.A_Const) -> None:
        if isinstance(node.val, ast.String) and node.val.sval is not None:
            self.values.add(node.val.sval)
