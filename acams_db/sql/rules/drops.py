"""Rules for statements that drop what data or running code depends on."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, DropBehavior, ObjectType

from acams_db.sql.relations import Relation, dotted
from acams_db.sql.risks import Hit, Scope, count_rows, count_values, rule, table_commands
from acams_db.sql.severity import Severity

_TABLE_KINDS = {
    ObjectType.OBJECT_TABLE: "table",
    ObjectType.OBJECT_FOREIGN_TABLE: "foreign table",
    ObjectType.OBJECT_MATVIEW: "materialized view",
}
_TYPE_KINDS = (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN)


def _dropped(node: ast.Node) -> Iterator[tuple[int, str, ast.DropStmt]]:
    """(part, qualified name, statement) for each object a DROP names."""
    if isinstance(node, ast.DropStmt):
        for part, target in enumerate(node.objects or ()):
            yield part, dotted(target), node


@rule("drop-table", Severity.DANGER, destructive=True)
def drop_table(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, name, drop in _dropped(node):
        if drop.removeType in _TABLE_KINDS:
            *schema, table = name.split(".")
            dropped = Relation(schema[0] if schema else None, table)
            yield Hit(
                f"drops {_TABLE_KINDS[drop.removeType]} {name} and every row in it",
                count_rows(dropped, "rows deleted"),
                part,
            )


@rule("drop-type", Severity.DANGER, destructive=True)
def drop_type(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, name, drop in _dropped(node):
        if drop.removeType in _TYPE_KINDS:
            yield Hit(f"drops type {name}: columns, functions and code using it break", part=part)


@rule("drop-index", Severity.WARNING, destructive=False)
def drop_index(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, name, drop in _dropped(node):
        if drop.removeType == ObjectType.OBJECT_INDEX:
            lock = "" if drop.concurrent else "; without CONCURRENTLY it locks the table while it drops"
            yield Hit(
                f"drops index {name}: queries using it slow down, and a unique index stops enforcing uniqueness{lock}",
                part=part,
            )


@rule("drop-object", Severity.DANGER, destructive=True)
def drop_object(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    """Any other object (schema, view, function, sequence…)."""
    for part, name, drop in _dropped(node):
        kind = drop.removeType
        if kind in _TABLE_KINDS or kind in _TYPE_KINDS or kind == ObjectType.OBJECT_INDEX:
            continue
        label = kind.name.removeprefix("OBJECT_").lower().replace("_", " ") if kind else "object"
        cascade = " and everything that depends on it" if drop.behavior == DropBehavior.DROP_CASCADE else ""
        yield Hit(f"drops {label} {name}{cascade}", part=part)


@rule("drop-column", Severity.DANGER, destructive=True)
def drop_column(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, table, command in table_commands(node):
        if command.subtype == AlterTableType.AT_DropColumn and command.name:
            yield Hit(
                f"drops column {table.display}.{command.name} and its data; code still reading it breaks",
                count_values(table, command.name, "values lost"),
                part,
            )
