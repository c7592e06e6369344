"""`migrate`: a migration from schema.prisma's changes, applied to development with the client regenerated."""

from __future__ import annotations

from collections.abc import Callable

from acams_db.migrations import prisma_migrate
from acams_db.migrations.prisma_migrate import CreatedMigration
from acams_db.operations import generate
from acams_db.runtime import guardrails
from acams_db.runtime.database import Database
from acams_db.settings import Settings


def create_migration(
    settings: Settings, name: str, *, create_only: bool, connect: Callable[[Settings], Database]
) -> CreatedMigration | None:
    """Write YYYYMMDD_HHMMSS_`name` for schema.prisma's changes and, unless `create_only`, apply it and regenerate
    the client. None: no change, nothing created. Development only: refused elsewhere before the database."""
    guardrails.require_development(
        settings,
        "migrate",
        "Create migrations in development and commit them; make deploy applies the committed ones here.",
    )
    created = prisma_migrate.create(settings, connect(settings), name, create_only=create_only)
    if created is not None and created.applied:
        generate.generate(settings)
    return created
