"""`setup` and `reset`: development's database brought to the migrations, the client generated, the bank seeded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acams_db.migrations import prisma_migrate
from acams_db.operations import generate
from acams_db.operations.seed import DEFAULT_BANK, seed_questions
from acams_db.questions.seed import Progress, SeedReport
from acams_db.runtime import guardrails
from acams_db.runtime.database import Database
from acams_db.settings import Settings


@dataclass(frozen=True)
class SetUp:
    applied: list[str]
    client_generated: bool
    seed: SeedReport

    def as_dict(self) -> dict[str, object]:
        return {"applied": self.applied, "client_generated": self.client_generated, "seed": self.seed.as_dict()}


@dataclass(frozen=True)
class Reset:
    applied: list[str]
    seed: SeedReport | None  # None: --no-seed

    def as_dict(self) -> dict[str, object]:
        return {"applied": self.applied, **({"seed": self.seed.as_dict()} if self.seed else {})}


def set_up(settings: Settings, *, connect: Callable[[Settings], Database], progress: Progress) -> SetUp:
    """Apply pending migrations, generate the client if schema.prisma changed, seed the shipped bank.

    Development only: refused elsewhere before the database is reached.
    """
    guardrails.require_development(settings, "setup", "There, run make deploy, then make seed.")
    database = connect(settings)
    applied = prisma_migrate.deploy(settings, database)
    generated = generate.generate(settings)
    seeded = seed_questions(settings, database, DEFAULT_BANK, prune=False, dry_run=False, progress=progress)
    return SetUp(applied, generated, seeded)


def reset(
    settings: Settings,
    *,
    seed: bool,
    connect: Callable[[Settings], Database],
    confirm: Callable[[str], None] | None,
    progress: Progress,
) -> Reset:
    """Drop every table, apply all migrations again and (with `seed`) seed the shipped bank. Deletes all data.

    Development only. `confirm` asks before anything is deleted and raises if the answer is no; None: --force.
    """
    guardrails.require_development(
        settings,
        "reset",
        "To undo a migration, create a new one (make revert name=...); to go back to a backup, make restore file=....",
    )
    database = connect(settings)
    if confirm is not None:
        confirm(f"Delete ALL data in {database.display} and re-apply every migration?")
    applied = prisma_migrate.reset(settings, database)
    if not seed:
        return Reset(applied, None)
    generate.generate(settings)
    seeded = seed_questions(settings, database, DEFAULT_BANK, prune=False, dry_run=False, progress=progress)
    return Reset(applied, seeded)
