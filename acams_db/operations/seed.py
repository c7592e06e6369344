"""`seed`: the question bank into the environment's database, with a client generated from schema.prisma as it is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from acams_db.operations import generate
from acams_db.questions import seed
from acams_db.questions.seed import Progress, SeedReport
from acams_db.runtime.database import Database
from acams_db.settings import Settings

DEFAULT_BANK = Path("data") / "questions.json"


def seed_bank(
    settings: Settings,
    bank_file: Path,
    *,
    prune: bool,
    dry_run: bool,
    connect: Callable[[Settings], Database],
    progress: Progress,
) -> SeedReport:
    """Regenerate the client if schema.prisma changed, then upsert the bank (`seed_questions`)."""
    database = connect(settings)
    generate.generate(settings)  # the client must match schema.prisma
    return seed_questions(settings, database, bank_file, prune=prune, dry_run=dry_run, progress=progress)


def seed_questions(
    settings: Settings, database: Database, bank_file: Path, *, prune: bool, dry_run: bool, progress: Progress
) -> SeedReport:
    """Upsert the bank at `bank_file` (relative: to the project) in one transaction; the caller made the client
    match schema.prisma. The event loop is this function's: Ctrl-C cancels the seed, which writes nothing."""
    bank = bank_file if bank_file.is_absolute() else settings.project_root / bank_file
    return asyncio.run(seed.seed(database.url, bank, prune=prune, dry_run=dry_run, progress=progress))
