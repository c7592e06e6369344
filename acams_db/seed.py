"""The idempotent question seed: the bank file's questions upserted by id, in one transaction.

New questions are created, changed ones (by content hash) updated with their
options, unchanged ones not written at all. Questions in the database but not
in the file are reported and left alone, or deactivated with `prune` (never
deleted: attempts refer to them). Runs on Prisma Client Python through the
real engine.
"""

from __future__ import annotations

import json
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
# Questions written per statement: a few MB of JSON, far below the bridge's request limit.
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


# One statement per chunk, the rows as one JSON parameter: through Prisma Client
# Python and the engine like any query, without building a query per question.
UPSERT_QUESTIONS = """
INSERT INTO questions
  (id, domain, topic, stem, explanation, difficulty, tags, reference, active, content_hash, created_at, updated_at)
SELECT id, domain, topic, stem, explanation, difficulty, tags, reference, true, content_hash,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM jsonb_to_recordset($1::jsonb) AS q(
  id text, domain "ExamDomain", topic text, stem text, explanation text,
  difficulty "Difficulty", tags text[], reference text, content_hash text)
ON CONFLICT (id) DO UPDATE SET
  domain = EXCLUDED.domain, topic = EXCLUDED.topic, stem = EXCLUDED.stem, explanation = EXCLUDED.explanation,
  difficulty = EXCLUDED.difficulty, tags = EXCLUDED.tags, reference = EXCLUDED.reference, active = true,
  content_hash = EXCLUDED.content_hash, updated_at = EXCLUDED.updated_at
"""
# Options are keyed by (question, label), so an edited option keeps its row and the attempts that chose it.
UPSERT_OPTIONS = """
INSERT INTO answer_options (question_id, label, text, is_correct)
SELECT question_id, label, text, is_correct
FROM jsonb_to_recordset($1::jsonb) AS o(question_id text, label text, text text, is_correct boolean)
ON CONFLICT (question_id, label) DO UPDATE SET text = EXCLUDED.text, is_correct = EXCLUDED.is_correct
WHERE (answer_options.text, answer_options.is_correct) IS DISTINCT FROM (EXCLUDED.text, EXCLUDED.is_correct)
"""
DELETE_REMOVED_OPTIONS = """
DELETE FROM answer_options AS o
USING jsonb_to_recordset($1::jsonb) AS k(question_id text, labels text[])
WHERE o.question_id = k.question_id AND o.label <> ALL (k.labels)
"""


async def _write(transaction: Any, plan: SeedPlan, progress: Progress) -> None:
    for chunk in _chunks([*plan.create, *plan.update], CHUNK_SIZE):
        await transaction.execute_raw(UPSERT_QUESTIONS, json.dumps([_question_row(q) for q in chunk]))
        options = [
            {"question_id": q.id, "label": o.label, "text": o.text, "is_correct": o.correct}
            for q in chunk
            for o in q.options
        ]
        await transaction.execute_raw(UPSERT_OPTIONS, json.dumps(options))
        progress(len(chunk), plan.writes)
    for chunk in _chunks(plan.update, CHUNK_SIZE):
        labels = [{"question_id": q.id, "labels": [o.label for o in q.options]} for q in chunk]
        await transaction.execute_raw(DELETE_REMOVED_OPTIONS, json.dumps(labels))
    if plan.deactivate:
        await transaction.question.update_many(where={"id": {"in": plan.deactivate}}, data={"active": False})


def _question_row(question: BankQuestion) -> dict[str, Any]:
    return {
        "id": question.id,
        "domain": question.domain,
        "topic": question.topic,
        "stem": question.stem,
        "explanation": question.explanation,
        "difficulty": question.difficulty,
        "tags": list(question.tags),
        "reference": question.reference,
        "content_hash": question.content_hash,
    }


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
