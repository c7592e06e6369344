"""Json in every position: field, default, list, filter, nested write, batch, group by and raw result.

Prisma Client Python sends a Json value as its JSON text and reads it back the
same way (the GraphQL protocol's encoding): the database must hold the JSON
value itself, not a string of it.
"""

from __future__ import annotations

from typing import Any

from tests.conformance.conftest import Conformance

DOCUMENT = {"nested": {"list": [1, 2.5, None, True]}, "text": "x", "unicode": "ü ✓"}


def stored(db: Any, table: str, column: str) -> list[Any]:
    """The column's values as PostgreSQL holds them, with their JSON types."""
    rows = db.query_raw(
        f'SELECT "{column}" AS value, jsonb_typeof("{column}"::jsonb) AS kind FROM "{table}" ORDER BY id'
    )
    return [(row["value"], row["kind"]) for row in rows]


def test_a_json_default_reads_back_on_create_and_find(db: Any) -> None:
    """`Json @default("{}")` and a default object read back as values (issue #13: pydantic's JSON input error)."""
    created = db.sample.create(data={})
    assert created.data == {}
    assert created.extra == {"tags": ["x"], "n": 1}
    found = db.sample.find_unique_or_raise(where={"id": created.id})
    assert (found.data, found.extra) == ({}, {"tags": ["x"], "n": 1})
    assert [sample.extra for sample in db.sample.find_many()] == [{"tags": ["x"], "n": 1}]


def test_json_values_of_every_kind_are_stored_as_json(db: Any, conformance: Conformance) -> None:
    """Objects, arrays, strings, numbers, booleans and JSON null are stored as those JSON values."""
    Json = conformance.fields.Json
    values = [DOCUMENT, [1, "two"], "a string", 42, 1.5, True, None]
    for value in values:
        db.sample.create(data={"data": Json(value), "plainJson": Json(value)})
    assert [sample.data for sample in db.sample.find_many(order={"id": "asc"})] == values
    assert [value for value, _ in stored(db, "Sample", "data")] == values
    kinds = ["object", "array", "string", "number", "number", "boolean", "null"]
    assert [kind for _, kind in stored(db, "Sample", "data")] == kinds
    assert [kind for _, kind in stored(db, "Sample", "plainJson")] == kinds


def test_json_lists_round_trip_and_update(db: Any, conformance: Conformance) -> None:
    Json = conformance.fields.Json
    sample = db.sample.create(data={"jsons": [Json({"a": 1}), Json([2]), Json("s")]})
    assert sample.jsons == [{"a": 1}, [2], "s"]
    updated = db.sample.update(where={"id": sample.id}, data={"jsons": {"push": [Json({"b": 2})]}})
    assert updated.jsons == [{"a": 1}, [2], "s", {"b": 2}]
    replaced = db.sample.update(where={"id": sample.id}, data={"jsons": {"set": [Json(None)]}})
    assert replaced.jsons == [None]
    row = db.query_first('SELECT jsonb_typeof(jsons[1]) AS kind FROM "Sample" WHERE id = $1', sample.id)
    assert row["kind"] == "null"


def test_json_filters_equals_and_not(db: Any, conformance: Conformance) -> None:
    Json = conformance.fields.Json
    db.sample.create(data={"data": Json({"k": 1})})
    db.sample.create(data={"data": Json({"k": 2})})
    assert [s.data for s in db.sample.find_many(where={"data": {"equals": Json({"k": 1})}})] == [{"k": 1}]
    assert [s.data for s in db.sample.find_many(where={"data": {"not": Json({"k": 1})}})] == [{"k": 2}]


def test_json_list_filters(db: Any, conformance: Conformance) -> None:
    Json = conformance.fields.Json
    db.sample.create(data={"jsons": [Json({"a": 1}), Json(2)]})
    db.sample.create(data={"jsons": [Json(3)]})
    assert db.sample.count(where={"jsons": {"has": Json({"a": 1})}}) == 1
    assert db.sample.count(where={"jsons": {"has_some": [Json(3), Json(4)]}}) == 1
    assert db.sample.count(where={"jsons": {"has_every": [Json({"a": 1}), Json(2)]}}) == 1
    assert db.sample.count(where={"jsons": {"equals": [Json(3)]}}) == 1


def test_json_in_nested_writes_and_relation_filters(db: Any, conformance: Conformance) -> None:
    """Json of a related model, written through a nested create and filtered through a relation."""
    Json = conformance.fields.Json
    user = db.user.create(
        data={
            "email": "j@example.org",
            "name": "J",
            "settings": Json({"lang": "en"}),
            "profile": {"create": {"bio": "b", "prefs": Json({"theme": "dark"})}},
            "posts": {"create": [{"title": "t1", "meta": Json(["m"])}, {"title": "t2"}]},
        },
        include={"profile": True, "posts": {"order_by": {"id": "asc"}}},
    )
    assert user.settings == {"lang": "en"}
    assert user.profile.prefs == {"theme": "dark"}
    assert [post.meta for post in user.posts] == [["m"], None]
    assert db.user.count(where={"posts": {"some": {"meta": {"equals": Json(["m"])}}}}) == 1
    assert db.user.count(where={"profile": {"is": {"prefs": {"equals": Json({"theme": "dark"})}}}}) == 1
    included = db.user.find_first_or_raise(include={"posts": {"where": {"meta": {"equals": Json(["m"])}}}})
    assert [post.title for post in included.posts] == ["t1"]
    updated = db.user.update(
        where={"id": user.id},
        data={"profile": {"update": {"prefs": Json({"theme": "light"})}}},
        include={"profile": True},
    )
    assert updated.profile.prefs == {"theme": "light"}
    assert stored(db, "Profile", "prefs") == [({"theme": "light"}, "object")]


def test_json_in_create_many_upsert_update_many_and_batch(db: Any, conformance: Conformance) -> None:
    Json = conformance.fields.Json
    assert db.sample.create_many(data=[{"data": Json({"i": i})} for i in range(3)]) == 3
    created = db.sample.upsert(
        where={"id": 100}, data={"create": {"id": 100, "data": Json([100])}, "update": {"data": Json([0])}}
    )
    assert created.data == [100]
    updated = db.sample.upsert(
        where={"id": 100}, data={"create": {"id": 100, "data": Json([100])}, "update": {"data": Json([101])}}
    )
    assert updated.data == [101]
    assert db.sample.update_many(where={"data": {"equals": Json({"i": 0})}}, data={"extra": Json("zero")}) == 1
    with db.batch_() as batch:
        batch.sample.create(data={"data": Json({"batch": True})})
        batch.sample.update_many(where={"data": {"equals": Json({"i": 1})}}, data={"extra": Json("one")})
    assert db.sample.count(where={"extra": {"equals": Json("one")}}) == 1
    assert db.sample.count(where={"data": {"equals": Json({"batch": True})}}) == 1
    assert [kind for _, kind in stored(db, "Sample", "extra")].count("string") == 2


def test_group_by_a_model_with_json_fields(db: Any, conformance: Conformance) -> None:
    Json = conformance.fields.Json
    for label in ("a", "a", "b"):
        db.sample.create(data={"label": label, "data": Json({"label": label})})
    groups = db.sample.group_by(["label"], count={"_all": True}, order={"label": "asc"})
    assert [(group["label"], group["_count"]["_all"]) for group in groups] == [("a", 2), ("b", 1)]


def test_raw_results_hold_json_values(db: Any, conformance: Conformance) -> None:
    """Raw rows carry Json as values, even an object shaped like the JSON protocol's tagged values."""
    Json = conformance.fields.Json
    db.sample.create(data={"data": Json({"$type": "Json", "value": "x"})})
    row = db.query_first('SELECT data, $1::jsonb AS parameter FROM "Sample"', Json([1, {"a": None}]))
    assert row["data"] == {"$type": "Json", "value": "x"}
    assert row["parameter"] == [1, {"a": None}]
    user = db.user.create(data={"email": "r@example.org", "name": "R", "profile": {"create": {"bio": "b"}}})
    profiles = db.query_raw(
        'SELECT * FROM "Profile" WHERE "userId" = $1', user.id, model=conformance.package.models.Profile
    )
    assert [profile.prefs for profile in profiles] == [{"theme": "light"}]
