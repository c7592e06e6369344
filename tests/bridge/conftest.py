"""Fixtures for the bridge: the test schema pushed to a fresh database and its client generated.

The client is generated into tests/.generated/prisma and imported from there,
so it never replaces the project's own generated client.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from acams_db.operations.generate import change_query_builder, name_the_client_to_its_engine, use_loopback_http
from tests.support import REPOSITORY, PostgresServer

SCHEMA = Path(__file__).with_name("schema.prisma")
GENERATED = REPOSITORY / "tests" / ".generated"
TABLES = ('"Author"', '"Profile"', '"Article"', '"Category"', '"_ArticleToCategory"')


def prisma(*arguments: str, schema: Path = SCHEMA, database_url: str | None = None) -> None:
    """Run the project's Prisma CLI on a test schema (`db push`, `generate`)."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if database_url:
        environment.update(DATABASE_URL=database_url, ACAMS_DATABASE_RESOLVED="1")
    completed = subprocess.run(
        ["node", str(REPOSITORY / "node_modules/prisma/build/index.js"), *arguments, "--schema", str(schema)],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="session")
def bridge_database(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    prisma("db", "push", "--skip-generate", database_url=url)
    yield url
    postgres.drop_database(url)


@pytest.fixture(scope="session")
def generated_client() -> Any:
    """The test schema's generated `prisma` package (generated once per session)."""
    prisma("generate")
    use_loopback_http(GENERATED / "prisma")
    change_query_builder(GENERATED / "prisma")
    name_the_client_to_its_engine(GENERATED / "prisma")
    sys.path.insert(0, str(GENERATED))
    for name in [n for n in sys.modules if n == "prisma" or n.startswith("prisma.")]:
        del sys.modules[name]
    import prisma as generated

    assert Path(generated.__file__).is_relative_to(GENERATED)
    return generated


@pytest.fixture(scope="session")
async def db(generated_client: Any, bridge_database: str) -> AsyncIterator[Any]:
    client = generated_client.Prisma(datasource={"url": bridge_database})
    await client.connect()
    yield client
    await client.disconnect()


@pytest.fixture(autouse=True)
async def empty_tables(request: pytest.FixtureRequest) -> None:
    if "db" in request.fixturenames:
        client = request.getfixturevalue("db")
        await client.execute_raw(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
