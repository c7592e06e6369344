"""Batches and interactive transactions: commit, rollback, isolation, timeouts, and closed transactions."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.conformance.conftest import Conformance

EXPIRED = (
    "Transaction already closed: A query cannot be executed on an expired transaction. The timeout for this "
    "transaction was 200 ms, however "
)


def test_batch_commits_every_operation(db: Any) -> None:
    with db.batch_() as batch:
        batch.user.create(data={"email": "a@example.org", "name": "A"})
        batch.user.create(data={"email": "b@example.org", "name": "B"})
        batch.user.update_many(where={}, data={"age": 3})
        batch.execute_raw('UPDATE "User" SET name = upper(name)')
    assert [(u.name, u.age) for u in db.user.find_many(order={"id": "asc"})] == [("A", 3), ("B", 3)]


def test_failing_batch_writes_nothing(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.UniqueViolationError), db.batch_() as batch:
        batch.user.create(data={"email": "a@example.org", "name": "A"})
        batch.user.create(data={"email": "a@example.org", "name": "again"})
    assert db.user.count() == 0


def test_transaction_commits_and_isolates(db: Any) -> None:
    with db.tx() as tx:
        user = tx.user.create(data={"email": "t@example.org", "name": "T"})
        tx.post.create(data={"title": "In tx", "author": {"connect": {"id": user.id}}})
        assert tx.post.count() == 1
        assert db.post.count() == 0
    assert db.post.count() == 1


def test_transaction_rolls_back_on_exception(db: Any) -> None:
    with pytest.raises(RuntimeError, match="boom"), db.tx() as tx:
        tx.user.create(data={"email": "t@example.org", "name": "T"})
        raise RuntimeError("boom")
    assert db.user.count() == 0


def test_a_query_on_a_committed_or_rolled_back_transaction(db: Any, conformance: Conformance) -> None:
    """The native engine's words: 'Transaction already closed', which Prisma Client Python raises as expired."""
    manager = db.tx()
    tx = manager.start()
    manager.commit()
    with pytest.raises(conformance.errors.TransactionExpiredError) as raised:
        tx.user.count()
    assert str(raised.value) == "Transaction already closed: A query cannot be executed on a committed transaction."
    manager = db.tx()
    tx = manager.start()
    manager.rollback()
    with pytest.raises(conformance.errors.TransactionExpiredError) as raised:
        tx.user.count()
    assert str(raised.value) == (
        "Transaction already closed: A query cannot be executed on a transaction that was rolled back."
    )


def test_expired_transaction_raises_and_its_commit_fails(db: Any, conformance: Conformance) -> None:
    """A query after the timeout raises; committing it fails with the native engine's status 422 (no silent loss)."""
    manager = db.tx(timeout=timedelta(milliseconds=200))
    tx = manager.start()
    tx.user.create(data={"email": "x@example.org", "name": "X"})
    time.sleep(0.5)
    with pytest.raises(conformance.errors.TransactionExpiredError) as raised:
        tx.user.count()
    assert str(raised.value).startswith(EXPIRED)
    passed = re.search(r"however (\d+) ms passed since the start of the transaction", str(raised.value))
    assert passed and 500 <= int(passed[1]) < 5_000, str(raised.value)
    with pytest.raises(conformance.package.engine.errors.UnprocessableEntityError):
        manager.commit()
    assert db.user.count() == 0


def test_transactions_run_at_the_server_default_isolation(db: Any) -> None:
    """Prisma Client Python 0.15 sets no isolation level: PostgreSQL's default, read committed, applies."""
    with db.tx() as tx:
        shown = tx.query_first("SHOW transaction_isolation")
    assert shown["transaction_isolation"] == "read committed"


def test_transaction_max_wait(db: Any) -> None:
    with db.tx(max_wait=timedelta(seconds=1), timeout=timedelta(seconds=2)) as tx:
        assert tx.user.count() == 0


def test_a_failed_commit_or_rollback_raises(db: Any, conformance: Conformance) -> None:
    """The native engine's statuses: a closed transaction 422, an unknown id 404; never taken for a success."""
    manager = db.tx()
    manager.start()
    manager.commit()
    with pytest.raises(conformance.package.engine.errors.UnprocessableEntityError):
        manager.commit()
    with pytest.raises(conformance.package.engine.errors.UnprocessableEntityError):
        manager.rollback()
    for end in (db._engine.commit_transaction, db._engine.rollback_transaction):
        with pytest.raises(conformance.package.engine.errors.EngineRequestError) as raised:
            end("no-such-transaction")
        assert raised.value.response.status == 404
        assert '"error_code":"P2028"' in str(raised.value)


def test_a_failed_transaction_start_raises_the_engines_error(db: Any, conformance: Conformance) -> None:
    """Not a KeyError on the missing id: the native engine answers a failed start with an error status."""
    with pytest.raises(conformance.package.engine.errors.EngineRequestError) as raised:
        db._engine.start_transaction(content='{"max_wait": 2000, "timeout": 5000, "isolation_level": "Sometimes"}')
    assert raised.value.response.status == 500
    assert "isolation level" in str(raised.value).lower()
