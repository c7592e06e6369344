"""Read-only SQL through the real Prisma query engine (the command's engine runner), for Prisma's bookkeeping."""

from __future__ import annotations

from typing import Any

from acams_db.errors import ToolchainError
from acams_db.runtime import engine_runner
from acams_db.runtime.database import Database
from acams_db.runtime.interrupts import Interrupted
from acams_db.settings import Settings


def query(settings: Settings, database: Database, sql: str, *parameters: Any) -> list[dict[str, Any]]:
    """Run one SELECT and return its rows as dictionaries. Writes nothing."""
    return queries(settings, database, [(sql, list(parameters))])[0]


def queries(
    settings: Settings, database: Database, statements: list[tuple[str, list[Any]]]
) -> list[list[dict[str, Any]]]:
    """Run SELECTs in one request, in order; the rows of each. Writes nothing."""
    request = {"statements": [{"sql": sql, "parameters": parameters} for sql, parameters in statements]}
    try:
        results = engine_runner.runner(settings, database).request("query", request)
    except Interrupted:
        raise  # a signal, not a failed query: the command says what it stopped
    except ToolchainError as error:
        raise ToolchainError(f"Query on {database.display} failed: {error}") from error
    return [[dict(zip(result["columns"], row, strict=True)) for row in result["rows"]] for result in results]
