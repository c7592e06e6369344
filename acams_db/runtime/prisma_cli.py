"""Run the Prisma CLI pinned in node_modules against the database of the current environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from acams_db import contract
from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.runtime.database import Database
from acams_db.runtime.processes import dies_with_this_process
from acams_db.settings import Settings, redact


def cli_entrypoint(project_root: Path) -> Path:
    entrypoint = project_root / "node_modules" / "prisma" / "build" / "index.js"
    if not entrypoint.is_file():
        raise SetupMissingError(f"The Prisma CLI is not installed ({entrypoint} is missing). Run: make install")
    return entrypoint


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise SetupMissingError("Node.js (20 or newer) is not on PATH. Install it, then run: make install")
    return node


def prisma_environment(
    settings: Settings, database: Database | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a Prisma CLI process: ours on top of the caller's, `extra` on top."""
    environment = {**os.environ, **(extra or {})}
    # The generator `prisma-client-py` is a console script of this Python environment.
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["PRISMA_HIDE_UPDATE_MESSAGE"] = "1"
    environment["CHECKPOINT_DISABLE"] = "1"
    if database is not None:
        environment["DATABASE_URL"] = database.url
        environment[contract.DATABASE_RESOLVED_VARIABLE] = "1"  # engine/lib/project.mjs asks acams-db otherwise
        if database.shadow_url:
            environment["SHADOW_DATABASE_URL"] = database.shadow_url
        else:
            environment.pop("SHADOW_DATABASE_URL", None)
    return environment


def run_engine_script(
    settings: Settings, script: str, arguments: list[str], *, database: Database, stdin: str | None = None
) -> str:
    """Run one of the project's Node scripts in engine/bin/ against `database`; return its stdout.

    A non-zero exit raises ToolchainError with the script's message (passwords redacted).
    """
    returncode, stdout, stderr = _run_node(
        settings, settings.project_root / "engine" / "bin" / script, arguments, database, stdin
    )
    if returncode != 0:
        raise ToolchainError(stderr.strip() or f"engine/bin/{script} failed")
    return stdout


def run_prisma(
    settings: Settings, arguments: list[str], *, database: Database | None, environment: dict[str, str] | None = None
) -> str:
    """Run `prisma ARGUMENTS` in the project root, `environment` added to its own; return its stdout (redacted).

    A non-zero exit raises ToolchainError carrying Prisma's message.
    """
    entrypoint = cli_entrypoint(settings.project_root)
    returncode, stdout, stderr = _run_node(settings, entrypoint, arguments, database, None, environment)
    if returncode != 0:
        raise ToolchainError(f"prisma {' '.join(arguments[:2])} failed:\n{_essential(stdout + stderr)}")
    return stdout


def _run_node(
    settings: Settings,
    script: Path,
    arguments: list[str],
    database: Database | None,
    stdin: str | None,
    extra_environment: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    # Killed with this process, however it ends; on an exception (an interrupt) subprocess.run kills it first.
    completed = subprocess.run(
        [node_executable(), str(script), *arguments],
        cwd=settings.project_root,
        env=prisma_environment(settings, database, extra_environment),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=dies_with_this_process(),
    )
    return completed.returncode, redact(completed.stdout), redact(completed.stderr)


_NOISE = (
    "Loaded Prisma config from",
    "Prisma config detected, skipping environment variable loading",
    "Prisma schema loaded from",
    'Datasource "db": PostgreSQL database',
    "WARNING: Your schema specifies the following datasource properties",
    "- url",
    "The values from your schema will NOT be used!",
    "We recommend you to remove those properties from your schema",
)


# "N migrations found in prisma/migrations": Prisma names its default folder, not migrations.path.
_WRONG_FOLDER_COUNT = "migrations found in prisma/migrations"


def _essential(output: str) -> str:
    """Prisma's output without its start-up chatter (the adapter-versus-url warning and the like)."""
    lines = [
        line
        for line in output.splitlines()
        if line.strip() and not line.strip().startswith(_NOISE) and not line.endswith(_WRONG_FOLDER_COUNT)
    ]
    return "\n".join(lines).strip()
