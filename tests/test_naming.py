"""The migration naming convention, and the CLI refusing bad names before touching anything."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from acams_db.errors import ToolchainError
from acams_db.migrations.naming import MIGRATION_FOLDER, check_descriptive_name, folder_name
from tests.support import Project


def test_folder_name_is_utc_date_time_and_name() -> None:
    """A folder is YYYYMMDD_HHMMSS_name with the UTC time of creation."""
    created = datetime(2024, 1, 2, 14, 0, 0, tzinfo=UTC)
    assert folder_name("add_magic_link_tokens", created) == "20240102_140000_add_magic_link_tokens"


def test_folder_name_converts_local_time_to_utc() -> None:
    """A non-UTC time is converted, so folders sort in creation order across time zones."""
    from datetime import timedelta, timezone

    created = datetime(2024, 1, 3, 11, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert folder_name("add_indexes", created) == "20240103_100000_add_indexes"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("add user", "white space"),
        ("AddUser", "upper-case"),
        ("add/user", "path separator"),
        ("..\\x", "path separator"),
        ("a" * 61, "61 characters"),
        ("1_add", "snake_case"),
        ("add__user", "snake_case"),
        ("add-user", "snake_case"),
    ],
)
def test_bad_names_are_rejected_with_the_reason(name: str, problem: str) -> None:
    """Each kind of bad name gets an error that says what is wrong and what is expected."""
    with pytest.raises(ToolchainError, match=re.escape(problem)) as raised:
        check_descriptive_name(name)
    assert "lower snake_case" in str(raised.value)


def test_good_name_passes() -> None:
    assert check_descriptive_name("add_user_timezone") == "add_user_timezone"


def test_committed_migrations_follow_the_convention() -> None:
    """Every folder in prisma_migrations/ is named by the convention."""
    from tests.support import REPOSITORY

    folders = [p.name for p in (REPOSITORY / "prisma_migrations").iterdir() if p.is_dir()]
    assert folders
    assert all(MIGRATION_FOLDER.match(name) for name in folders), folders


@pytest.mark.parametrize("name", ["Add User", "../escape", ""])
def test_cli_rejects_a_bad_name_and_creates_nothing(project: Project, name: str) -> None:
    """`migrate` with a bad name exits 2 and leaves the migrations folder untouched."""
    project.add_to_schema("model Widget {\n  id Int @id\n}\n")
    before = project.migration_folders()
    result = project.run("migrate", name)
    assert result.returncode == 2, result.stderr
    assert "Invalid migration name" in result.stderr
    assert project.migration_folders() == before
