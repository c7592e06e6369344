"""Every error class Prisma Client Python maps, with the native engine's code, message and meta.

With PostgreSQL's errors passed to the engine as they are (engine/lib/pg-adapter.mjs), the engine maps them with
the native connector's own code: the texts below are those of the native engine of the same commit (6.19).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.conftest import Conformance


def user_facing(error: Exception) -> dict[str, Any]:
    return error.data["user_facing_error"]  # type: ignore[attr-defined, no-any-return]


def test_unique_violation(db: Any, conformance: Conformance) -> None:
    db.user.create(data={"email": "u@example.org", "name": "U"})
    with pytest.raises(conformance.errors.UniqueViolationError) as raised:
        db.user.create(data={"email": "u@example.org", "name": "again"})
    assert str(raised.value) == "Unique constraint failed on the fields: (`email`)"
    assert user_facing(raised.value)["meta"] == {"target": ["email"]}
    assert raised.value.code == "P2002"


def test_foreign_key_violation_names_the_constraint(db: Any, conformance: Conformance) -> None:
    """PostgreSQL names the constraint, not the column, of a foreign key violation: so does the engine."""
    with pytest.raises(conformance.errors.ForeignKeyViolationError) as raised:
        db.post.create(data={"title": "Orphan", "authorId": 999})
    assert str(raised.value) == "Foreign key constraint violated on the constraint: `Post_authorId_fkey`"
    assert user_facing(raised.value)["meta"] == {"constraint": "Post_authorId_fkey"}


def test_not_null_violation_names_the_column(db: Any, conformance: Conformance) -> None:
    """A NOT NULL column the schema leaves optional (a drifted database) fails with P2011 naming the column."""
    db.execute_raw('ALTER TABLE "User" ALTER COLUMN age SET NOT NULL')
    try:
        with pytest.raises(conformance.errors.DataError) as raised:
            db.user.create(data={"email": "n@example.org", "name": "N"})
    finally:
        db.execute_raw('ALTER TABLE "User" ALTER COLUMN age DROP NOT NULL')
    assert raised.value.code == "P2011"
    assert str(raised.value) == "Null constraint violation on the fields: (`age`)"
    assert user_facing(raised.value)["meta"] == {"constraint": ["age"]}


def test_check_violation_reads_as_the_native_query_error(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.DataError) as raised:
        db.user.create(data={"email": "c@example.org", "name": "C", "age": -1})
    message = str(raised.value)
    assert message.startswith("Error occurred during query execution:\nConnectorError(ConnectorError {")
    assert 'code: "23514", message: "new row for relation \\"User\\" violates check constraint' in message
    assert raised.value.code is None


def test_value_too_long_for_its_column(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.DataError) as raised:
        db.sample.create(data={"code": "123456789"})
    assert raised.value.code == "P2000"
    assert (
        str(raised.value)
        == "The provided value for the column is too long for the column's type. Column: (not available)"
    )


def test_record_not_found(db: Any, conformance: Conformance) -> None:
    for find in (db.user.find_unique_or_raise, db.user.find_first_or_raise):
        with pytest.raises(conformance.errors.RecordNotFoundError) as raised:
            find(where={"id": 404})
        assert user_facing(raised.value)["meta"] == {"cause": "No record was found for a query."}
    assert db.user.update(where={"id": 404}, data={"name": "x"}) is None
    assert db.user.delete(where={"id": 404}) is None


def test_missing_required_value(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.MissingRequiredValueError) as raised:
        db.user.create(data={"email": "no-name@example.org"})
    assert "`data.name`: A value is required but not set" in str(raised.value)


def test_unknown_fields(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.FieldNotFoundError) as raised:
        db.user.find_many(where={"no_such_field": 1})
    assert str(raised.value) == "Could not find field at `findManyUser.where.no_such_field`"
    with pytest.raises(conformance.errors.FieldNotFoundError):
        db.post.update(where={"id": 1}, data={"author": {"disconnect": True}})


def test_raw_query_errors(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.RawQueryError) as raised:
        db.query_raw("SELECT * FROM no_such_table")
    assert str(raised.value) == 'relation "no_such_table" does not exist'
    assert user_facing(raised.value)["meta"] == {"code": "42P01", "message": 'relation "no_such_table" does not exist'}
    with pytest.raises(conformance.errors.RawQueryError) as raised:
        db.execute_raw("SELEC 1")
    assert user_facing(raised.value)["meta"]["code"] == "42601"


def test_table_not_found(db: Any, conformance: Conformance) -> None:
    db.execute_raw('ALTER TABLE "Tag" RENAME TO tag_away')
    try:
        with pytest.raises(conformance.errors.TableNotFoundError) as raised:
            db.tag.find_many()
    finally:
        db.execute_raw('ALTER TABLE tag_away RENAME TO "Tag"')
    assert str(raised.value) == "The table `public.Tag` does not exist in the current database."


def test_wrong_value_type_is_a_data_error(db: Any, conformance: Conformance) -> None:
    with pytest.raises(conformance.errors.DataError):
        db.user.create(data={"email": "t@example.org", "name": "T", "age": "not a number"})


def test_restricted_delete_fails_with_the_database_reason(db: Any, conformance: Conformance) -> None:
    author = db.user.create(data={"email": "r@example.org", "name": "R", "posts": {"create": {"title": "kept"}}})
    with pytest.raises(conformance.errors.DataError) as raised:
        db.user.delete(where={"id": author.id})
    # PostgreSQL 16 and later raise restrict_violation (23001); 15 and earlier a foreign key violation (P2003).
    message = str(raised.value)
    assert 'code: "23001"' in message or "Foreign key constraint violated" in message, message
    assert db.user.count() == 1
