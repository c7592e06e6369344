"""The tables a parsed migration names, creates and reads, as the SQL spells them; and SQL text rebuilt from nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast, visitors
from pglast.enums import ObjectType
from pglast.stream import RawStream

from acams_db.sql.parsing import ParsedSql


@dataclass(frozen=True)
class Relation:
    """A table as the SQL names it: unqualified names resolve through the search path, as in the migration."""

    schema: str | None
    name: str

    @property
    def sql(self) -> str:
        return ".".join(quote_identifier(part) for part in (self.schema, self.name) if part)

    @property
    def display(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def relation(range_var: ast.RangeVar | None) -> Relation:
    assert range_var is not None and range_var.relname is not None
    return Relation(range_var.schemaname, range_var.relname)


def dotted(names: Any) -> str:
    """A qualified name (a tuple of String nodes, or a node holding one) as `schema.name`."""
    parts = names if isinstance(names, tuple) else getattr(names, "names", (names,))
    return ".".join(part.sval or "" for part in parts if isinstance(part, ast.String))


def deparse(node: ast.Node) -> str:
    return RawStream()(node)


def created_relation(node: ast.Node) -> Relation | None:
    """The table a statement creates, if it creates one."""
    if isinstance(node, ast.CreateStmt):
        return relation(node.relation)
    if isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        return relation(node.into.rel)
    if isinstance(node, ast.SelectStmt) and node.intoClause is not None:
        return relation(node.intoClause.rel)
    return None


def created_tables(parsed: ParsedSql) -> set[str]:
    """Names of the tables the SQL creates."""
    names = set()
    for statement in parsed.statements:
        created = created_relation(statement.node)
        if created is not None:
            names.add(created.name)
    return names


def tables_named(parsed: ParsedSql) -> set[str]:
    """The tables the statements name (read, written, altered, created, renamed to or dropped), unqualified."""
    names: set[str] = set()
    finder = _RangeVarNames(names)
    for statement in parsed.statements:
        finder(statement.node)
        node = statement.node
        if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
            names |= {dotted(name).rsplit(".", 1)[-1] for name in node.objects or ()}
        if isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_TABLE and node.newname:
            names.add(node.newname)
    return names


class _RangeVarNames(visitors.Visitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        if node.relname:
            self.names.add(node.relname)
