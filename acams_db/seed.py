"""The idempotent question seed: the bank file's questions upserted by id, in one transaction.

New questions are created, changed ones (by content hash) updated with their
options, unchanged ones not written at all. Questions in the database but not
in the file are reported and left alone, or deactivated with `prune` (never
deleted: attempts refer to them). Runs on Prisma Client Python through the
real engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from acams_db.errors import SetupMissingError
from acams_db.question_bank import BankQuestion

# Two seeds started at once take turns on this PostgreSQL advisory lock (an
# arbitrary number reserved for the seed); the second then finds nothing to do.
SEED_LOCK_KEY = 4_243_511
# Questions written per create_many request: keeps each request far below the bridge's size limit.
CHUNK_SIZE = 2000
TRANSACTION_TIMEOUT = timedelta(hours=1)
TRANSACTION_MAX_WAIT = timedelta(minutes=1)

# Called with (questions written now, questions to write in all).
Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class StoredQuestion:
    content_hash: str
    active: bool


@dataclass
class SeedPlan:
    create: list[BankQuestion] = field(default_factory=list)
    update: list[BankQuestion] = field(default_factory=list)
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
        }


def plan_seed(bank: Sequence[BankQuestion], stored: dict[str, StoredQuestion], *, prune: bool) -> SeedPlan:
    """Decide what to write; a question deactivated earlier that is back in the file counts as updated."""
    plan = SeedPlan()
    for question in bank:
        existing = stored.get(question.id)
        if existing is None:
            plan.create.append(question)
        elif existing.content_hash != question.content_hash or not existing.active:
            plan.update.append(question)
        else:
            plan.unchanged += 1
    in_file = {question.id for question in bank}
    plan.missing = sorted(qid for qid, existing in stored.items() if existing.active and qid not in in_file)
    plan.deactivate = plan.missing if prune else []
    return plan


async def seed(
    database_url: str,
    bank: Sequence[BankQuestion],
    *,
    prune: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Seed `bank` into the database at `database_url`; with `dry_run`, only report what would change.

    Everything is written in one transaction: a seed applies completely or not
    at all, also when the process is killed.
    """
    started = time.monotonic()
    client = _client(database_url)
    await client.connect()
    try:
        if dry_run:
            plan = plan_seed(bank, await _stored_questions(client), prune=prune)
        else:
            async with client.tx(timeout=TRANSACTION_TIMEOUT, max_wait=TRANSACTION_MAX_WAIT) as transaction:
                await transaction.execute_raw("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_KEY)
                plan = plan_seed(bank, await _stored_questions(transaction), prune=prune)
                await _write(transaction, plan, progress or (lambda _done, _total: None))
    finally:
        await client.disconnect()
    return SeedReport(
        created=len(plan.create),
        updated=len(plan.update),
        unchanged=plan.unchanged,
        deactivated=len(plan.deactivate),
        missing=plan.missing,
        seconds=time.monotonic() - started,
        dry_run=dry_run,
    )


def _client(database_url: str) -> Any:
    try:
        from prisma import Prisma
    except RuntimeError as error:  # raised by the package when no client was generated
        raise SetupMissingError("Prisma Client Python is not generated. Run: make generate") from error
    return Prisma(datasource={"url": database_url})


async def _stored_questions(client: Any) -> dict[str, StoredQuestion]:
    rows = await client.query_raw("SELECT id, content_hash, active FROM questions")
    return {row["id"]: StoredQuestion(row["content_hash"], row["active"]) for row in rows}


async def _write(transaction: Any, plan: SeedPlan, progress: Progress) -> None:
    for chunk in _chunks(plan.create, CHUNK_SIZE):
        await transaction.question.create_many(data=[_question_fields(q) for q in chunk])
        await transaction.answeroption.create_many(
            data=[{"questionId": q.id, **_option_fields(option)} for q in chunk for option in q.options]
        )
        progress(len(chunk), plan.writes)
    for question in plan.update:
        await _update(transaction, question)
        progress(1, plan.writes)
    if plan.deactivate:
        await transaction.question.update_many(where={"id": {"in": plan.deactivate}}, data={"active": False})


async def _update(transaction: Any, question: BankQuestion) -> None:
    """Rewrite a changed question; options keep their rows (attempts point at them) unless removed from the file."""
    fields = {key: value for key, value in _question_fields(question).items() if key != "id"}
    await transaction.question.update(
        where={"id": question.id}, data={**fields, "tags": {"set": fields["tags"]}, "active": True}
    )
    labels = [option.label for option in question.options]
    await transaction.answeroption.delete_many(where={"questionId": question.id, "label": {"not_in": labels}})
    for option in question.options:
        values = _option_fields(option)
        await transaction.answeroption.upsert(
            where={"questionId_label": {"questionId": question.id, "label": option.label}},
            data={"create": {"questionId": question.id, **values}, "update": values},
        )


def _question_fields(question: BankQuestion) -> dict[str, Any]:
    return {
        "id": question.id,
        "domain": question.domain,
        "topic": question.topic,
        "stem": question.stem,
        "explanation": question.explanation,
        "difficulty": question.difficulty,
        "tags": list(question.tags),
        "reference": question.reference,
        "contentHash": question.content_hash,
    }


def _option_fields(option: Any) -> dict[str, Any]:
    return {"label": option.label, "text": option.text, "isCorrect": option.correct}


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
