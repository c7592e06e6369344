"""The rule for new uniqueness that rows already in the table can break."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from acams_db.sql.relations import Relation, deparse, quote_identifier, relation
from acams_db.sql.risks import Hit, RowCount, Scope, rule, table_commands
from acams_db.sql.severity import Severity


@rule("unique-constraint", Severity.DANGER, destructive=False, holds_lock=True)
def unique_constraint(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    """A unique or primary key constraint, or a unique index, on a table that has rows."""
    if isinstance(node, ast.IndexStmt) and node.unique:
        table = relation(node.relation)
        if scope.existing(table):
            name = node.idxname or "(unnamed)"
            elements = [element for element in node.indexParams or () if isinstance(element, ast.IndexElem)]
            expressions = [_index_expression(element) for element in elements]
            where = deparse(node.whereClause) if node.whereClause is not None else None
            yield _duplicates(table, expressions, where, f"unique index {name}", ", ".join(expressions), 0)
    for part, table, command in table_commands(node):
        constraint = command.def_
        if command.subtype != AlterTableType.AT_AddConstraint or not isinstance(constraint, ast.Constraint):
            continue
        keyed = constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and constraint.keys
        if keyed and scope.existing(table):
            columns = [key.sval for key in constraint.keys or () if isinstance(key, ast.String) and key.sval]
            kind = "primary key" if constraint.contype == ConstrType.CONSTR_PRIMARY else "unique constraint"
            what = f"{kind} {constraint.conname or '(unnamed)'}"
            yield _duplicates(table, [quote_identifier(c) for c in columns], None, what, ", ".join(columns), part)


def _index_expression(element: ast.IndexElem) -> str:
    return quote_identifier(element.name) if element.name else deparse(element.expr) if element.expr else ""


def _duplicates(table: Relation, expressions: list[str], where: str | None, what: str, on: str, part: int) -> Hit:
    conditions = [f"({expression}) IS NOT NULL" for expression in expressions] + ([f"({where})"] if where else [])
    return Hit(
        f"adds {what} on {table.display} ({on}): fails if existing rows hold duplicates",
        RowCount(
            table,
            None,
            f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {table.sql} "
            f"WHERE {' AND '.join(conditions)} GROUP BY {', '.join(expressions)} HAVING count(*) > 1) AS d",
            "rows with duplicate values",
        ),
        part,
    )
