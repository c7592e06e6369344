"""Fixtures of the conformance suite: one suite, run with a generated client of each interface.

Both clients are generated once per session from tests/conformance/schema.prisma
(into tests/.generated/conformance/prisma_asyncio and prisma_sync, imported under
those names) and talk to the same pushed database. Tests are plain functions:
the asyncio client is driven through `Blocking`, which runs each coroutine to
its end, so one test body checks both interfaces.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import pytest

from acams_db.operations.generate import bake_project_config, change_query_builder, use_loopback_http
from tests.bridge.conftest import prisma
from tests.support import REPOSITORY, PostgresServer

SCHEMA = Path(__file__).with_name("schema.prisma")
GENERATED = REPOSITORY / "tests" / ".generated" / "conformance"
INTERFACES = ("asyncio", "sync")
TABLES = ("Sample", "User", "Profile", "Post", "Tag", "Comment", "Team", "Membership", "_PostToTag")
EMPTY_TABLES = "TRUNCATE " + ", ".join('"' + table + '"' for table in TABLES) + " RESTART IDENTITY CASCADE"
# A check constraint, which Prisma's schema language cannot declare (added as a migration would).
AGE_CHECK = 'ALTER TABLE "User" ADD CONSTRAINT "User_age_not_negative" CHECK (age >= 0)'


@dataclass(frozen=True)
class Conformance:
    """One interface's generated package and a client connected to the conformance database."""

    interface: str
    package: ModuleType
    db: Any

    @property
    def errors(self) -> Any:
        return self.package.errors

    @property
    def fields(self) -> Any:
        return self.package.fields


class Blocking:
    """The asyncio client's API as blocking calls: awaitables are run to their end on `loop`.

    The client's own objects (actions, batches, transaction clients) are wrapped in turn, its async context
    managers become plain ones; results (models, numbers, lists) are returned as they are.
    """

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop, package: str) -> None:
        self._target = target
        self._loop = loop
        self._package = package

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type):
            return lambda *arguments, **keywords: self._wrap(value(*arguments, **keywords))
        return self._wrap(value)

    def _wrap(self, value: Any, *, entered: bool = False) -> Any:
        if inspect.isawaitable(value):
            return self._wrap(self._loop.run_until_complete(value), entered=entered)
        if hasattr(value, "__aenter__") and not entered:
            return _BlockingContext(self, value)
        if type(value).__module__.startswith(self._package) and not isinstance(value, pydantic.BaseModel):
            return Blocking(value, self._loop, self._package)
        return value


class _BlockingContext:
    def __init__(self, owner: Blocking, manager: Any) -> None:
        self._owner = owner
        self._manager = manager

    def __getattr__(self, name: str) -> Any:
        return getattr(Blocking(self._manager, self._owner._loop, self._owner._package), name)

    def __enter__(self) -> Any:
        return self._owner._wrap(self._manager.__aenter__(), entered=True)

    def __exit__(self, *exception: Any) -> Any:
        return self._owner._loop.run_until_complete(self._manager.__aexit__(*exception))


@pytest.fixture(scope="session")
def conformance_database(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    prisma("db", "push", "--skip-generate", schema=SCHEMA, database_url=url)
    postgres.psql(AGE_CHECK, url=url)
    yield url
    postgres.drop_database(url)


@pytest.fixture(scope="session")
def conformance_packages() -> dict[str, ModuleType]:
    """The two generated packages, by interface (one `prisma generate`, about 10 s)."""
    prisma("generate", schema=SCHEMA)
    if str(GENERATED) not in sys.path:
        sys.path.insert(0, str(GENERATED))
    packages = {}
    for interface in INTERFACES:
        bake_project_config(GENERATED / f"prisma_{interface}", REPOSITORY / "pyproject.toml")
        use_loopback_http(GENERATED / f"prisma_{interface}")
        change_query_builder(GENERATED / f"prisma_{interface}")
        packages[interface] = importlib.import_module(f"prisma_{interface}")
    return packages


@pytest.fixture(scope="session", params=INTERFACES)
def conformance(
    request: pytest.FixtureRequest, conformance_packages: dict[str, ModuleType], conformance_database: str
) -> Iterator[Conformance]:
    interface = request.param
    package = conformance_packages[interface]
    client = package.Prisma(datasource={"url": conformance_database})
    loop = asyncio.new_event_loop() if interface == "asyncio" else None
    db = Blocking(client, loop, package.__name__) if loop else client
    db.connect()
    yield Conformance(interface, package, db)
    db.disconnect()
    if loop:
        loop.close()


@pytest.fixture
def db(conformance: Conformance) -> Any:
    """The connected client of the test's interface, its tables emptied."""
    conformance.db.execute_raw(
        f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in TABLES)} RESTART IDENTITY CASCADE"
    )
    return conformance.db
