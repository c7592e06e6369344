"""Settings of the current environment, loaded in one documented order.

Order (later wins): `.env`, then `.env.<environment>`, then real environment
variables. The environment is `ACAMS_ENV` (development, staging or production;
default development) unless a command is given one explicitly.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from acams_db import contract, database_url
from acams_db.database_url import redact as redact  # the toolchain's redaction, long imported from here
from acams_db.errors import ToolchainError, UsageError

ENVIRONMENT_VARIABLE = contract.ENVIRONMENT_VARIABLE
DEFAULT_BACKUP_KEEP = 10
# DATABASE_URL unset, empty or this keyword: the embedded PostgreSQL server.
EMBEDDED_KEYWORD = contract.EMBEDDED_KEYWORD
# Outside development: how long a migration may wait for a lock, how often it is tried again, how often the
# deploy monitor reports (seconds). Development keeps PostgreSQL's defaults and no monitor unless configured.
DEFAULT_MIGRATION_LOCK_TIMEOUT = "5s"
DEFAULT_MIGRATION_LOCK_RETRIES = 3
DEFAULT_DEPLOY_MONITOR_SECONDS = 5.0
_DURATION = re.compile(r"^(\d+)(ms|s|min|h)?$")
_MILLISECONDS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}
# PostgreSQL's lock_timeout and statement_timeout are whole milliseconds in a 32-bit integer.
_LONGEST_TIMEOUT_MS = 2**31 - 1
_OFF = ("", "0", "off")
PROJECT_MARKER = "prisma.config.ts"

STUDIO_READ_WRITE = contract.STUDIO_READ_WRITE
STUDIO_READ_ONLY = "read-only"
STUDIO_ON_REQUEST = "on request"


@dataclass(frozen=True)
class Environment:
    """One environment and what it allows: the only place where environments are told apart by name."""

    name: str
    # migrate, reset, rollback, seed --prune and the embedded PostgreSQL server; elsewhere they are refused.
    runs_development_commands: bool
    # deploy takes a backup first, and so does restore (its safety backup).
    backs_up_before_deploy: bool
    # deploy records applied migrations' checksums in manifest.json (elsewhere they must be recorded already).
    records_manifest_on_deploy: bool
    # Prisma Studio: STUDIO_READ_WRITE, STUDIO_READ_ONLY, or STUDIO_ON_REQUEST (refused without
    # --allow-production, then read-only).
    studio_access: str
    # Destructive commands need a flag and the database's name typed out; other environments' URLs are kept
    # away from its database, and it from theirs.
    protected: bool
    # preflight wants pending migrations applied on staging before they reach this environment.
    checked_on_staging_first: bool
    # deploy limits each migration's lock wait (MIGRATION_LOCK_TIMEOUT, retries) and runs the monitor by default.
    limits_deploy_locks: bool
    # What deploys reach: preflight checks a deploy target; named for development, it checks production's.
    is_deploy_target: bool


DEVELOPMENT = Environment(
    name="development",
    runs_development_commands=True,
    backs_up_before_deploy=False,
    records_manifest_on_deploy=True,
    studio_access=STUDIO_READ_WRITE,
    protected=False,
    checked_on_staging_first=False,
    limits_deploy_locks=False,
    is_deploy_target=False,
)
STAGING = Environment(
    name="staging",
    runs_development_commands=False,
    backs_up_before_deploy=True,
    records_manifest_on_deploy=False,
    studio_access=STUDIO_READ_ONLY,
    protected=False,
    checked_on_staging_first=False,
    limits_deploy_locks=True,
    is_deploy_target=True,
)
PRODUCTION = Environment(
    name="production",
    runs_development_commands=False,
    backs_up_before_deploy=True,
    records_manifest_on_deploy=False,
    studio_access=STUDIO_ON_REQUEST,
    protected=True,
    checked_on_staging_first=True,
    limits_deploy_locks=True,
    is_deploy_target=True,
)
POLICIES = {environment.name: environment for environment in (DEVELOPMENT, STAGING, PRODUCTION)}
ENVIRONMENTS = tuple(POLICIES)


def policy(name: str) -> Environment:
    """The Environment called `name` (a UsageError naming the choices when there is none)."""
    if name not in POLICIES:
        raise UsageError(f"Unknown environment {name!r}: expected one of {', '.join(ENVIRONMENTS)}.")
    return POLICIES[name]


@dataclass(frozen=True)
class Settings:
    project_root: Path
    environment: str
    database_url: str | None  # canonical (database_url.DatabaseUrl.canonical): every tool reads it alike
    shadow_database_url: str | None
    # How many backups `backups/<environment>/` keeps (BACKUP_KEEP); older ones are deleted.
    backup_keep: int = DEFAULT_BACKUP_KEEP
    # Where DATABASE_URL was set, in the user's words ("DATABASE_URL in .env.staging line 2"); None: embedded.
    database_url_origin: str | None = None
    # PostgreSQL durations ("5s") set for each migration's transaction by deploy; None: no limit.
    migration_lock_timeout: str | None = None
    migration_lock_retries: int = 0
    migration_statement_timeout: str | None = None
    # Seconds between the deploy monitor's reports; None: no monitor.
    deploy_monitor_seconds: float | None = None

    @property
    def policy(self) -> Environment:
        """What this environment allows."""
        return POLICIES[self.environment]

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def migrations_dir(self) -> Path:
        return self.project_root / contract.MIGRATIONS_FOLDER

    @property
    def schema_path(self) -> Path:
        return self.project_root / contract.SCHEMA_FILE


@dataclass(frozen=True)
class ConfiguredUrl:
    """A DATABASE_URL that the project's files give one environment."""

    url: str  # canonical
    origin: str  # "DATABASE_URL in .env.production"


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
    chosen = policy(
        environment or os.environ.get(ENVIRONMENT_VARIABLE) or base.get(ENVIRONMENT_VARIABLE) or DEVELOPMENT.name
    ).name
    files = (root / ".env", root / f".env.{chosen}")
    values = {**_environment_files(root, chosen), **os.environ}
    url = _url_setting(values, "DATABASE_URL", files, real_variables=True)
    shadow = _url_setting(values, "SHADOW_DATABASE_URL", files, real_variables=True)
    return Settings(
        project_root=root,
        environment=chosen,
        database_url=url.url if url else None,
        shadow_database_url=shadow.url if shadow else None,
        backup_keep=_positive_int(values.get("BACKUP_KEEP"), "BACKUP_KEEP", DEFAULT_BACKUP_KEEP),
        database_url_origin=url.origin if url else None,
        **_deploy_limits(values, limited=POLICIES[chosen].limits_deploy_locks),
    )


class _DeployLimits(TypedDict):
    migration_lock_timeout: str | None
    migration_lock_retries: int
    migration_statement_timeout: str | None
    deploy_monitor_seconds: float | None


def _deploy_limits(values: dict[str, str], *, limited: bool) -> _DeployLimits:
    """MIGRATION_LOCK_TIMEOUT, MIGRATION_LOCK_RETRIES, MIGRATION_STATEMENT_TIMEOUT, DEPLOY_MONITOR_SECONDS."""
    monitor = values.get("DEPLOY_MONITOR_SECONDS", str(DEFAULT_DEPLOY_MONITOR_SECONDS) if limited else "")
    try:
        seconds = float(monitor) if monitor.strip() not in _OFF else None
    except ValueError:
        seconds = -1.0
    if seconds is not None and not 0.1 <= seconds <= 3600:
        raise ToolchainError(f"DEPLOY_MONITOR_SECONDS must be seconds between 0.1 and 3600, or off; got {monitor!r}.")
    lock_default = DEFAULT_MIGRATION_LOCK_TIMEOUT if limited else ""
    return {
        "migration_lock_timeout": _duration(values, "MIGRATION_LOCK_TIMEOUT", lock_default),
        "migration_lock_retries": _whole_number(
            values.get("MIGRATION_LOCK_RETRIES"),
            "MIGRATION_LOCK_RETRIES",
            DEFAULT_MIGRATION_LOCK_RETRIES if limited else 0,
        ),
        "migration_statement_timeout": _duration(values, "MIGRATION_STATEMENT_TIMEOUT", ""),
        "deploy_monitor_seconds": seconds,
    }


def _duration(values: dict[str, str], name: str, default: str) -> str | None:
    text = values.get(name, default).strip()
    if text in _OFF:
        return None
    match = _DURATION.match(text)
    if not match:
        raise ToolchainError(f"{name} must be a PostgreSQL duration such as 5s, 500ms or 2min, or off; got {text!r}.")
    if int(match[1]) * _MILLISECONDS[match[2] or "ms"] > _LONGEST_TIMEOUT_MS:
        raise ToolchainError(
            f"{name} must be at most {_LONGEST_TIMEOUT_MS} ms (about 24 days), PostgreSQL's limit; got {text!r}."
        )
    return text


def _whole_number(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit():
        raise ToolchainError(f"{name} must be a whole number; got {value!r}.")
    return int(value)


def configured_database_url(project_root: Path, environment: str) -> ConfiguredUrl | None:
    """The DATABASE_URL that the files give `environment`, ignoring real variables (None: the embedded server).

    Real environment variables apply to whichever environment a command picks; the files are what is
    configured for one environment in particular: `.env.<environment>`, else `.env`. A `.env` that sets
    ACAMS_ENV to a protected environment (production) is that environment's file; any other `.env` holds
    development's settings (staging's too, unless .env.staging has its own), never a protected one's.
    """
    own_file = project_root / f".env.{environment}"
    if "DATABASE_URL" in _read_env_file(own_file):
        return _url_setting(_read_env_file(own_file), "DATABASE_URL", (own_file,))
    shared = project_root / ".env"
    values = _read_env_file(shared)
    shared_is_protected = (
        values.get(ENVIRONMENT_VARIABLE) in POLICIES and policy(values[ENVIRONMENT_VARIABLE]).protected
    )
    if shared_is_protected != policy(environment).protected:
        return None
    return _url_setting(values, "DATABASE_URL", (shared,))


def database_url_in_files(project_root: Path, environment: str) -> str | None:
    """The canonical URL of `configured_database_url`, or None."""
    configured = configured_database_url(project_root, environment)
    return configured.url if configured else None


def _environment_files(root: Path, environment: str) -> dict[str, str]:
    return {**_read_env_file(root / ".env"), **_read_env_file(root / f".env.{environment}")}


def _url_setting(
    values: dict[str, str], name: str, files: tuple[Path, ...], *, real_variables: bool = False
) -> ConfiguredUrl | None:
    """`values[name]` read as a database URL (None when unset, empty or EMBEDDED_KEYWORD), with where it was set."""
    text = (values.get(name) or "").strip()
    if text in ("", EMBEDDED_KEYWORD):
        return None
    origin, cut_short = (
        (f"{name} (environment variable)", False)
        if real_variables and name in os.environ
        else _file_origin(name, files)
    )
    if cut_short:  # even when what is left reads as a URL: its "port" may be the password's first characters
        raise database_url.DatabaseUrlError(
            f"{origin} cannot be read: an unquoted value ends at ' #' (a comment starts there), and an @ follows "
            "it on that line. Put the value in single quotes."
        )
    # PG* variables complete what the URL leaves out, for node-postgres and libpq alike: folded in here, once.
    return ConfiguredUrl(database_url.parse(text, name=origin).with_libpq_defaults(os.environ).canonical(), origin)


def _file_origin(name: str, files: tuple[Path, ...]) -> tuple[str, bool]:
    """'NAME in FILE line N' for the last of `files` that sets `name`, and whether ' #' cut a URL short there.

    python-dotenv ends an unquoted value at ' #'; an @ after it means the password went on.
    """
    for path in reversed(files):
        bindings = [b for b in parse_stream(io.StringIO(path.read_text())) if b.key == name] if path.is_file() else []
        if bindings:
            original = bindings[-1].original
            written = original.string.partition("=")[2].strip()
            cut_short = written[:1] not in "'\"" and "@" in written.partition(" #")[2]
            return f"{name} in {path.name} line {original.line}", cut_short
    return name, False


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
