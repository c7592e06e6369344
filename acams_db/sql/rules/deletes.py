"""Rules for statements that delete rows."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from acams_db.sql.relations import deparse, quote_identifier, relation
from acams_db.sql.risks import Hit, RowCount, Scope, count_rows, rule
from acams_db.sql.severity import Severity


@rule("delete-all-rows", Severity.DANGER, destructive=True)
def delete_all_rows(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    if isinstance(node, ast.TruncateStmt):
        emptied = [(relation(range_var), "TRUNCATE") for range_var in node.relations or ()]
    elif isinstance(node, ast.DeleteStmt) and node.whereClause is None:
        emptied = [(relation(node.relation), "DELETE without WHERE")]
    else:
        return
    for part, (table, how) in enumerate(emptied):
        yield Hit(f"{how} removes every row of {table.display}", count_rows(table, "rows deleted"), part)


@rule("delete-rows", Severity.WARNING, destructive=False)
def delete_rows(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.DeleteStmt) or node.whereClause is None:
        return
    table = relation(node.relation)
    count = None
    # Counted only when the WHERE stands alone (no USING or WITH for it to refer to).
    if not node.usingClause and node.withClause is None:
        alias = node.relation.alias if node.relation is not None else None
        alias_sql = f" AS {quote_identifier(alias.aliasname)}" if alias is not None and alias.aliasname else ""
        count = RowCount(
            table,
            None,
            f"SELECT count(*) FROM {table.sql}{alias_sql} WHERE {deparse(node.whereClause)}",
            "rows deleted",
        )
    yield Hit(f"deletes rows of {table.display}", count)
