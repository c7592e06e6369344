"""Run the Prisma CLI pinned in node_modules against the database of the current environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from acams_db.database import Database
from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.settings import Settings, redact

# Tells engine/project.mjs that DATABASE_URL is already resolved.
RESOLVED_MARKER = "ACAMS_DATABASE_RESOLVED"


@dataclass(frozen=True)
class PrismaResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


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


def prisma_environment(settings: Settings, database: Database | None) -> dict[str, str]:
    """The environment of a Prisma CLI process: ours on top of the caller's."""
    environment = dict(os.environ)
    # The generator `prisma-client-py` is a console script of this Python environment.
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["PRISMA_HIDE_UPDATE_MESSAGE"] = "1"
    environment["CHECKPOINT_DISABLE"] = "1"
    if database is not None:
        environment["DATABASE_URL"] = database.url
        environment[RESOLVED_MARKER] = "1"
        if database.shadow_url:
            environment["SHADOW_DATABASE_URL"] = database.shadow_url
        else:
            environment.pop("SHADOW_DATABASE_URL", None)
    return environment


def run_engine_script(
    settings: Settings, script: str, arguments: list[str], *, database: Database, stdin: str | None = None
) -> str:
    """Run one of the project's Node scripts in engine/ against `database`; return its stdout.

    A non-zero exit raises ToolchainError with the script's message (passwords redacted).
    """
    completed = subprocess.run(
        [node_executable(), str(settings.project_root / "engine" / script), *arguments],
        cwd=settings.project_root,
        env=prisma_environment(settings, database),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise ToolchainError(redact(completed.stderr.strip()) or f"engine/{script} failed")
    return completed.stdout


def run_prisma(
    settings: Settings,
    arguments: list[str],
    *,
    database: Database | None,
    check: bool = True,
) -> PrismaResult:
    """Run `prisma ARGUMENTS` in the project root and return its output (passwords redacted).

    With `check`, a non-zero exit raises ToolchainError carrying Prisma's message.
    """
    command = [node_executable(), str(cli_entrypoint(settings.project_root)), *arguments]
    completed = subprocess.run(
        command,
        cwd=settings.project_root,
        env=prisma_environment(settings, database),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    result = PrismaResult(completed.returncode, redact(completed.stdout), redact(completed.stderr))
    if check and result.returncode != 0:
        raise ToolchainError(f"prisma {' '.join(arguments[:2])} failed:\n{_essential(result.output)}")
    return result


_NOISE = (
    "Loaded Prisma config from",
    "Prisma config detected, skipping environment variable loading",
    "Prisma schema loaded from",
    'Datasource "db": PostgreSQL database using driver adapter',
    "WARNING: Your schema specifies the following datasource properties",
    "- url",
    "The values from your schema will NOT be used!",
    "We recommend you to remove those properties from your schema",
)


def _essential(output: str) -> str:
    """Prisma's output without its start-up chatter (the adapter-versus-url warning and the like)."""
    lines = [line for line in output.splitlines() if not line.strip().startswith(_NOISE)]
    return "\n".join(lines).strip()
