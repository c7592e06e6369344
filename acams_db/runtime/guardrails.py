"""What each environment allows.

Development commands are refused in staging and production, staging and production never run on the
embedded server, and production never shares its target (server, database and schema, as the servers
answer: see target_identity) with the database another environment's files configure.
"""

from __future__ import annotations

from acams_db import caller, database_url
from acams_db.errors import RefusedError
from acams_db.runtime import target_identity
from acams_db.settings import EMBEDDED_KEYWORD, ENVIRONMENTS, ConfiguredUrl, Settings, configured_database_url, policy


def require_development(settings: Settings, action: str, instead: str) -> None:
    """Refuse `action` outside development; `instead` says what to run there."""
    if not settings.policy.runs_development_commands:
        raise RefusedError(f"{action} is a development command and is refused in {settings.environment}. {instead}")


def require_production_consent(url: str, allowed: bool, typed_name: str | None) -> None:
    """Destructive commands in production need a flag and the target database's name typed out."""
    parsed = database_url.parse(url)
    name = parsed.database or parsed.user
    if not allowed or typed_name != name:
        flags = caller.spelled(
            make="allow_production=1 and database= with the name of the database it acts on "
            "(make restore file=... allow_production=1 database=NAME)",
            cli="--allow-production and --database with the name of the database it acts on",
        )
        raise RefusedError(
            f"This replaces production data: pass {flags}."
            + (f" {typed_name!r} is not the database's name." if allowed and typed_name is not None else "")
        )


def check_database(settings: Settings) -> None:
    """Refuse a database this environment must not use, before anything else connects to it.

    Staging and production need a DATABASE_URL. Outside production, the target of production's configured
    URL is refused; in production, the targets of the URLs the files configure for the other environments.
    """
    if settings.database_url is None:
        if not settings.policy.runs_development_commands:
            raise RefusedError(
                f"{settings.environment} has no DATABASE_URL (unset, empty or '{EMBEDDED_KEYWORD}'): the embedded "
                f"PostgreSQL server is for development only. Set DATABASE_URL in .env.{settings.environment} or in "
                "the environment."
            )
        return
    for other, configured in _configured_elsewhere(settings):
        comparison = target_identity.compare(settings.database_url, configured.url)
        if comparison.same:
            mine, theirs = (database_url.parse(url).redacted() for url in (settings.database_url, configured.url))
            raise RefusedError(
                f"{settings.environment} would act on {other}'s database: {mine} from {settings.database_url_origin} "
                f"and {theirs} from {configured.origin} reach {comparison.evidence}. "
                "production must have a database of its own: point one of them elsewhere."
            )


def _configured_elsewhere(settings: Settings) -> list[tuple[str, ConfiguredUrl]]:
    """The URLs to keep apart from this environment's: the protected environments' (production's), or in a
    protected one every other one's.

    A URL that cannot be read names no target, and is that environment's own error, not this one's.
    """
    others = (
        [e for e in ENVIRONMENTS if e != settings.environment]
        if settings.policy.protected
        else [e for e in ENVIRONMENTS if policy(e).protected]
    )
    found = []
    for other in others:
        try:
            configured = configured_database_url(settings.project_root, other)
        except database_url.DatabaseUrlError:
            continue
        if configured is not None:
            found.append((other, configured))
    return found
