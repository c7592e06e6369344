"""Every scalar type of the PostgreSQL provider, in models and in raw queries, through the bridge."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

EVERY_TYPE = {
    "email": "types@example.org",
    "name": "Types",
    "nickname": "ünïcødé ✓ 'quoted' \"double\" \\ backslash",
    "age": 2_147_483_647,
    "balance": Decimal("12345678.9012"),
    "bigNumber": 9_223_372_036_854_775_807,
    # The engine keeps 15 significant digits of a Float (0.1 + 0.2 is stored as 0.3,
    # in process too, without the bridge), so use a value that has no more.
    "rating": -1234.56789012345,
    "active": False,
    "level": "medium",
    "levels": ["high", "low"],
    "tags": ["a", "b, c", ""],
    "scores": [-1, 0, 2_147_483_647],
    "bornAt": dt.datetime(1815, 12, 10, 8, 30, 15, 123000, tzinfo=dt.UTC),
}


async def test_every_scalar_type_round_trips(db: Any, generated_client: Any) -> None:
    """What is written comes back equal, for each scalar and list type."""
    data = {
        **EVERY_TYPE,
        "metadata": generated_client.Json({"nested": {"list": [1, 2.5, None, True]}, "text": "x"}),
        "avatar": generated_client.Base64.encode(bytes(range(256))),
    }
    created = await db.author.create(data=data)
    found = await db.author.find_unique_or_raise(where={"id": created.id})
    for record in (created, found):
        for field, value in EVERY_TYPE.items():
            assert getattr(record, field) == value, field
        assert record.metadata == {"nested": {"list": [1, 2.5, None, True]}, "text": "x"}
        assert record.avatar.decode() == bytes(range(256))


async def test_big_integers_keep_every_digit_in_filters(db: Any) -> None:
    """Integers beyond 2^53 are exact in arguments, not rounded through floating point."""
    await db.author.create(data={"email": "big@example.org", "name": "Big", "bigNumber": 2**53 + 1})
    assert await db.author.count(where={"bigNumber": 2**53 + 1}) == 1
    assert await db.author.count(where={"bigNumber": 2**53}) == 0


async def test_decimal_and_datetime_filters(db: Any) -> None:
    await db.author.create(data={**EVERY_TYPE})
    assert await db.author.count(where={"balance": {"gt": Decimal("12345678.9011")}}) == 1
    assert await db.author.count(where={"bornAt": {"lt": dt.datetime(1816, 1, 1, tzinfo=dt.UTC)}}) == 1


async def test_json_null_and_optional_fields_stay_null(db: Any) -> None:
    author = await db.author.create(data={"email": "n@example.org", "name": "N"})
    assert author.metadata is None
    assert author.avatar is None
    assert author.bornAt is None


async def test_query_raw_into_a_model(db: Any, generated_client: Any) -> None:
    await db.author.create(data={"email": "m@example.org", "name": "M", "level": "high"})
    authors = await db.query_raw(
        'SELECT * FROM "Author" WHERE level = $1::"Level"', "high", model=generated_client.models.Author
    )
    assert [a.email for a in authors] == ["m@example.org"]


async def test_execute_raw_returns_affected_rows(db: Any) -> None:
    await db.author.create_many(data=[{"email": f"e{i}@example.org", "name": "E"} for i in range(3)])
    assert await db.execute_raw('UPDATE "Author" SET age = $1 WHERE name = $2', 7, "E") == 3
    assert await db.author.count(where={"age": 7}) == 3


async def test_query_first_returns_none_for_no_rows(db: Any) -> None:
    assert await db.query_first('SELECT * FROM "Author" WHERE id = $1', 12345) is None


# Raw queries skip the graphql parser when their literals are JSON strings too (engine/bridge/protocol.mjs);
# a literal text "\u{41}" in the SQL makes one take the parser: both ways must give the same values.
TRICKY_TEXTS = [
    '"quoted" \\ back\\slash \\" both',
    "line\nbreak\ttab\r",
    "ünïcødé ✓ 😀",
    "\\u{41} not an escape",
]


async def test_raw_query_texts_round_trip_exactly(db: Any) -> None:
    """SQL text and parameters with quotes, backslashes, control and non-ASCII characters arrive unchanged."""
    for text in TRICKY_TEXTS:
        row = await db.query_first(f"SELECT $1::text AS parameter, '{text}' AS literal", text)
        assert (row["parameter"], row["literal"]) == (text, text)
    big = "".join(TRICKY_TEXTS) * 50_000  # about 3 MB, like one statement of the seed
    row = await db.query_first("SELECT length($1::text) AS length, md5($1::text) AS digest", big)
    assert row["length"] == len(big)
    assert row["digest"] == hashlib.md5(big.encode()).hexdigest()
