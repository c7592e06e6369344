"""Every scalar and list type of PostgreSQL, with defaults, nulls and @updatedAt; enums and enum lists."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

from tests.conformance.conftest import Conformance

UTC = dt.UTC


def every_value(conformance: Conformance) -> dict[str, Any]:
    """A value of each type at its limits (`document`, @db.Xml, needs a server built with libxml: not here)."""
    fields = conformance.fields
    return {
        "uuid": "6f1c5e0a-8a0e-4c43-9a53-3f0c1b2a4d5e",
        "cuid": "custom-id",
        "label": "ünïcødé ✓ 'quoted' \"double\" \\ backslash",
        "code": "ABCDEFGH",
        "initials": "xyz",
        "note": "",
        "small": -32768,
        "count": 2_147_483_647,
        "big": -9_223_372_036_854_775_808,
        "ratio": -1234.56789012345,
        "single": 1.5,
        "price": Decimal("-12345678.99"),
        "flag": False,
        "at": dt.datetime(1815, 12, 10, 8, 30, 15, 123000, tzinfo=UTC),
        "day": dt.datetime(2024, 2, 29, tzinfo=UTC),
        "clock": dt.datetime(1970, 1, 1, 23, 59, 58, 999000, tzinfo=UTC),
        "local": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "zoned": dt.datetime(2024, 6, 30, 23, 59, 59, 999000, tzinfo=UTC),
        "clockTz": dt.datetime(1970, 1, 1, 12, 0, 1, 500000, tzinfo=UTC),
        "double": 2.5e-300,
        "oid": 4_294_967_295,
        "flags4": "0101",
        "blob": fields.Base64.encode(bytes(range(256))),
        "address": "192.168.0.1",
        "bits": "1011",
        "role": "admin",
        "roles": ["editor", "admin"],
        "texts": ["x", "y, z", ""],
        "ints": [-1, 0, 2_147_483_647],
        "bigs": [2**62, -(2**62)],
        "floats": [0.5, -2.25],
        "decimals": [Decimal("1.10"), Decimal("-0.01")],
        "flags": [True, False],
        "times": [dt.datetime(2000, 1, 1, tzinfo=UTC)],
        "blobs": [fields.Base64.encode(b"\x00\xff")],
        "uuids": [str(uuid.UUID(int=1))],
    }


def test_every_type_round_trips(db: Any, conformance: Conformance) -> None:
    values = every_value(conformance)
    created = db.sample.create(data=values)
    found = db.sample.find_unique_or_raise(where={"id": created.id})
    for record in (created, found):
        for field, value in values.items():
            got = getattr(record, field)
            if field == "blob":
                assert got.decode() == bytes(range(256))
            elif field == "blobs":
                assert [item.decode() for item in got] == [b"\x00\xff"]
            else:
                assert got == value, field


def test_defaults_and_nulls(db: Any) -> None:
    created = db.sample.create(data={})
    assert uuid.UUID(created.uuid).version == 4
    assert len(created.cuid) == 25
    assert (created.label, created.count, created.big, created.ratio) == ("plain", 7, 9007199254740993, 1.5)
    assert created.price == Decimal("12.5")
    assert created.flag is True
    assert created.role == "reader" and created.roles == ["reader"] and created.texts == ["a", "b"]
    assert abs(created.at - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)
    for optional in ("code", "initials", "note", "small", "single", "day", "clock", "local", "blob", "document"):
        assert getattr(created, optional) is None, optional
    assert created.ints == [] and created.jsons == []


def test_updated_at_changes_on_every_update(db: Any) -> None:
    created = db.sample.create(data={})
    time.sleep(0.01)
    updated = db.sample.update(where={"id": created.id}, data={"label": "changed"})
    assert updated.updatedAt > created.updatedAt
    assert updated.at == created.at


def test_enum_filters_and_enum_lists(db: Any) -> None:
    db.sample.create(data={"role": "admin", "roles": ["admin", "editor"]})
    db.sample.create(data={"role": "editor", "roles": []})
    assert db.sample.count(where={"role": "admin"}) == 1
    assert db.sample.count(where={"role": {"in": ["admin", "editor"]}}) == 2
    assert db.sample.count(where={"role": {"not": "admin"}}) == 1
    assert db.sample.count(where={"roles": {"has": "editor"}}) == 1
    assert db.sample.count(where={"roles": {"has_every": ["admin", "editor"]}}) == 1
    assert db.sample.count(where={"roles": {"is_empty": True}}) == 1
    pushed = db.sample.update_many(where={"role": "editor"}, data={"roles": {"push": ["reader"]}})
    assert pushed == 1
    assert db.sample.find_first_or_raise(where={"role": "editor"}).roles == ["reader"]


def test_scalar_list_operations(db: Any) -> None:
    sample = db.sample.create(data={"ints": [1, 2], "texts": ["a"]})
    assert db.sample.count(where={"ints": {"has_some": [2, 3]}}) == 1
    assert db.sample.count(where={"texts": {"equals": ["a"]}}) == 1
    updated = db.sample.update(where={"id": sample.id}, data={"ints": {"push": [3]}, "texts": {"set": ["b", "c"]}})
    assert (updated.ints, updated.texts) == ([1, 2, 3], ["b", "c"])


def test_numeric_operations_and_filters(db: Any) -> None:
    sample = db.sample.create(data={"count": 1, "big": 2**53, "ratio": 1.0, "price": Decimal("1.25")})
    updated = db.sample.update(
        where={"id": sample.id},
        data={"count": {"increment": 2}, "big": {"multiply": 2}, "ratio": {"divide": 4}, "small": {"set": 5}},
    )
    assert (updated.count, updated.big, updated.ratio, updated.small) == (3, 2**54, 0.25, 5)
    assert db.sample.count(where={"big": 2**54}) == 1
    assert db.sample.count(where={"price": {"gte": Decimal("1.25"), "lt": Decimal("1.26")}}) == 1
    assert db.sample.count(where={"at": {"lt": dt.datetime.now(UTC) + dt.timedelta(hours=1)}}) == 1
    assert db.sample.count(where={"blob": None}) == 1


def test_a_money_column_reads_back_as_a_decimal(db: Any) -> None:
    """As the native engine, which reads money as a number: not PostgreSQL's text of it ('$1,234.56')."""
    assert db.sample.create(data={"money": Decimal("1234567.89")}).money == Decimal("1234567.89")
    assert db.sample.create(data={"money": Decimal("-0.05")}).money == Decimal("-0.05")
    found = db.sample.find_many(where={"money": {"gt": Decimal("0")}})
    assert [sample.money for sample in found] == [Decimal("1234567.89")]
    assert db.query_raw('SELECT money FROM "Sample" ORDER BY id') == [{"money": 1234567.89}, {"money": -0.05}]
