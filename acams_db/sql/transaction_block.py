"""What PostgreSQL refuses inside a transaction block, which a migration of several statements is.

Some statements refuse to run there ("cannot run inside a transaction block"), and a value added to an
enum cannot be used before the transaction that added it commits ("unsafe use of new value").
"""

from __future__ import annotations

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


def added_enum_value(node: ast.Node) -> str | None:
    """The value an ALTER TYPE … ADD VALUE adds, or None."""
    if isinstance(node, ast.AlterEnumStmt) and node.newVal is not None and node.oldVal is None:
        return node.newVal
    return None


def refused_in_transaction(node: ast.Node) -> str | None:
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


def string_constants(node: ast.Node) -> set[str]:
    found = _StringConstants()
    found(node)
    return found.values


class _StringConstants(visitors.Visitor):
    def __init__(self) -> None:
        self.values: set[str] = set()

    def visit_A_Const(self, ancestors: Any, node: ast.A_Const) -> None:
        if isinstance(node.val, ast.String) and node.val.sval is not None:
            self.values.add(node.val.sval)
