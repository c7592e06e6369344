"""`seed`: the question bank into the environment's database, with a client generated from schema.prisma as it is."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from acams_db.operations import generate
from acams_db.questions import seed
from acams_db.questions.seed import Progress, SeedReport
from acams_db.runtime import interrupts
from acams_db.runtime.database import Database
from acams_db.runtime.interrupts import Interrupted
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
    """Regenerate the client if schema.prisma changed, then upsert the bank (`seed_questions`).

    SIGINT, SIGTERM and SIGHUP stop it at any point with one line, exit 128 + the signal's number, and nothing
    written."""
    try:
        with interrupts.signals_interrupt():
            database = connect(settings)
            generate.generate(settings)  # the client must match schema.prisma
            return seed_questions(settings, database, bank_file, prune=prune, dry_run=dry_run, progress=progress)
    except Interrupted as error:
        raise Interrupted(error.signal_number, f"Seed stopped by {error.signal_name}: nothing was written.") from None


def seed_questions(
    settings: Settings, database: Database, bank_file: Path, *, prune: bool, dry_run: bool, progress: Progress
) -> SeedReport:
    """Upsert the bank at `bank_file` (relative: to the project) in one transaction; the caller made the client
    match schema.prisma. The event loop is this function's: SIGINT, SIGTERM or SIGHUP cancels the seed, which
    writes nothing, and raises `Interrupted`."""
    bank = bank_file if bank_file.is_absolute() else settings.project_root / bank_file
    return asyncio.run(
        _cancelled_by_signals(seed.seed(database.url, bank, prune=prune, dry_run=dry_run, progress=progress))
    )


async def _cancelled_by_signals(work: Coroutine[Any, Any, SeedReport]) -> SeedReport:
    """Run `work`; the first of SIGINT, SIGTERM and SIGHUP cancels it (its transaction rolls back on the way out),
    later ones are ignored so that its clean-up is not cut short.

    A handler raising inside the event loop could interrupt the loop's own bookkeeping; cancelling the task
    lets every `finally` of the seed run as for Ctrl-C under `asyncio.run`."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    received: list[int] = []

    def cancel(number: int) -> None:
        if not received:
            received.append(number)
            task.cancel()

    previous = {number: signal.getsignal(number) for number in interrupts.SIGNALS}
    for number in interrupts.SIGNALS:
        loop.add_signal_handler(number, cancel, number)
    try:
        return await work
    except asyncio.CancelledError:
        if not received:
            raise
        raise Interrupted(received[0]) from None
    finally:
        for number, handler in previous.items():
            loop.remove_signal_handler(number)  # which sets the default action: put back what was there
            if handler is not None:  # None: not set from Python; the default stays
                signal.signal(number, handler)
