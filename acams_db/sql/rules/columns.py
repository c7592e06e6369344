"""Rules for column changes that existing rows can make fail."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from acams_db.sql.relations import deparse, dotted, quote_identifier
from acams_db.sql.risks import Hit, RowCount, Scope, count_rows, count_values, rule, table_commands
from acams_db.sql.severity import Severity

SERIAL_TYPES = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}


@rule("type-change", Severity.DANGER, destructive=True, holds_lock=True)
def type_change(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, table, command in table_commands(node):
        if command.subtype == AlterTableType.AT_AlterColumnType and command.name:
            definition = command.def_
            new_type = (
                deparse(definition.typeName)
                if isinstance(definition, ast.ColumnDef) and definition.typeName is not None
                else "another type"
            )
            yield Hit(
                f"changes {table.display}.{command.name} to {new_type}: values that do not convert make the "
                "migration fail or lose precision, and the table is rewritten under an exclusive lock",
                count_values(table, command.name, "values converted"),
                part,
            )


@rule("not-null-without-default", Severity.DANGER, destructive=False)
def not_null_without_default(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, table, command in table_commands(node):
        column = command.def_
        if command.subtype != AlterTableType.AT_AddColumn or not isinstance(column, ast.ColumnDef):
            continue
        if not scope.existing(table):
            continue
        types = {c.contype for c in column.constraints or () if isinstance(c, ast.Constraint)}
        has_default = bool(types & {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED})
        has_default = has_default or type_name(column) in SERIAL_TYPES
        required = ConstrType.CONSTR_NOTNULL in types or ConstrType.CONSTR_PRIMARY in types or column.is_not_null
        if required and not has_default:
            yield Hit(
                f"adds required column {table.display}.{column.colname} without a default: fails if "
                f"{table.display} has any row",
                count_rows(table, "rows (fails if any)"),
                part,
            )


@rule("set-not-null", Severity.DANGER, destructive=False, holds_lock=True)
def set_not_null(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    for part, table, command in table_commands(node):
        column = command.name
        if command.subtype == AlterTableType.AT_SetNotNull and column and scope.existing(table):
            yield Hit(
                f"makes {table.display}.{column} required: fails if a row holds NULL, and scans the table "
                "under an exclusive lock",
                RowCount(
                    table,
                    column,
                    f"SELECT count(*) FROM {table.sql} WHERE {quote_identifier(column)} IS NULL",
                    "rows with NULL",
                ),
                part,
            )


def type_name(column: ast.ColumnDef) -> str:
    """The column's type without its schema (serial, not pg_catalog.serial)."""
    return dotted(column.typeName).split(".")[-1] if column.typeName else ""
