"""Read migration SQL with PostgreSQL's own parser (pglast, libpg_query) and find what a reviewer must know.

Keywords inside string literals, comments and function bodies are never mistaken for
statements: everything here works on the parse tree. Reads text only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pglast import ast, parse_plpgsql, parse_sql, visitors
from pglast.enums import AlterTableType, ConstrType, DropBehavior, ObjectType
from pglast.parser import ParseError, scan
from pglast.stream import RawStream

from acams_db.errors import ToolchainError


class Kind(StrEnum):
    """What a statement changes: the schema, the data, or neither (SET, BEGIN, LOCK)."""

    SCHEMA = "schema"
    DATA = "data"


class Severity(StrEnum):
    DANGER = "danger"  # loses data, breaks running code, or can make the migration fail
    WARNING = "warning"  # holds long locks or cannot be checked


@dataclass(frozen=True)
class Statement:
    """One statement that runs, with the line it starts on (a DO block's statements carry the DO's line)."""

    node: ast.Node
    line: int
    kinds: frozenset[Kind]


@dataclass(frozen=True)
class Comment:
    line: int
    text: str


@dataclass(frozen=True)
class ParsedSql:
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...]
    # Lines running SQL that only exists at run time (EXECUTE, DO in another language): not analysable.
    opaque_lines: tuple[int, ...]

    def lines_of(self, kind: Kind) -> list[int]:
        return [statement.line for statement in self.statements if kind in statement.kinds]


class SqlSyntaxError(ToolchainError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


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


@dataclass(frozen=True)
class RowCount:
    """A read-only query counting the rows a statement affects, and what that number means."""

    relation: Relation
    column: str | None  # must exist for `sql` to run
    sql: str
    meaning: str


@dataclass(frozen=True)
class Risk:
    rule: str
    severity: Severity
    line: int
    message: str
    destructive: bool  # needs a `-- breaking:` note
    row_count: RowCount | None = None


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse(sql: str) -> ParsedSql:
    """Parse a migration; raise SqlSyntaxError with the line of the first syntax error."""
    try:
        raw_statements = parse_sql(sql)
        tokens = scan(sql)
    except ParseError as error:
        location = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
        raise SqlSyntaxError(str(error.args[0]), line_at(sql, location)) from error
    comments = tuple(
        Comment(line_at(sql, token.start), sql[token.start : token.end + 1])
        for token in tokens
        if token.name in ("SQL_COMMENT", "C_COMMENT")
    )
    statements: list[Statement] = []
    opaque: list[int] = []
    for raw in raw_statements:
        if raw.stmt is None:
            continue
        line = line_at(sql, raw.stmt_location or 0)
        if isinstance(raw.stmt, ast.DoStmt):
            _expand_do_block(raw.stmt, line, statements, opaque)
        else:
            statements.append(Statement(raw.stmt, line, _kinds(raw.stmt)))
    return ParsedSql(tuple(statements), comments, tuple(opaque))


_NEUTRAL = (ast.TransactionStmt, ast.VariableSetStmt, ast.VariableShowStmt, ast.LockStmt)
_DATA = (
    ast.InsertStmt,
    ast.UpdateStmt,
    ast.DeleteStmt,
    ast.MergeStmt,
    ast.CopyStmt,
    ast.TruncateStmt,
    ast.CallStmt,
    ast.SelectStmt,  # may call functions that write (setval, …); a schema migration has no reason to SELECT
)


def _kinds(node: ast.Node) -> frozenset[Kind]:
    if isinstance(node, _NEUTRAL):
        return frozenset()
    if isinstance(node, ast.SelectStmt) and node.intoClause is not None:
        return frozenset({Kind.SCHEMA, Kind.DATA})  # SELECT … INTO creates a table and fills it
    if isinstance(node, ast.CreateTableAsStmt):
        filled = node.into is None or not node.into.skipData
        return frozenset({Kind.SCHEMA, Kind.DATA} if filled else {Kind.SCHEMA})
    if isinstance(node, _DATA):
        return frozenset({Kind.DATA})
    return frozenset({Kind.SCHEMA})


def _expand_do_block(node: ast.DoStmt, line: int, statements: list[Statement], opaque: list[int]) -> None:
    """Add the statements a PL/pgSQL DO block runs (parsed by PL/pgSQL's own parser)."""
    options = {
        option.defname: option.arg.sval or ""
        for option in node.args or ()
        if isinstance(option, ast.DefElem) and isinstance(option.arg, ast.String)
    }
    if options.get("language", "plpgsql").lower() != "plpgsql":
        opaque.append(line)
        return
    body = options.get("as", "")
    delimiter = "$acams_do$"
    if delimiter in body:
        opaque.append(line)
        return
    try:
        tree = parse_plpgsql(
            f"CREATE FUNCTION pg_temp.do_block() RETURNS void LANGUAGE plpgsql AS {delimiter}{body}{delimiter}"
        )
    except ParseError as error:
        raise SqlSyntaxError(f"in the DO block: {error.args[0]}", line) from error
    for query, dynamic in _plpgsql_statements(tree):
        if dynamic:
            opaque.append(line)
            continue
        try:
            inner = parse_sql(query)
        except ParseError as error:
            raise SqlSyntaxError(f"in the DO block: {error.args[0]}", line) from error
        statements += [Statement(raw.stmt, line, _kinds(raw.stmt)) for raw in inner if raw.stmt is not None]


# PLpgSQL_expr.parseMode 0 (RAW_PARSE_DEFAULT) holds a whole statement; the other modes hold expressions.
_WHOLE_STATEMENT = 0


def _plpgsql_statements(tree: Any) -> Iterator[tuple[str, bool]]:
    """(query, is_dynamic) for every SQL statement in a PL/pgSQL parse tree (JSON from libpg_query)."""
    if isinstance(tree, list):
        for item in tree:
            yield from _plpgsql_statements(item)
    elif isinstance(tree, dict):
        for key, value in tree.items():
            if key == "PLpgSQL_stmt_dynexecute":
                yield "", True
            elif key == "PLpgSQL_expr" and value.get("parseMode", _WHOLE_STATEMENT) == _WHOLE_STATEMENT:
                yield value["query"], False
            else:
                yield from _plpgsql_statements(value)


def created_tables(parsed: ParsedSql) -> set[str]:
    """Names of the tables the SQL creates."""
    names = set()
    for statement in parsed.statements:
        relation = _created_relation(statement.node)
        if relation is not None:
            names.add(relation.name)
    return names


def _created_relation(node: ast.Node) -> Relation | None:
    if isinstance(node, ast.CreateStmt):
        return _relation(node.relation)
    if isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        return _relation(node.into.rel)
    if isinstance(node, ast.SelectStmt) and node.intoClause is not None:
        return _relation(node.intoClause.rel)
    return None


def find_risks(parsed: ParsedSql, new_tables: set[str] | frozenset[str] = frozenset()) -> list[Risk]:
    """Statements a reviewer must look at, in order. Tables in `new_tables` (created by earlier pending
    migrations) or created earlier in this SQL have no rows yet, so locks and row checks do not apply to them."""
    finder = _RiskFinder(set(new_tables))
    risks = [risk for statement in parsed.statements for risk in finder.risks(statement)]
    risks += [
        Risk(
            "dynamic-sql",
            Severity.WARNING,
            line,
            "runs SQL that exists only at run time (EXECUTE, or a DO block in another language): "
            "it cannot be checked; review it by hand",
            destructive=False,
        )
        for line in parsed.opaque_lines
    ]
    return sorted(risks, key=lambda risk: risk.line)


def _relation(range_var: ast.RangeVar | None) -> Relation:
    assert range_var is not None and range_var.relname is not None
    return Relation(range_var.schemaname, range_var.relname)


def _dotted(names: Any) -> str:
    parts = names if isinstance(names, tuple) else getattr(names, "names", (names,))
    return ".".join(part.sval or "" for part in parts if isinstance(part, ast.String))


def _deparse(node: ast.Node) -> str:
    return RawStream()(node)


def _index_expression(element: ast.IndexElem) -> str:
    return quote_identifier(element.name) if element.name else _deparse(element.expr) if element.expr else ""


def _count_rows(relation: Relation, meaning: str = "rows in the table") -> RowCount:
    return RowCount(relation, None, f"SELECT count(*) FROM {relation.sql}", meaning)


def _count_values(relation: Relation, column: str, meaning: str) -> RowCount:
    return RowCount(relation, column, f"SELECT count({quote_identifier(column)}) FROM {relation.sql}", meaning)


_DROP_KINDS = {
    ObjectType.OBJECT_TABLE: "table",
    ObjectType.OBJECT_FOREIGN_TABLE: "foreign table",
    ObjectType.OBJECT_MATVIEW: "materialized view",
}
_RENAME_KINDS = {
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
# Defaults that give every existing row its own value, so adding the column rewrites the table.
_VOLATILE_DEFAULTS = {"gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "random", "clock_timestamp", "nextval"}
_SERIAL_TYPES = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}


class _RiskFinder:
    def __init__(self, new_tables: set[str]) -> None:
        self.new_tables = new_tables
        self._handlers: dict[type[ast.Node], Callable[[Any, int], Iterator[Risk]]] = {
            ast.DropStmt: self._drop,
            ast.AlterTableStmt: self._alter_table,
            ast.IndexStmt: self._index,
            ast.RenameStmt: self._rename,
            ast.AlterEnumStmt: self._alter_enum,
            ast.TruncateStmt: self._truncate,
            ast.DeleteStmt: self._delete,
            ast.VacuumStmt: self._vacuum,
            ast.ClusterStmt: self._cluster,
            ast.ReindexStmt: self._reindex,
            ast.RefreshMatViewStmt: self._refresh,
            ast.LockStmt: self._lock,
        }

    def risks(self, statement: Statement) -> list[Risk]:
        handler = self._handlers.get(type(statement.node))
        found = list(handler(statement.node, statement.line)) if handler else []
        created = _created_relation(statement.node)
        if created is not None:
            self.new_tables.add(created.name)
        return found

    def _existing(self, relation: Relation) -> bool:
        return relation.name not in self.new_tables

    def _drop(self, node: ast.DropStmt, line: int) -> Iterator[Risk]:
        kind = node.removeType
        for target in node.objects or ():
            name = _dotted(target)
            if kind in _DROP_KINDS:
                *schema, table = name.split(".")
                relation = Relation(schema[0] if schema else None, table)
                yield Risk(
                    "drop-table",
                    Severity.DANGER,
                    line,
                    f"drops {_DROP_KINDS[kind]} {name} and every row in it",
                    destructive=True,
                    row_count=_count_rows(relation, "rows deleted"),
                )
            elif kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
                yield Risk(
                    "drop-type",
                    Severity.DANGER,
                    line,
                    f"drops type {name}: columns, functions and code using it break",
                    destructive=True,
                )
            elif kind == ObjectType.OBJECT_INDEX:
                lock = "" if node.concurrent else "; without CONCURRENTLY it locks the table while it drops"
                yield Risk(
                    "drop-index",
                    Severity.WARNING,
                    line,
                    f"drops index {name}: queries using it slow down, and a unique index stops enforcing "
                    f"uniqueness{lock}",
                    destructive=False,
                )
            else:
                label = kind.name.removeprefix("OBJECT_").lower().replace("_", " ") if kind else "object"
                yield Risk(
                    "drop-object",
                    Severity.DANGER,
                    line,
                    f"drops {label} {name}"
                    + (" and everything that depends on it" if node.behavior == DropBehavior.DROP_CASCADE else ""),
                    destructive=True,
                )

    def _alter_table(self, node: ast.AlterTableStmt, line: int) -> Iterator[Risk]:
        if node.objtype != ObjectType.OBJECT_TABLE:
            return
        relation = _relation(node.relation)
        existing = self._existing(relation)
        for command in node.cmds or ():
            if not isinstance(command, ast.AlterTableCmd):
                continue
            subtype, column = command.subtype, command.name
            if subtype == AlterTableType.AT_DropColumn and column:
                yield Risk(
                    "drop-column",
                    Severity.DANGER,
                    line,
                    f"drops column {relation.display}.{column} and its data; code still reading it breaks",
                    destructive=True,
                    row_count=_count_values(relation, column, "values lost"),
                )
            elif subtype == AlterTableType.AT_AlterColumnType and column:
                definition = command.def_
                new_type = (
                    _deparse(definition.typeName)
                    if isinstance(definition, ast.ColumnDef) and definition.typeName is not None
                    else "another type"
                )
                yield Risk(
                    "type-change",
                    Severity.DANGER,
                    line,
                    f"changes {relation.display}.{column} to {new_type}: values that do not convert make the "
                    "migration fail or lose precision, and the table is rewritten under an exclusive lock",
                    destructive=True,
                    row_count=_count_values(relation, column, "values converted"),
                )
            elif not existing:
                continue
            elif subtype == AlterTableType.AT_AddColumn and isinstance(command.def_, ast.ColumnDef):
                yield from self._add_column(relation, command.def_, line)
            elif subtype == AlterTableType.AT_SetNotNull and column:
                yield Risk(
                    "set-not-null",
                    Severity.DANGER,
                    line,
                    f"makes {relation.display}.{column} required: fails if a row holds NULL, and scans the table "
                    "under an exclusive lock",
                    destructive=False,
                    row_count=RowCount(
                        relation,
                        column,
                        f"SELECT count(*) FROM {relation.sql} WHERE {quote_identifier(column)} IS NULL",
                        "rows with NULL",
                    ),
                )
            elif subtype == AlterTableType.AT_AddConstraint and isinstance(command.def_, ast.Constraint):
                yield from self._add_constraint(relation, command.def_, line)

    def _add_column(self, relation: Relation, column: ast.ColumnDef, line: int) -> Iterator[Risk]:
        constraints = [c for c in column.constraints or () if isinstance(c, ast.Constraint)]
        types = {c.contype for c in constraints}
        type_name = _dotted(column.typeName).split(".")[-1] if column.typeName else ""
        has_default = bool(types & {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED})
        has_default = has_default or type_name in _SERIAL_TYPES
        required = ConstrType.CONSTR_NOTNULL in types or ConstrType.CONSTR_PRIMARY in types or column.is_not_null
        name = f"{relation.display}.{column.colname}"
        if required and not has_default:
            yield Risk(
                "not-null-without-default",
                Severity.DANGER,
                line,
                f"adds required column {name} without a default: fails if {relation.display} has any row",
                destructive=False,
                row_count=_count_rows(relation, "rows (fails if any)"),
            )
        if any(self._rewrites(c) for c in constraints) or type_name in _SERIAL_TYPES:
            yield Risk(
                "long-lock",
                Severity.WARNING,
                line,
                f"adds {name} with a value computed per row: the whole table is rewritten under an exclusive lock",
                destructive=False,
                row_count=_count_rows(relation),
            )

    @staticmethod
    def _rewrites(constraint: ast.Constraint) -> bool:
        if constraint.contype in (ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED):
            return True
        default = constraint.raw_expr
        return (
            constraint.contype == ConstrType.CONSTR_DEFAULT
            and isinstance(default, ast.FuncCall)
            and _dotted(default.funcname).split(".")[-1] in _VOLATILE_DEFAULTS
        )

    def _add_constraint(self, relation: Relation, constraint: ast.Constraint, line: int) -> Iterator[Risk]:
        name = constraint.conname or "(unnamed)"
        if constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and constraint.keys:
            columns = [key.sval for key in constraint.keys if isinstance(key, ast.String) and key.sval]
            kind = "primary key" if constraint.contype == ConstrType.CONSTR_PRIMARY else "unique constraint"
            yield self._unique(
                relation, [quote_identifier(c) for c in columns], None, line, f"{kind} {name}", ", ".join(columns)
            )
        elif constraint.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK) and constraint.initially_valid:
            kind = "foreign key" if constraint.contype == ConstrType.CONSTR_FOREIGN else "check constraint"
            yield Risk(
                "long-lock",
                Severity.WARNING,
                line,
                f"adds {kind} {name} to {relation.display}, checking every row while it holds a lock: add it "
                "NOT VALID, then VALIDATE CONSTRAINT in a later migration",
                destructive=False,
                row_count=_count_rows(relation),
            )

    def _unique(
        self, relation: Relation, expressions: list[str], where: str | None, line: int, what: str, on: str
    ) -> Risk:
        conditions = [f"({expression}) IS NOT NULL" for expression in expressions] + ([f"({where})"] if where else [])
        return Risk(
            "unique-constraint",
            Severity.DANGER,
            line,
            f"adds {what} on {relation.display} ({on}): fails if existing rows hold duplicates",
            destructive=False,
            row_count=RowCount(
                relation,
                None,
                f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {relation.sql} "
                f"WHERE {' AND '.join(conditions)} GROUP BY {', '.join(expressions)} HAVING count(*) > 1) AS d",
                "rows with duplicate values",
            ),
        )

    def _index(self, node: ast.IndexStmt, line: int) -> Iterator[Risk]:
        relation = _relation(node.relation)
        if not self._existing(relation):
            return
        name = node.idxname or "(unnamed)"
        elements = [element for element in node.indexParams or () if isinstance(element, ast.IndexElem)]
        if node.unique:
            expressions = [_index_expression(element) for element in elements]
            where = _deparse(node.whereClause) if node.whereClause is not None else None
            yield self._unique(relation, expressions, where, line, f"unique index {name}", ", ".join(expressions))
        if not node.concurrent:
            yield Risk(
                "index-without-concurrently",
                Severity.WARNING,
                line,
                f"builds index {name} without CONCURRENTLY: writes to {relation.display} wait until it is built "
                "(CREATE INDEX CONCURRENTLY must be the only statement of its migration)",
                destructive=False,
                row_count=_count_rows(relation),
            )

    def _rename(self, node: ast.RenameStmt, line: int) -> Iterator[Risk]:
        kind = _RENAME_KINDS.get(node.renameType) if node.renameType is not None else None
        if kind is None:  # indexes, constraints, sequences…: code does not name them
            return
        if node.relation is not None:
            old = _relation(node.relation).display + (f".{node.subname}" if node.subname else "")
        else:
            old = _dotted(node.object)
        yield Risk(
            "rename",
            Severity.DANGER,
            line,
            f"renames {kind} {old} to {node.newname}: running code that uses the old name breaks",
            destructive=True,
        )

    def _alter_enum(self, node: ast.AlterEnumStmt, line: int) -> Iterator[Risk]:
        if node.oldVal is not None:
            yield Risk(
                "rename",
                Severity.DANGER,
                line,
                f"renames value {node.oldVal!r} of enum {_dotted(node.typeName)} to {node.newVal!r}: "
                "running code that uses the old value breaks",
                destructive=True,
            )

    def _truncate(self, node: ast.TruncateStmt, line: int) -> Iterator[Risk]:
        for range_var in node.relations or ():
            relation = _relation(range_var)
            yield self._delete_all(relation, line, "TRUNCATE")

    def _delete_all(self, relation: Relation, line: int, how: str) -> Risk:
        return Risk(
            "delete-all-rows",
            Severity.DANGER,
            line,
            f"{how} removes every row of {relation.display}",
            destructive=True,
            row_count=_count_rows(relation, "rows deleted"),
        )

    def _delete(self, node: ast.DeleteStmt, line: int) -> Iterator[Risk]:
        relation = _relation(node.relation)
        if node.whereClause is None:
            yield self._delete_all(relation, line, "DELETE without WHERE")
            return
        count = None
        if not node.usingClause and node.withClause is None:
            alias = node.relation.alias if node.relation is not None else None
            alias_sql = f" AS {quote_identifier(alias.aliasname)}" if alias is not None and alias.aliasname else ""
            count = RowCount(
                relation,
                None,
                f"SELECT count(*) FROM {relation.sql}{alias_sql} WHERE {_deparse(node.whereClause)}",
                "rows deleted",
            )
        yield Risk(
            "delete-rows",
            Severity.WARNING,
            line,
            f"deletes rows of {relation.display}",
            destructive=False,
            row_count=count,
        )

    def _vacuum(self, node: ast.VacuumStmt, line: int) -> Iterator[Risk]:
        full = any(isinstance(o, ast.DefElem) and o.defname == "full" for o in node.options or ())
        if full:
            for target in node.rels or ():
                if isinstance(target, ast.VacuumRelation) and target.relation is not None:
                    yield self._long_lock(_relation(target.relation), line, "VACUUM FULL rewrites")

    def _cluster(self, node: ast.ClusterStmt, line: int) -> Iterator[Risk]:
        if node.relation is not None:
            yield self._long_lock(_relation(node.relation), line, "CLUSTER rewrites")

    def _reindex(self, node: ast.ReindexStmt, line: int) -> Iterator[Risk]:
        concurrent = any(isinstance(o, ast.DefElem) and o.defname == "concurrently" for o in node.params or ())
        if node.relation is not None and not concurrent:
            yield self._long_lock(_relation(node.relation), line, "REINDEX without CONCURRENTLY rebuilds indexes of")

    def _refresh(self, node: ast.RefreshMatViewStmt, line: int) -> Iterator[Risk]:
        if not node.concurrent:
            yield self._long_lock(_relation(node.relation), line, "REFRESH without CONCURRENTLY recomputes")

    def _lock(self, node: ast.LockStmt, line: int) -> Iterator[Risk]:
        for range_var in node.relations or ():
            yield self._long_lock(_relation(range_var), line, "LOCK TABLE locks")

    def _long_lock(self, relation: Relation, line: int, what: str) -> Risk:
        return Risk(
            "long-lock",
            Severity.WARNING,
            line,
            f"{what} {relation.display} under a lock that blocks its readers or writers until the migration ends",
            destructive=False,
            row_count=_count_rows(relation),
        )


BREAKING_NOTE = re.compile(r"^(?:--|/\*)\s*breaking:\s*(?P<note>.*?)\s*(?:\*/)?$", re.IGNORECASE | re.DOTALL)


def breaking_notes(parsed: ParsedSql) -> list[tuple[int, str]]:
    """(line, text) of each `-- breaking: …` comment (a real comment, not text inside a string)."""
    matches = ((comment.line, BREAKING_NOTE.match(comment.text)) for comment in parsed.comments)
    return [(line, match["note"]) for line, match in matches if match]


def tables_named(parsed: ParsedSql) -> set[str]:
    """The tables the statements name (read, written, altered, created, renamed to or dropped), unqualified."""
    names: set[str] = set()
    finder = _RangeVarNames(names)
    for statement in parsed.statements:
        finder(statement.node)
        node = statement.node
        if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
            names |= {_dotted(name).rsplit(".", 1)[-1] for name in node.objects or ()}
        if isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_TABLE and node.newname:
            names.add(node.newname)
    return names


class _RangeVarNames(visitors.Visitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        if node.relname:
            self.names.add(node.relname)
