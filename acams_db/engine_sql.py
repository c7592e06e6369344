"""Read-only SQL through the real Prisma query engine (engine/raw-sql.mjs), for Prisma's bookkeeping tables."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from acams_db.database import Database
from acams_db.errors import ToolchainError
from acams_db.prisma_cli import node_executable
from acams_db.settings import Settings, redact


def query(settings: Settings, database: Database, sql: str, *parameters: Any) -> list[dict[str, Any]]:
    """Run one SELECT and return its rows as dictionaries. Writes nothing."""
    script = settings.project_root / "engine" / "raw-sql.mjs"
    request = json.dumps({"statements": [{"sql": sql, "parameters": list(parameters)}]})
    completed = subprocess.run(
        [node_executable(), str(script)],
        input=request,
        capture_output=True,
        text=True,
        env={"DATABASE_URL": database.url, "PATH": _path()},
        check=False,
    )
    if completed.returncode != 0:
        raise ToolchainError(f"Query on {database.display} failed: {redact(completed.stderr.strip())}")
    (result,) = json.loads(completed.stdout)
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


def _path() -> str:
    import os

    return os.environ.get("PATH", "")
