"""Every action of the model API: finds with every filter, order, pagination and distinct; writes; counts,
aggregates and group by."""

from __future__ import annotations

from typing import Any

import pytest

PEOPLE = [
    {"email": "ada@example.org", "name": "Ada", "age": 36, "role": "admin"},
    {"email": "bob@example.org", "name": "Bob", "age": 25, "role": "reader"},
    {"email": "cyd@example.org", "name": "cyd", "age": None, "role": "editor"},
    {"email": "dan@example.org", "name": "Dan", "age": 52, "role": "admin"},
    {"email": "eve@example.org", "name": "Eve", "age": 25, "role": "reader"},
]


@pytest.fixture
def people(db: Any) -> Any:
    assert db.user.create_many(data=PEOPLE) == len(PEOPLE)
    return db


def names(users: list[Any]) -> list[str]:
    return [user.name for user in users]


def test_create_and_create_many_skip_duplicates(db: Any) -> None:
    created = db.user.create(data={"email": "new@example.org", "name": "New"})
    assert (created.id, created.role, created.age) == (1, "reader", None)
    more = [{"email": "new@example.org", "name": "Again"}, {"email": "other@example.org", "name": "Other"}]
    assert db.user.create_many(data=more, skip_duplicates=True) == 1
    assert db.user.count() == 2


def test_find_unique_first_and_or_raise(people: Any) -> None:
    assert people.user.find_unique(where={"email": "bob@example.org"}).name == "Bob"
    assert people.user.find_unique(where={"email": "nobody@example.org"}) is None
    assert people.user.find_unique_or_raise(where={"id": 1}).name == "Ada"
    assert people.user.find_first(where={"role": "admin"}, order={"age": "desc"}).name == "Dan"
    assert people.user.find_first(where={"age": {"gt": 100}}) is None
    assert people.user.find_first_or_raise(where={"name": "Eve"}).age == 25


def test_scalar_filters(people: Any) -> None:
    find = people.user.find_many
    by_id = {"id": "asc"}
    assert names(find(where={"age": {"gte": 36}}, order=by_id)) == ["Ada", "Dan"]
    assert names(find(where={"age": {"lt": 30, "not": 25}}, order=by_id)) == []
    assert names(find(where={"age": {"in": [25, 52]}}, order=by_id)) == ["Bob", "Dan", "Eve"]
    assert names(find(where={"age": {"not_in": [25, 52]}}, order=by_id)) == ["Ada"]
    assert names(find(where={"age": None})) == ["cyd"]
    assert names(find(where={"NOT": [{"age": None}], "age": {"lte": 25}}, order=by_id)) == ["Bob", "Eve"]
    assert names(find(where={"email": {"startswith": "b"}})) == ["Bob"]
    assert names(find(where={"email": {"endswith": "n@example.org"}})) == ["Dan"]
    assert names(find(where={"name": {"contains": "CY"}})) == []
    assert names(find(where={"name": {"contains": "CY", "mode": "insensitive"}})) == ["cyd"]
    assert names(find(where={"name": {"equals": "ADA", "mode": "insensitive"}})) == ["Ada"]
    assert names(find(where={"OR": [{"name": "Bob"}, {"age": {"gte": 50}}]}, order=by_id)) == ["Bob", "Dan"]
    assert names(find(where={"AND": [{"role": "admin"}, {"age": {"lt": 50}}]})) == ["Ada"]


def test_order_pagination_and_distinct(people: Any) -> None:
    find = people.user.find_many
    assert names(find(order=[{"age": "asc"}, {"name": "desc"}], take=3)) == ["Eve", "Bob", "Ada"]
    assert names(find(order={"id": "asc"}, skip=3)) == ["Dan", "Eve"]
    assert names(find(order={"id": "asc"}, cursor={"id": 2}, take=2)) == ["Bob", "cyd"]
    assert names(find(order={"id": "asc"}, cursor={"id": 4}, take=-2)) == ["cyd", "Dan"]
    distinct = find(distinct=["role"], order={"role": "asc"})
    assert [user.role for user in distinct] == ["reader", "editor", "admin"]


def test_updates_upserts_and_deletes(people: Any) -> None:
    updated = people.user.update(where={"email": "bob@example.org"}, data={"age": {"increment": 1}, "name": "Robert"})
    assert (updated.name, updated.age) == ("Robert", 26)
    assert people.user.update_many(where={"role": "reader"}, data={"role": "editor"}) == 2
    created = people.user.upsert(
        where={"email": "fay@example.org"},
        data={"create": {"email": "fay@example.org", "name": "Fay"}, "update": {"name": "Fay 2"}},
    )
    assert created.name == "Fay"
    updated = people.user.upsert(
        where={"email": "fay@example.org"},
        data={"create": {"email": "fay@example.org", "name": "Fay"}, "update": {"name": "Fay 2"}},
    )
    assert (updated.id, updated.name) == (created.id, "Fay 2")
    assert people.user.delete(where={"email": "fay@example.org"}).name == "Fay 2"
    assert people.user.delete_many(where={"role": "editor"}) == 3
    assert people.user.count() == 2


def test_count_and_aggregates(people: Any) -> None:
    assert people.user.count() == 5
    assert people.user.count(where={"age": 25}) == 2
    assert people.user.count(select={"_all": True, "age": True}) == {"_all": 5, "age": 4}
    assert people.user.count(take=2, skip=1) == 2
    aggregates = people.sample.create_many(data=[{"count": 1, "ratio": 0.5}, {"count": 4, "ratio": 1.5}])
    assert aggregates == 2
    result = people.sample.group_by(
        ["flag"], sum={"count": True}, avg={"ratio": True}, min={"count": True}, max={"count": True}
    )
    assert result == [
        {"flag": True, "_sum": {"count": 5}, "_avg": {"ratio": 1.0}, "_min": {"count": 1}, "_max": {"count": 4}}
    ]


def test_group_by_with_having_order_take_and_skip(people: Any) -> None:
    groups = people.user.group_by(
        ["role"], count={"_all": True}, avg={"age": True}, order={"role": "asc"}, having={"age": {"_avg": {"gt": 30}}}
    )
    assert groups == [{"role": "admin", "_count": {"_all": 2}, "_avg": {"age": 44.0}}]
    paged = people.user.group_by(["age"], count={"_all": True}, order={"age": "asc"}, take=2, skip=1)
    assert [(group["age"], group["_count"]["_all"]) for group in paged] == [(36, 1), (52, 1)]


def test_select_and_partial_results(people: Any) -> None:
    assert people.user.find_first_or_raise(where={"id": 1}).email == "ada@example.org"
    assert people.user.count(where={"profile": None}) == 5
