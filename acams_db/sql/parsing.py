"""Read migration SQL with PostgreSQL's own parser (pglast, libpg_query): its statements, with the line each
starts on and what it changes, and its comments.

Keywords inside string literals, comments and function bodies are never mistaken for
statements: everything here works on the parse tree. Reads text only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError, scan

from acams_db.errors import ToolchainError


class Kind(StrEnum):
    """What a statement changes: the schema, the data, or neither (SET, BEGIN, LOCK)."""

    SCHEMA = "schema"
    DATA = "data"


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

    @property
    def problem(self) -> str:
        return f"PostgreSQL cannot parse it: {self.reason}"


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
