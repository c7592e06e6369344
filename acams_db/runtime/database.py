"""The database of the current environment: resolve its URLs, starting the embedded server when configured."""

from __future__ import annotations

from dataclasses import dataclass

from acams_db.runtime import embedded, guardrails
from acams_db.settings import Settings, redact


@dataclass(frozen=True)
class Database:
    url: str
    shadow_url: str | None
    embedded: bool

    @property
    def display(self) -> str:
        """The URL with its password redacted, for output and logs."""
        label = redact(self.url)
        return f"{label} (embedded)" if self.embedded else label


def resolve(settings: Settings) -> Database:
    """Return the database of `settings`, starting the embedded PostgreSQL server if it is the one configured."""
    guardrails.check_database(settings)
    if settings.database_url is not None:
        return Database(settings.database_url, settings.shadow_database_url, embedded=False)
    return Database(embedded.ensure_running(settings.project_root), settings.shadow_database_url, embedded=True)
