"""Engine errors reach Prisma Client Python with their codes, so the right exception class is raised."""

from __future__ import annotations

from typing import Any

import pytest


async def test_unique_violation(db: Any, generated_client: Any) -> None:
    await db.author.create(data={"email": "u@example.org", "name": "U"})
    with pytest.raises(generated_client.errors.UniqueViolationError) as raised:
        await db.author.create(data={"email": "u@example.org", "name": "again"})
    assert "email" in str(raised.value)


async def test_record_not_found(db: Any, generated_client: Any) -> None:
    with pytest.raises(generated_client.errors.RecordNotFoundError):
        await db.author.find_unique_or_raise(where={"id": 404})
    with pytest.raises(generated_client.errors.RecordNotFoundError):
        await db.author.find_first_or_raise(where={"name": "nobody"})


async def test_foreign_key_violation(db: Any, generated_client: Any) -> None:
    with pytest.raises(generated_client.errors.ForeignKeyViolationError):
        await db.article.create(data={"title": "Orphan", "authorId": 999})


async def test_unknown_field(db: Any, generated_client: Any) -> None:
    with pytest.raises(generated_client.errors.FieldNotFoundError):
        await db.author.find_many(where={"no_such_field": 1})


async def test_missing_required_value(db: Any, generated_client: Any) -> None:
    with pytest.raises(generated_client.errors.MissingRequiredValueError):
        await db.author.create(data={"email": "no-name@example.org"})


async def test_raw_query_error(db: Any, generated_client: Any) -> None:
    with pytest.raises(generated_client.errors.RawQueryError):
        await db.query_raw("SELECT * FROM no_such_table")


async def test_table_not_found(db: Any, generated_client: Any, postgres: Any, bridge_database: str) -> None:
    postgres.psql('ALTER TABLE "Category" RENAME TO category_away', url=bridge_database)
    try:
        with pytest.raises(generated_client.errors.TableNotFoundError):
            await db.category.find_many()
    finally:
        postgres.psql('ALTER TABLE category_away RENAME TO "Category"', url=bridge_database)


async def test_wrong_value_type_is_a_data_error(db: Any, generated_client: Any) -> None:
    with pytest.raises(generated_client.errors.DataError):
        await db.author.create(data={"email": "t@example.org", "name": "T", "age": "not a number"})
