"""Rules for statements that hold a lock while they scan, rewrite or rebuild a table that has rows."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from acams_db.sql.relations import Relation, dotted, relation
from acams_db.sql.risks import Hit, Scope, count_rows, rule, table_commands
from acams_db.sql.rules.columns import SERIAL_TYPES, type_name
from acams_db.sql.severity import Severity

# Defaults that give every existing row its own value, so adding the column rewrites the table.
_VOLATILE_DEFAULTS = {"gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "random", "clock_timestamp", "nextval"}


@rule("index-without-concurrently", Severity.WARNING, destructive=False, holds_lock=True)
def index_without_concurrently(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        table = relation(node.relation)
        if scope.existing(table):
            yield Hit(
                f"builds index {node.idxname or '(unnamed)'} without CONCURRENTLY: writes to {table.display} wait "
                "until it is built (CREATE INDEX CONCURRENTLY must be the only statement of its migration)",
                count_rows(table),
            )


@rule("long-lock", Severity.WARNING, destructive=False, holds_lock=True)
def long_lock(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    """Rewrites and validations in ALTER TABLE, and the maintenance statements that lock a whole table."""
    for part, table, command in table_commands(node):
        if not scope.existing(table):
            continue
        if command.subtype == AlterTableType.AT_AddColumn and isinstance(command.def_, ast.ColumnDef):
            column = command.def_
            constraints = [c for c in column.constraints or () if isinstance(c, ast.Constraint)]
            if any(_rewrites(c) for c in constraints) or type_name(column) in SERIAL_TYPES:
                yield Hit(
                    f"adds {table.display}.{column.colname} with a value computed per row: the whole table is "
                    "rewritten under an exclusive lock",
                    count_rows(table),
                    part,
                )
        elif command.subtype == AlterTableType.AT_AddConstraint and isinstance(command.def_, ast.Constraint):
            constraint = command.def_
            validated = constraint.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK)
            if validated and constraint.initially_valid:
                kind = "foreign key" if constraint.contype == ConstrType.CONSTR_FOREIGN else "check constraint"
                yield Hit(
                    f"adds {kind} {constraint.conname or '(unnamed)'} to {table.display}, checking every row while "
                    "it holds a lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later migration",
                    count_rows(table),
                    part,
                )
    for part, (locked, what) in enumerate(_locked_tables(node)):
        yield Hit(
            f"{what} {locked.display} under a lock that blocks its readers or writers until the migration ends",
            count_rows(locked),
            part,
        )


def _rewrites(constraint: ast.Constraint) -> bool:
    if constraint.contype in (ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED):
        return True
    default = constraint.raw_expr
    return (
        constraint.contype == ConstrType.CONSTR_DEFAULT
        and isinstance(default, ast.FuncCall)
        and dotted(default.funcname).split(".")[-1] in _VOLATILE_DEFAULTS
    )


def _locked_tables(node: ast.Node) -> Iterator[tuple[Relation, str]]:
    """(table, what happens to it) for VACUUM FULL, CLUSTER, REINDEX, REFRESH and LOCK TABLE."""
    if isinstance(node, ast.VacuumStmt):
        if any(isinstance(o, ast.DefElem) and o.defname == "full" for o in node.options or ()):
            for target in node.rels or ():
                if isinstance(target, ast.VacuumRelation) and target.relation is not None:
                    yield relation(target.relation), "VACUUM FULL rewrites"
    elif isinstance(node, ast.ClusterStmt) and node.relation is not None:
        yield relation(node.relation), "CLUSTER rewrites"
    elif isinstance(node, ast.ReindexStmt) and node.relation is not None:
        if not any(isinstance(o, ast.DefElem) and o.defname == "concurrently" for o in node.params or ()):
            yield relation(node.relation), "REINDEX without CONCURRENTLY rebuilds indexes of"
    elif isinstance(node, ast.RefreshMatViewStmt) and not node.concurrent:
        yield relation(node.relation), "REFRESH without CONCURRENTLY recomputes"
    elif isinstance(node, ast.LockStmt):
        for range_var in node.relations or ():
            yield relation(range_var), "LOCK TABLE locks"
