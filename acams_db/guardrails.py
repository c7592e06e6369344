"""What each environment allows: development commands are refused in staging and production."""

from __future__ import annotations

from acams_db.errors import RefusedError
from acams_db.settings import Settings


def require_development(settings: Settings, action: str, instead: str) -> None:
    """Refuse `action` outside development; `instead` says what to run there."""
    if settings.environment != "development":
        raise RefusedError(f"{action} is a development command and is refused in {settings.environment}. {instead}")
