"""The rule for renames that running code, still using the old name, breaks on."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from acams_db.sql.relations import dotted, relation
from acams_db.sql.risks import Hit, Scope, rule
from acams_db.sql.severity import Severity

# Indexes, constraints, sequences… are left out: code does not name them.
_RENAMED_KINDS = {
    ObjectType.OBJECT_TABLE: "table",
    ObjectType.OBJECT_COLUMN: "column",
    ObjectType.OBJECT_TYPE: "type",
    ObjectType.OBJECT_DOMAIN: "domain",
    ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_MATVIEW: "materialized view",
    ObjectType.OBJECT_SCHEMA: "schema",
    ObjectType.OBJECT_FUNCTION: "function",
    ObjectType.OBJECT_ATTRIBUTE: "attribute",
}


@rule("rename", Severity.DANGER, destructive=True)
def rename(node: ast.Node, scope: Scope) -> Iterator[Hit]:
    if isinstance(node, ast.RenameStmt):
        kind = _RENAMED_KINDS.get(node.renameType) if node.renameType is not None else None
        if kind is None:
            return
        if node.relation is not None:
            old = relation(node.relation).display + (f".{node.subname}" if node.subname else "")
        else:
            old = dotted(node.object)
        yield Hit(f"renames {kind} {old} to {node.newname}: running code that uses the old name breaks")
    elif isinstance(node, ast.AlterEnumStmt) and node.oldVal is not None:
        yield Hit(
            f"renames value {node.oldVal!r} of enum {dotted(node.typeName)} to {node.newVal!r}: "
            "running code that uses the old value breaks"
        )
