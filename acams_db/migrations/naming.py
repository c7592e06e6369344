"""The migration naming convention: `YYYYMMDD_HHMMSS_descriptive_name`, in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from acams_db.errors import ToolchainError

MAX_NAME_LENGTH = 60
_DESCRIPTIVE_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MIGRATION_FOLDER = re.compile(r"^(?P<date>\d{8})_(?P<time>\d{6})_(?P<name>[a-z][a-z0-9]*(?:_[a-z0-9]+)*)$")


def check_descriptive_name(name: str) -> str:
    """Return `name` if it is a valid descriptive migration name, else raise with what was expected."""
    problem = None
    if not name.strip():
        problem = "it is empty"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"it is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    elif any(separator in name for separator in "/\\"):
        problem = "it contains a path separator"
    elif any(character.isspace() for character in name):
        problem = "it contains white space"
    elif name != name.lower():
        problem = "it contains upper-case letters"
    elif not _DESCRIPTIVE_NAME.match(name):
        problem = "it is not lower snake_case (letters, digits and single underscores, starting with a letter)"
    if problem:
        raise ToolchainError(
            f"Invalid migration name {name!r}: {problem}. Expected lower snake_case such as add_user_timezone.",
            exit_code=2,
        )
    return name


def folder_name(name: str, created_at: datetime | None = None) -> str:
    """The folder of a new migration called `name`, stamped with `created_at` (default: now) in UTC."""
    moment = (created_at or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%d_%H%M%S}_{check_descriptive_name(name)}"
