"""`rollback`: development's last applied migration undone in the database; its folder stays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acams_db.migrations import rollback
from acams_db.migrations.rollback import Rollback
from acams_db.runtime import guardrails
from acams_db.runtime.database import Database
from acams_db.settings import Settings


@dataclass(frozen=True)
class RolledBack:
    plan: Rollback
    applied: bool  # False: --dry-run

    def as_dict(self) -> dict[str, object]:
        return {**self.plan.as_dict(), "applied": self.applied}


def roll_back(
    settings: Settings,
    *,
    dry_run: bool,
    connect: Callable[[Settings], Database],
    show: Callable[[Rollback], None],
    confirm: Callable[[str], None] | None,
) -> RolledBack:
    """Plan the down SQL of the last applied migration, `show` it, then (unless `dry_run`) apply it in one
    transaction with the migration marked rolled back.

    Development only. `confirm` asks before anything changes and raises if the answer is no; None: --force.
    """
    guardrails.require_development(
        settings, "rollback", "Undo a migration with a new forward migration: make revert name=..., then deploy it."
    )
    database = connect(settings)
    planned = rollback.plan(settings, database)
    show(planned)
    if dry_run:
        return RolledBack(planned, applied=False)
    if confirm is not None:
        confirm(f"Apply this to {database.display}?")
    rollback.apply(settings, database, planned)
    return RolledBack(planned, applied=True)
