"""The migration rules lint-migrations checks, one registry. A new rule is a `@lint_rule` function listed in RULES:
it reads the History and yields a Problem for each place that breaks it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from acams_db.migrations import manifest, naming
from acams_db.migrations.breaking_note import breaking_note, breaking_notes, is_template
from acams_db.migrations.folder import MIGRATION_FILE, LocalMigration
from acams_db.migrations.lint_subjects import History, Unreadable
from acams_db.sql.parsing import Kind
from acams_db.sql.rules import DYNAMIC_SQL, SQL_SYNTAX
from acams_db.sql.severity import Severity
from acams_db.sql.transaction_block import added_enum_value, refused_in_transaction, string_constants


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the project root
    line: int | None
    message: str


Check = Callable[[History], Iterator[Problem]]


@dataclass(frozen=True)
class LintRule:
    id: str
    severity: Severity  # ERROR fails the lint (and deploy); WARNING does not
    check: Check


def lint_rule(id: str, severity: Severity = Severity.ERROR) -> Callable[[Check], LintRule]:
    def make(check: Check) -> LintRule:
        return LintRule(id, severity, check)

    return make


@lint_rule("manifest")
def manifest_unreadable(history: History) -> Iterator[Problem]:
    error = history.manifest_error
    if error is not None:
        yield Problem(history.relative(manifest.manifest_path(history.migrations_dir)), error.line, error.reason)


@lint_rule("naming")
def naming_convention(history: History) -> Iterator[Problem]:
    for folder in history.folders:
        match = naming.MIGRATION_FOLDER.match(folder.name)
        if match is None:
            yield Problem(
                folder.location,
                None,
                "the folder name does not follow YYYYMMDD_HHMMSS_descriptive_name (descriptive name in lower "
                "snake_case, such as 20240101_120000_init)",
            )
        elif folder.stamp is None:
            yield Problem(folder.location, None, f"{match['date']}_{match['time']} is not a real date and time")
        elif folder.stamp <= history.now and len(match["name"]) > naming.MAX_NAME_LENGTH:
            yield Problem(folder.location, None, f"the descriptive name is longer than {naming.MAX_NAME_LENGTH}")


@lint_rule("future-date")
def future_date(history: History) -> Iterator[Problem]:
    for folder in history.folders:
        if folder.stamp is not None and folder.stamp > history.now:
            yield Problem(
                folder.location,
                None,
                f"dated {folder.stamp:%Y-%m-%d %H:%M:%S} UTC, in the future: migration folders are stamped with "
                "their creation time in UTC",
            )


@lint_rule("no-sql")
def no_sql(history: History) -> Iterator[Problem]:
    for folder in history.folders:
        if not folder.has_sql:
            yield Problem(folder.location, None, f"has no {MIGRATION_FILE}")


@lint_rule("modified")
def modified(history: History) -> Iterator[Problem]:
    """A recorded checksum must match: never edit a migration once applied."""
    recorded = history.recorded.checksums if history.recorded is not None else {}
    for folder in history.with_sql:
        if folder.name not in recorded:
            continue
        checksum = LocalMigration(folder.name, folder.path).checksum
        if recorded[folder.name] != checksum:
            yield Problem(
                folder.sql_file,
                None,
                f"edited after it was recorded: {manifest.MANIFEST_FILE} has sha256 {recorded[folder.name]}, "
                f"the file has sha256 {checksum}. Never edit a migration once applied: restore it and add a new "
                "migration (make migrate, make revert).",
            )


@lint_rule("unrecorded")
def unrecorded(history: History) -> Iterator[Problem]:
    for folder in history.unrecorded:
        yield Problem(
            folder.location,
            None,
            f"not recorded in {manifest.MANIFEST_FILE}: apply it in development (make deploy) to record its "
            "checksum, then commit it with the manifest",
        )


@lint_rule("order")
def order(history: History) -> Iterator[Problem]:
    """Unrecorded migrations must sort after the recorded ones."""
    newest = history.recorded.newest if history.recorded is not None else None
    for folder in history.unrecorded:
        if newest is not None and folder.name < newest:
            yield Problem(
                folder.location,
                None,
                f"sorts before {newest}, which is recorded already: Prisma would apply it out of order where that "
                "one is applied. Create it again so that it gets a current timestamp.",
            )


@lint_rule("deleted")
def deleted(history: History) -> Iterator[Problem]:
    if history.recorded is None:
        return
    present = {folder.name for folder in history.folders}
    for name in sorted(set(history.recorded.checksums) - present):
        yield Problem(
            history.relative(history.recorded.path),
            history.recorded.line_of(name),
            f"{name} is recorded but its folder is missing: never delete a migration; restore it "
            f"(git checkout -- {history.relative(history.migrations_dir)}/{name})",
        )


@lint_rule(SQL_SYNTAX.id)
def sql_syntax(history: History) -> Iterator[Problem]:
    for folder in history.with_sql:
        if isinstance(folder.sql, Unreadable):
            yield Problem(folder.sql_file, folder.sql.line, folder.sql.message)


@lint_rule("mixed-schema-and-data")
def mixed_schema_and_data(history: History) -> Iterator[Problem]:
    for folder, parsed in history.parsed:
        schema_lines, data_lines = parsed.lines_of(Kind.SCHEMA), parsed.lines_of(Kind.DATA)
        if schema_lines and data_lines:
            yield Problem(
                folder.sql_file,
                data_lines[0],
                f"changes the schema (line {schema_lines[0]}) and the data (line {data_lines[0]}) in one "
                "migration: split it into a schema migration (make migrate) and a data migration "
                "(make migrate-data)",
            )


@lint_rule("breaking-note")
def breaking_note_missing(history: History) -> Iterator[Problem]:
    for folder, parsed in history.parsed:
        destructive = [risk for risk in folder.risks if risk.destructive]
        if not destructive or breaking_note(folder.path, parsed) is not None:
            continue
        listed = ", ".join(f"{risk.rule} on line {risk.line}" for risk in destructive)
        templates = [line for line, note in breaking_notes(parsed) if is_template(note)]
        problem = (
            f"its -- breaking: note on line {templates[0]} is still the template"
            if templates
            else "it has no -- breaking: note"
        )
        yield Problem(
            folder.sql_file,
            destructive[0].line,
            f"destructive statements ({listed}) but {problem}: add `-- breaking: <what breaks and why it is "
            "safe>` (or a README.md in the folder)",
        )


@lint_rule("outside-transaction")
def outside_transaction(history: History) -> Iterator[Problem]:
    """A migration of several statements runs as one transaction (see README, Atomic migrations)."""
    for folder, parsed in history.parsed:
        if len(parsed.statements) < 2:
            continue
        for statement in parsed.statements:
            what = refused_in_transaction(statement.node)
            if what:
                yield Problem(
                    folder.sql_file,
                    statement.line,
                    f"{what} cannot run inside a transaction block, and a migration of several statements is one "
                    "transaction: put it alone in a migration of its own",
                )


@lint_rule("new-enum-value")
def new_enum_value(history: History) -> Iterator[Problem]:
    for folder, parsed in history.parsed:
        added: dict[str, int] = {}  # enum value -> line of its ADD VALUE
        for statement in parsed.statements:
            for value in sorted(string_constants(statement.node) & set(added)):
                yield Problem(
                    folder.sql_file,
                    statement.line,
                    f"uses enum value {value!r}, added on line {added[value]} of the same migration: PostgreSQL "
                    "refuses a new enum value before its transaction commits. Move this statement to a later "
                    "migration",
                )
            value_added = added_enum_value(statement.node)
            if value_added is not None:
                added[value_added] = statement.line


@lint_rule(DYNAMIC_SQL.id, Severity.WARNING)
def dynamic_sql(history: History) -> Iterator[Problem]:
    for folder, _ in history.parsed:
        yield from (Problem(folder.sql_file, r.line, r.message) for r in folder.risks if r.rule == DYNAMIC_SQL.id)


# In this order when several rules find something at one place.
RULES: tuple[LintRule, ...] = (
    manifest_unreadable,
    naming_convention,
    future_date,
    no_sql,
    modified,
    unrecorded,
    order,
    deleted,
    sql_syntax,
    mixed_schema_and_data,
    breaking_note_missing,
    outside_transaction,
    new_enum_value,
    dynamic_sql,
)
