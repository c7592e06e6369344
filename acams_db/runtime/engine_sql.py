"""Read-only SQL through the real Prisma query engine (engine/bin/raw-sql.mjs), for Prisma's bookkeeping tables."""

from __future__ import annotations

import json
from typing import Any

from acams_db.errors import ToolchainError
from acams_db.runtime.database import Database
from acams_db.runtime.prisma_cli import run_engine_script
from acams_db.settings import Settings


def query(settings: Settings, database: Database, sql: str, *parameters: Any) -> list[dict[str, Any]]:
    """Run one SELECT and return its rows as dictionaries. Writes nothing."""
    request = json.dumps({"statements": [{"sql": sql, "parameters": list(parameters)}]})
    try:
        output = run_engine_script(settings, "raw-sql.mjs", [], database=database, stdin=request)
    except ToolchainError as error:
        raise ToolchainError(f"Query on {database.display} failed: {error}") from error
    (result,) = json.loads(output)
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]
