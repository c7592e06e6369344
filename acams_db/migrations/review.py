"""review: pending migrations' SQL with warnings for risky statements and, where the database answers, the
number of rows each one affects. Reads the database (through the Prisma query engine) and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from acams_db.errors import ToolchainError
from acams_db.migrations.breaking_note import breaking_note
from acams_db.migrations.folder import MIGRATION_FILE, LocalMigration, local_migrations
from acams_db.migrations.history import status
from acams_db.runtime import engine_sql
from acams_db.runtime.database import Database
from acams_db.settings import Settings
from acams_db.sql.parsing import SqlSyntaxError, parse
from acams_db.sql.relations import created_tables
from acams_db.sql.risks import Hit, Risk, RowCount
from acams_db.sql.rules import SQL_SYNTAX, find_risks


@dataclass(frozen=True)
class MigrationReview:
    name: str
    file: str  # migration.sql, relative to the project root
    sql: str
    warnings: list[Risk] = field(default_factory=list)  # each counted on the database where it could be
    breaking_note: str | None = None
    row_counts_unavailable: str | None = None  # why rows were not counted, when the database could not tell

    @property
    def destructive(self) -> bool:
        return any(warning.destructive for warning in self.warnings)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "file": self.file,
            "sql": self.sql,
            "warnings": [warning.as_dict() for warning in self.warnings],
            "breaking_note": self.breaking_note,
            "row_counts_unavailable": self.row_counts_unavailable,
        }


def review_pending(settings: Settings, database: Database) -> list[MigrationReview]:
    """Review the migrations not yet applied to `database`, oldest first."""
    pending = status(settings, database, check_schema_drift=False).pending
    return review_migrations(settings, database, pending)


def review_migrations(settings: Settings, database: Database | None, names: list[str]) -> list[MigrationReview]:
    """Review the named local migrations in history order, as if applied one after another.

    With a database, each warning with a row count says how many rows it affects there now; a database that
    cannot be asked leaves the counts out and says why.
    """
    local = {migration.name: migration for migration in local_migrations(settings)}
    unknown = [name for name in names if name not in local]
    if unknown:
        raise ToolchainError(f"No migration {', '.join(unknown)} in {settings.migrations_dir.name}/.")
    analysed: list[tuple[LocalMigration, str, list[Risk], str | None]] = []
    new_tables: set[str] = set()  # created by an earlier migration of this review: no rows yet
    for migration in sorted((local[name] for name in set(names)), key=lambda m: m.name):
        sql = (migration.path / MIGRATION_FILE).read_text()
        try:
            parsed = parse(sql)
        except SqlSyntaxError as error:
            analysed.append((migration, sql, [SQL_SYNTAX.risk(error.line, Hit(error.problem))], None))
            continue
        analysed.append(
            (
                migration,
                sql,
                find_risks(parsed, new_tables),
                breaking_note(migration.path, parsed),
            )
        )
        new_tables |= created_tables(parsed)

    counts: dict[RowCount, int | None] = {}
    unavailable = None
    queries = [risk.row_count for _, _, risks, _ in analysed for risk in risks if risk.row_count is not None]
    if database is not None and queries:
        try:
            counts = count_rows(settings, database, queries)
        except ToolchainError as error:
            unavailable = str(error)

    root = settings.project_root
    return [
        MigrationReview(
            name=migration.name,
            file=str((migration.path / MIGRATION_FILE).relative_to(root)),
            sql=sql,
            warnings=[_counted(risk, counts) for risk in risks],
            breaking_note=note,
            row_counts_unavailable=unavailable,
        )
        for migration, sql, risks, note in analysed
    ]


def _counted(risk: Risk, counts: dict[RowCount, int | None]) -> Risk:
    return replace(risk, affected_rows=counts.get(risk.row_count)) if risk.row_count is not None else risk


def count_rows(settings: Settings, database: Database, queries: list[RowCount]) -> dict[RowCount, int | None]:
    """Run each count whose table (and column) exists; None for the others. Read-only, through the engine."""
    targets = sorted({(query.relation, query.column) for query in queries}, key=str)
    checks, parameters = [], []
    for relation, column in targets:
        parameters.append(relation.sql)
        if column is None:
            checks.append(f"to_regclass(${len(parameters)}) IS NOT NULL")
        else:
            parameters.append(column)
            checks.append(
                f"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(${len(parameters) - 1}) "
                f"AND attname = ${len(parameters)} AND attnum > 0 AND NOT attisdropped)"
            )
    select = ", ".join(f"{check} AS e{index}" for index, check in enumerate(checks))
    (row,) = engine_sql.query(settings, database, f"SELECT {select}", *parameters)
    present = {target for index, target in enumerate(targets) if row[f"e{index}"]}
    runnable = list(dict.fromkeys(query for query in queries if (query.relation, query.column) in present))
    counts: dict[RowCount, int | None] = dict.fromkeys(queries)
    if not runnable:
        return counts
    try:
        counts.update(_run_counts(settings, database, runnable))
    except ToolchainError:
        # One count failed (an expression of the migration that does not run yet): count the others one by one.
        for query in runnable:
            try:
                counts.update(_run_counts(settings, database, [query]))
            except ToolchainError:
                counts[query] = None
    return counts


def _run_counts(settings: Settings, database: Database, queries: list[RowCount]) -> dict[RowCount, int]:
    select = ", ".join(f"({query.sql})::bigint AS c{index}" for index, query in enumerate(queries))
    (row,) = engine_sql.query(settings, database, f"SELECT {select}")
    return {query: int(row[f"c{index}"]) for index, query in enumerate(queries)}


def warning_line(review: MigrationReview, warning: Risk) -> str:
    """One warning as `file:line: rule (severity): message — N rows …`."""
    count = f" — {warning.affected_rows:,} {warning.affected}" if warning.affected_rows is not None else ""
    return f"{review.file}:{warning.line}: {warning.rule} ({warning.severity}): {warning.message}{count}"
