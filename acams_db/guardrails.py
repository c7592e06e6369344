"""What each environment allows.

Development commands are refused in staging and production, production never
runs on the embedded server, and production never shares its database with
another environment's configuration.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from acams_db import pg_tools
from acams_db.errors import RefusedError
from acams_db.settings import ENVIRONMENTS, Settings, database_url_in_files

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def require_development(settings: Settings, action: str, instead: str) -> None:
    """Refuse `action` outside development; `instead` says what to run there."""
    if settings.environment != "development":
        raise RefusedError(f"{action} is a development command and is refused in {settings.environment}. {instead}")


def require_production_consent(url: str, allowed: bool, typed_name: str | None) -> None:
    """Destructive commands in production need a flag and the target database's name typed out."""
    name = database_identity(url)[2]
    if not allowed or typed_name != name:
        raise RefusedError(
            "This replaces production data: pass --allow-production and --database with the name of the "
            "database it acts on (make restore ... allow_production=1 database=NAME)."
            + (f" {typed_name!r} is not the database's name." if allowed and typed_name is not None else "")
        )


def check_database(settings: Settings) -> None:
    """Refuse a database that production must not use, before anything connects to it."""
    if settings.environment == "production" and settings.database_url is None:
        raise RefusedError(
            "production has no DATABASE_URL (unset, empty or 'embedded'): the embedded PostgreSQL server "
            "is for development only. Set DATABASE_URL in .env.production or in the environment."
        )
    if settings.database_url is None:
        return
    mine = database_identity(settings.database_url)
    for other in ENVIRONMENTS:
        if other == settings.environment or "production" not in (other, settings.environment):
            continue
        configured = database_url_in_files(settings.project_root, other)
        if configured is not None and database_identity(configured) == mine:
            host, port, name, schema = mine
            raise RefusedError(
                f"The database {host}:{port}/{name} (schema {schema}) is configured for {other} "
                f"(.env or .env.{other}) and used here for {settings.environment}: production must have a "
                "database of its own. Point DATABASE_URL of one of them elsewhere."
            )


def database_identity(url: str) -> tuple[str, int, str, str]:
    """(host, port, database, schema) of a PostgreSQL URL, whatever user or password it uses."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = (parts.hostname or query.get("host", ["localhost"])[0]).lower()
    port = parts.port or int(query.get("port", ["5432"])[0])
    name = unquote(parts.path.lstrip("/")) or unquote(parts.username or "")
    schema = pg_tools.schema_of(url)
    return ("localhost" if host in LOOPBACK_HOSTS else host, port, name, schema)
