"""The raw API: query_raw, query_first and execute_raw, with parameters of each type, into dictionaries and
models, alone, in batches and in transactions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tests.conformance.conftest import Conformance


def test_parameters_and_results_of_each_type(db: Any, conformance: Conformance) -> None:
    fields = conformance.fields
    row = db.query_first(
        "SELECT $1::int AS i, $2::bigint AS b, $3::float8 AS f, $4::numeric AS d, $5::bool AS t, $6::text AS s,"
        " $7::timestamptz AS ts, $8::jsonb AS j, decode($9, 'base64') AS raw, $10::text[] AS texts,"
        " $11::int[] AS ints, NULL::text AS nothing",
        42,
        2**62,
        1.5,
        Decimal("1.25"),
        True,
        "it's",
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        fields.Json({"k": [1]}),
        fields.Base64.encode(b"\x00\x01"),
        ["x", "y"],
        [1, 2],
    )
    assert row == {
        "i": 42,
        "b": 2**62,
        "f": 1.5,
        "d": 1.25,  # Prisma Client Python gives raw decimals as float
        "t": True,
        "s": "it's",
        "ts": "2024-01-02T03:04:05+00:00",  # raw date-times stay ISO text in Prisma Client Python
        "j": {"k": [1]},
        "raw": "AAE=",
        "texts": ["x", "y"],
        "ints": [1, 2],
        "nothing": None,
    }


def test_query_raw_into_a_model_and_query_first_of_nothing(db: Any, conformance: Conformance) -> None:
    db.user.create(data={"email": "m@example.org", "name": "M", "role": "admin"})
    users = db.query_raw('SELECT * FROM "User" WHERE role = $1::"Role"', "admin", model=conformance.package.models.User)
    assert [(user.email, user.role) for user in users] == [("m@example.org", "admin")]
    assert db.query_first('SELECT * FROM "User" WHERE id = $1', 12345) is None
    assert db.query_raw('SELECT * FROM "User" WHERE id = $1', 12345) == []


def test_execute_raw_counts_rows_in_a_batch_and_a_transaction(db: Any) -> None:
    db.user.create_many(data=[{"email": f"e{i}@example.org", "name": "E"} for i in range(3)])
    assert db.execute_raw('UPDATE "User" SET age = $1 WHERE name = $2', 7, "E") == 3
    with db.batch_() as batch:
        batch.execute_raw('UPDATE "User" SET age = age + 1')
    with db.tx() as tx:
        assert tx.execute_raw('DELETE FROM "User" WHERE age = $1', 8) == 3
    assert db.user.count() == 0


def test_a_raw_enum_list_comes_back_as_a_list(db: Any) -> None:
    """As the native engine: a list (adapter-pg alone read arrays of a schema's own enums as array text)."""
    db.sample.create(data={"roles": ["admin", "editor"]})
    db.sample.create(data={"roles": []})
    query = 'SELECT roles, roles::text[] AS listed, role FROM "Sample" ORDER BY id'
    expected = [
        {"roles": ["admin", "editor"], "listed": ["admin", "editor"], "role": "reader"},
        {"roles": [], "listed": [], "role": "reader"},
    ]
    assert db.query_raw(query) == expected
    with db.tx() as tx:
        assert tx.query_raw(query) == expected
    assert db.query_first('SELECT NULL::"Role"[] AS nothing, ARRAY[\'admin\', NULL]::"Role"[] AS partly') == {
        "nothing": None,
        "partly": ["admin", None],
    }
