"""Fixtures for tests that start from a deployed history: one deploy per module, copied for each test.

Import both names into a test module to replace the default `project` (an empty database).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import PostgresServer, Project, copy_project


@pytest.fixture(scope="module")
def deployed_template(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the history deployed once, which each test's database copies (saves a deploy per test)."""
    url = postgres.create_database()
    project = copy_project(tmp_path_factory.mktemp("template") / "project", url)
    deployed = project.run("deploy")
    assert deployed.returncode == 0, deployed.stderr
    yield urlsplit(url).path.lstrip("/")
    postgres.drop_database(url)


@pytest.fixture
def project(postgres: PostgresServer, deployed_template: str, tmp_path: Path) -> Iterator[Project]:
    """A project copy whose database has the history applied."""
    url = postgres.create_database(template=deployed_template)
    yield copy_project(tmp_path / "project", url)
    postgres.drop_database(url)
