"""The idempotent question seed: the bank file's questions upserted by id, in one transaction.

New questions are created, changed ones (by content hash) updated with their
options, unchanged ones not written at all. Questions in the database but not
in the file are reported and left alone, or deactivated with `prune` (never
deleted: attempts refer to them). Runs on Prisma Client Python through the
real engine; the statements it sends are in seed_sql.py.

Every seed that validated its file records it in question_bank_seeds: the
file's SHA-256, the validator's, and the questions' digest. When the table
still holds exactly what such a file gave, the same file seeded again is not
validated again (it would pass again: same bytes, same validator) and nothing
is written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.questions import seed_sql
from acams_db.questions.background_validation import BankValidation
from acams_db.questions.bank import Bank, file_sha256, validator_digest

# Questions written per statement: a few MB of JSON, far below the bridge's request limit.
CHUNK_SIZE = 2000
TRANSACTION_TIMEOUT = timedelta(hours=1)
TRANSACTION_MAX_WAIT = timedelta(minutes=1)

# Called with (questions written now, questions to write in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StoredQuestion:
    content_hash: str
    active: bool


@dataclass
class SeedPlan:
    # Positions of questions in the bank.
    create: list[int] = field(default_factory=list)
    update: list[int] = field(default_factory=list)
    unchanged: int = 0
    # Active in the database, absent from the file.
    missing: list[str] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.update)


@dataclass(frozen=True)
class SeedReport:
    created: int
    updated: int
    unchanged: int
    deactivated: int
    missing: list[str]
    seconds: float
    dry_run: bool
    # False when this exact file was validated and seeded before, and the table still holds what it gave.
    validated: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "missing": len(self.missing),
            "missing_ids": self.missing,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "validated": self.validated,
        }


def plan_seed(bank: Bank, stored: dict[str, StoredQuestion], *, prune: bool) -> SeedPlan:
    """Decide what to write; a question deactivated earlier that is back in the file counts as updated."""
    plan = SeedPlan()
    for index, (question_id, content_hash) in enumerate(zip(bank.ids, bank.content_hashes, strict=True)):
        existing = stored.get(question_id)
        if existing is None:
            plan.create.append(index)
        elif existing.content_hash != content_hash or not existing.active:
            plan.update.append(index)
        else:
            plan.unchanged += 1
    in_file = set(bank.ids)
    plan.missing = sorted(qid for qid, existing in stored.items() if existing.active and qid not in in_file)
    plan.deactivate = plan.missing if prune else []
    return plan


async def seed(
    database_url: str,
    bank_path: Path,
    *,
    prune: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Validate the bank at `bank_path`, then seed it into the database at `database_url`; with `dry_run`,
    only report what would change. An invalid bank raises BankError and changes nothing.

    Everything is written in one transaction: a seed applies completely or not
    at all, also when the process is killed; cancelled (by a signal: operations/seed.py), it rolls back.
    """
    started = time.monotonic()
    # The bank is validated in a worker process while this one imports the client, starts the engine and
    # asks the database for its digest of the questions; a thread hashes the file meanwhile.
    validation = BankValidation(bank_path)
    file_digest = asyncio.ensure_future(asyncio.to_thread(file_sha256, bank_path))
    client = None
    committing = False
    try:
        client = _client(database_url)
        try:
            await _connect(client)
        except Exception:
            validation.result()  # an invalid bank is the error to report
            raise
        if dry_run:
            bank, plan = await _plan(client, validation, await file_digest, prune=prune)
        else:
            async with client.tx(timeout=TRANSACTION_TIMEOUT, max_wait=TRANSACTION_MAX_WAIT) as transaction:
                await transaction.execute_raw(seed_sql.BEGIN_SEED, seed_sql.SEED_LOCK_KEY)
                bank, plan = await _plan(transaction, validation, await file_digest, prune=prune)
                if bank is not None:
                    await _write(transaction, bank, plan, progress or (lambda _done, _total: None))
                    await _record(transaction, bank, plan)
                committing = True  # leaving the block commits
    except Exception as error:
        if not _connection_lost(error):
            raise
        if committing:
            raise ToolchainError(
                "The connection to the database was lost as the seed committed: it may or may not have been"
                " applied. Seed again (if it was applied, nothing is left to do)."
            ) from None
        raise ToolchainError("The connection to the database was lost during the seed; nothing was written.") from None
    finally:
        validation.close()
        await asyncio.gather(file_digest, return_exceptions=True)
        if client is not None:
            await client.disconnect()
    return SeedReport(
        created=len(plan.create),
        updated=len(plan.update),
        unchanged=plan.unchanged,
        deactivated=len(plan.deactivate),
        missing=plan.missing,
        seconds=time.monotonic() - started,
        dry_run=dry_run,
        validated=bank is not None,
    )


def _client(database_url: str) -> Any:
    try:
        from prisma import Prisma
    except RuntimeError as error:  # raised by the package when no client was generated
        raise SetupMissingError("Prisma Client Python is not generated. Run: make generate") from error
    return Prisma(datasource={"url": database_url})


async def _connect(client: Any) -> None:
    from prisma.engine.errors import EngineConnectionError  # loaded already, with the client

    try:
        await client.connect()
    except EngineConnectionError as error:
        # The engine bridge has printed why on stderr: the database unreachable, most often.
        raise ToolchainError("The query engine did not start (reason above); nothing was written.") from error


async def _plan(
    client: Any, validation: BankValidation, file_digest: str | None, *, prune: bool
) -> tuple[Bank | None, SeedPlan]:
    """The validated bank, and the plan against the questions stored now; no bank when this exact file was
    validated and seeded before and the table still holds what it gave, all active. When the table holds
    exactly the bank's questions, all active, its digest says so, and the stored hashes need not travel."""
    stored = await _table_state(client, file_digest)
    if stored["seeded_before"] and stored["all_active"]:
        return None, SeedPlan(unchanged=stored["questions"])
    bank = await asyncio.to_thread(validation.result)
    if stored["digest"] == bank.questions_digest and stored["all_active"]:
        return bank, SeedPlan(unchanged=len(bank))
    return bank, plan_seed(bank, await _stored_questions(client), prune=prune)


# A session the server ended (PostgreSQL's 57P01 to 57P03: terminated, crashed, shutting down), a connection
# failure (class 08), or what Prisma reports when the server closed the connection or cannot be reached. P2036
# is an error of the pg driver itself, not of PostgreSQL (which would give its code): a connection reset or
# refused, when the server died (the bridge does not pass the driver's message on).
LOST_CONNECTION_STATES = ("57P01", "57P02", "57P03", "08")
LOST_CONNECTION_CODES = {"P1001", "P1002", "P1017", "P2036"}


def _connection_lost(error: Exception) -> bool:
    """Whether a Prisma Client Python error says the database connection is gone."""
    meta = getattr(error, "meta", None)
    state = str(meta.get("code", "")) if isinstance(meta, dict) else ""
    return state.startswith(LOST_CONNECTION_STATES) or getattr(error, "code", None) in LOST_CONNECTION_CODES


# PostgreSQL's codes for an undefined table and column: a database whose migrations are behind the code.
SCHEMA_BEHIND = {"42P01", "42703"}


async def _table_state(client: Any, file_digest: str | None) -> dict[str, Any]:
    from prisma.errors import RawQueryError  # loaded already, with the client

    try:
        [stored] = await client.query_raw(seed_sql.TABLE_STATE, file_digest, validator_digest())
    except RawQueryError as error:
        if (error.meta or {}).get("code") not in SCHEMA_BEHIND:
            raise
        raise ToolchainError(
            f"The database lacks part of the schema ({error}). Apply the pending migrations first: make deploy"
            " (make status lists them). Nothing was written."
        ) from error
    return dict(stored)


async def _stored_questions(client: Any) -> dict[str, StoredQuestion]:
    [row] = await client.query_raw(seed_sql.STORED_QUESTIONS)
    states = row["states"]
    return {
        question_id: StoredQuestion(states[start : start + 64], states[start + 64] == "t")
        for question_id, start in zip(row["ids"], range(0, len(states), seed_sql.STATE_LENGTH), strict=True)
    }


async def _record(transaction: Any, bank: Bank, plan: SeedPlan) -> None:
    """Record the seed of a validated file, also when it changed nothing (the next seed of it is then quick)."""
    await transaction.questionbankseed.create(
        data={
            "fileName": str(bank.path),
            "fileSha256": bank.file_digest,
            "validator": validator_digest(),
            "questionsDigest": bank.questions_digest,
            "questions": len(bank),
            "created": len(plan.create),
            "updated": len(plan.update),
            "deactivated": len(plan.deactivate),
        }
    )


async def _write(transaction: Any, bank: Bank, plan: SeedPlan, progress: Progress) -> None:
    for statement, indexes in ((seed_sql.CREATE_QUESTIONS, plan.create), (seed_sql.UPDATE_QUESTIONS, plan.update)):
        for chunk in _chunks(indexes, CHUNK_SIZE):
            await transaction.execute_raw(statement, seed_sql.rows_json(bank, chunk))
            progress(len(chunk), plan.writes)
    if plan.deactivate:
        await transaction.question.update_many(where={"id": {"in": plan.deactivate}}, data={"active": False})


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
