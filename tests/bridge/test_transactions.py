"""Batches and interactive transactions through the bridge."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


async def test_batch_commits_every_operation(db: Any) -> None:
    async with db.batch_() as batch:
        batch.author.create(data={"email": "a@example.org", "name": "A"})
        batch.author.create(data={"email": "b@example.org", "name": "B"})
        batch.author.update_many(where={}, data={"age": 3})
    assert await db.author.count(where={"age": 3}) == 2


async def test_failing_batch_writes_nothing(db: Any, generated_client: Any) -> None:
    """A batch is one transaction: a unique violation undoes the operations before it."""
    with pytest.raises(generated_client.errors.UniqueViolationError):
        async with db.batch_() as batch:
            batch.author.create(data={"email": "a@example.org", "name": "A"})
            batch.author.create(data={"email": "a@example.org", "name": "again"})
    assert await db.author.count() == 0


async def test_transaction_commits(db: Any) -> None:
    async with db.tx() as tx:
        author = await tx.author.create(data={"email": "t@example.org", "name": "T"})
        await tx.article.create(data={"title": "In tx", "author": {"connect": {"id": author.id}}})
    assert await db.article.count() == 1


async def test_transaction_rolls_back_on_exception(db: Any) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.tx() as tx:
            await tx.author.create(data={"email": "t@example.org", "name": "T"})
            raise RuntimeError("boom")
    assert await db.author.count() == 0


async def test_uncommitted_writes_are_invisible_outside_the_transaction(db: Any) -> None:
    """Isolation: another connection does not see a transaction's writes until it commits."""
    async with db.tx() as tx:
        await tx.author.create(data={"email": "iso@example.org", "name": "Iso"})
        assert await tx.author.count() == 1
        assert await db.author.count() == 0
    assert await db.author.count() == 1


async def test_concurrent_transactions_do_not_interfere(db: Any) -> None:
    async def transfer(index: int) -> None:
        async with db.tx() as tx:
            await tx.author.create(data={"email": f"c{index}@example.org", "name": "C"})
            await asyncio.sleep(0.01)
            await tx.author.update(where={"email": f"c{index}@example.org"}, data={"age": index})

    await asyncio.gather(*(transfer(i) for i in range(8)))
    assert sorted(a.age for a in await db.author.find_many()) == list(range(8))


async def test_expired_transaction_raises(db: Any, generated_client: Any) -> None:
    from datetime import timedelta

    with pytest.raises(generated_client.errors.TransactionExpiredError):
        async with db.tx(timeout=timedelta(milliseconds=200)) as tx:
            await asyncio.sleep(0.5)
            await tx.author.count()
