"""Settings of the current environment, loaded in one documented order.

Order (later wins): `.env`, then `.env.<environment>`, then real environment
variables. The environment is `ACAMS_ENV` (development, staging or production;
default development) unless a command is given one explicitly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from acams_db.errors import ToolchainError

ENVIRONMENTS = ("development", "staging", "production")
ENVIRONMENT_VARIABLE = "ACAMS_ENV"
DEFAULT_BACKUP_KEEP = 10
# DATABASE_URL unset, empty or this keyword: the embedded PostgreSQL server.
EMBEDDED_KEYWORD = "embedded"
PROJECT_MARKER = "prisma.config.ts"


@dataclass(frozen=True)
class Settings:
    project_root: Path
    environment: str
    database_url: str | None
    shadow_database_url: str | None
    # How many backups `backups/<environment>/` keeps (BACKUP_KEEP); older ones are deleted.
    backup_keep: int = DEFAULT_BACKUP_KEEP

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def migrations_dir(self) -> Path:
        return self.project_root / "prisma_migrations"

    @property
    def schema_path(self) -> Path:
        return self.project_root / "schema.prisma"


def find_project_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above `start` (default: the working directory) holding prisma.config.ts."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_MARKER).is_file():
            return folder
    packaged = Path(__file__).resolve().parent.parent
    if (packaged / PROJECT_MARKER).is_file():
        return packaged
    raise ToolchainError(f"No {PROJECT_MARKER} found in {here} or above: run this from the project folder.")


def load_settings(environment: str | None = None, project_root: Path | None = None) -> Settings:
    """Read the settings of `environment` (default: ACAMS_ENV, else development). Reads files only."""
    root = project_root or find_project_root()
    base = _read_env_file(root / ".env")
    chosen = environment or os.environ.get(ENVIRONMENT_VARIABLE) or base.get(ENVIRONMENT_VARIABLE) or "development"
    if chosen not in ENVIRONMENTS:
        raise ToolchainError(f"Unknown environment {chosen!r}: expected one of {', '.join(ENVIRONMENTS)}.")
    values = {**_environment_files(root, chosen), **os.environ}
    shadow_url = (values.get("SHADOW_DATABASE_URL") or "").strip()
    return Settings(
        project_root=root,
        environment=chosen,
        database_url=_database_url(values),
        shadow_database_url=_checked_url(shadow_url, "SHADOW_DATABASE_URL") if shadow_url else None,
        backup_keep=_positive_int(values.get("BACKUP_KEEP"), "BACKUP_KEEP", DEFAULT_BACKUP_KEEP),
    )


def database_url_in_files(project_root: Path, environment: str) -> str | None:
    """The DATABASE_URL that `.env` and `.env.<environment>` give `environment`, ignoring real variables.

    Real environment variables apply to whichever environment a command picks; the
    files are what is *configured* for one environment in particular.
    """
    return _database_url(_environment_files(project_root, environment))


def _environment_files(root: Path, environment: str) -> dict[str, str]:
    return {**_read_env_file(root / ".env"), **_read_env_file(root / f".env.{environment}")}


def _database_url(values: dict[str, str]) -> str | None:
    url = (values.get("DATABASE_URL") or "").strip()
    return None if url in ("", EMBEDDED_KEYWORD) else _checked_url(url, "DATABASE_URL")


def _positive_int(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ToolchainError(f"{name} must be a whole number of at least 1; got {value!r}.")
    return int(value)


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _checked_url(url: str, name: str) -> str:
    if not url.startswith(("postgresql://", "postgres://")):
        raise ToolchainError(
            f"{name} must be a PostgreSQL URL (postgresql://...) or {EMBEDDED_KEYWORD!r}; got {redact(url)!r}."
        )
    return url


_PASSWORD_IN_URL = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>[^@/?#\s]*)@", re.IGNORECASE)
_PASSWORD_PARAMETER = re.compile(r"(?P<prefix>[?&]password=)[^&\s]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace every password in database URLs inside `text` by `***`."""
    text = _PASSWORD_IN_URL.sub(lambda m: f"{m['prefix']}***@" if m["password"] else m[0], text)
    return _PASSWORD_PARAMETER.sub(r"\g<prefix>***", text)
