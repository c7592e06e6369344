"""What a risk rule is and what it reports: the kit every rule in `acams_db.sql.rules` is written with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import ObjectType

from acams_db.sql.relations import Relation, quote_identifier, relation
from acams_db.sql.severity import Severity


@dataclass(frozen=True)
class RowCount:
    """A read-only query counting the rows a statement affects, and what that number means."""

    relation: Relation
    column: str | None  # must exist for `sql` to run
    sql: str
    meaning: str


def count_rows(table: Relation, meaning: str = "rows in the table") -> RowCount:
    return RowCount(table, None, f"SELECT count(*) FROM {table.sql}", meaning)


def count_values(table: Relation, column: str, meaning: str) -> RowCount:
    return RowCount(table, column, f"SELECT count({quote_identifier(column)}) FROM {table.sql}", meaning)


@dataclass(frozen=True)
class Risk:
    rule: str
    severity: Severity
    line: int
    message: str
    destructive: bool  # loses data or breaks running code: needs a `-- breaking:` note
    row_count: RowCount | None = None
    affected_rows: int | None = None  # None: not counted (no query for this rule, table absent, or no database)

    @property
    def affected(self) -> str | None:
        """What affected_rows counts, e.g. "rows deleted"."""
        return self.row_count.meaning if self.row_count is not None and self.affected_rows is not None else None

    def as_dict(self) -> dict[str, object]:
        """A risk in JSON, the same in review, revert and rollback."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "line": self.line,
            "message": self.message,
            "destructive": self.destructive,
            "affected_rows": self.affected_rows,
            "affected": self.affected,
        }


@dataclass(frozen=True)
class Hit:
    """What a rule found in one statement."""

    message: str
    row_count: RowCount | None = None
    part: int = 0  # which ALTER TABLE command, dropped object…: risks of one statement come in this order


@dataclass
class Scope:
    """What the rules know beyond the statement: tables without rows yet (created earlier in this review)."""

    new_tables: set[str] = field(default_factory=set)

    def existing(self, table: Relation) -> bool:
        return table.name not in self.new_tables


Check = Callable[[ast.Node, Scope], Iterator[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    destructive: bool  # needs a `-- breaking:` note
    holds_lock: bool  # holds a lock for as long as it scans or rewrites a table: suggests a maintenance window
    check: Check | None  # None: found by the parser, not in a statement (dynamic-sql)

    def risk(self, line: int, hit: Hit) -> Risk:
        return Risk(self.id, self.severity, line, hit.message, self.destructive, hit.row_count)


def rule(id: str, severity: Severity, *, destructive: bool, holds_lock: bool = False) -> Callable[[Check], Rule]:
    """Make a check function a rule: `@rule("drop-table", Severity.DANGER, destructive=True)`."""

    def make(check: Check) -> Rule:
        return Rule(id, severity, destructive, holds_lock, check)

    return make


def table_commands(node: ast.Node) -> Iterator[tuple[int, Relation, ast.AlterTableCmd]]:
    """(part, table, command) for each command of an ALTER TABLE."""
    if not isinstance(node, ast.AlterTableStmt) or node.objtype != ObjectType.OBJECT_TABLE:
        return
    table = relation(node.relation)
    for part, command in enumerate(node.cmds or ()):
        if isinstance(command, ast.AlterTableCmd):
            yield part, table, command
