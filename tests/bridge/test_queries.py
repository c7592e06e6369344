"""The Prisma Client Python query API, run through the bridge on the real WebAssembly engine."""

from __future__ import annotations

import importlib
from typing import Any

import pytest


async def make_authors(db: Any) -> list[Any]:
    data = [
        {"email": "ada@example.org", "name": "Ada", "age": 36, "level": "high", "tags": ["math", "poetry"]},
        {"email": "bob@example.org", "name": "Bob", "age": 25, "level": "low", "tags": ["sql"]},
        {"email": "cyd@example.org", "name": "cyd", "age": None, "level": "medium", "tags": []},
        {"email": "dan@example.org", "name": "Dan", "age": 52, "level": "high", "tags": ["aml", "sql"]},
    ]
    return [await db.author.create(data=row) for row in data]


async def test_create_returns_the_record_with_defaults(db: Any) -> None:
    author = await db.author.create(data={"email": "ada@example.org", "name": "Ada"})
    assert author.id == 1
    assert author.email == "ada@example.org"
    assert author.active is True
    assert author.level == "low"
    assert author.nickname is None


async def test_create_many_counts_and_skips_duplicates(db: Any) -> None:
    data = [{"email": f"u{i}@example.org", "name": f"U{i}"} for i in range(5)]
    assert await db.author.create_many(data=data) == 5
    assert (
        await db.author.create_many(data=[*data[:2], {"email": "new@example.org", "name": "N"}], skip_duplicates=True)
        == 1
    )
    assert await db.author.count() == 6


async def test_find_unique_and_or_raise(db: Any) -> None:
    await make_authors(db)
    found = await db.author.find_unique(where={"email": "bob@example.org"})
    assert found is not None and found.name == "Bob"
    assert await db.author.find_unique(where={"email": "nobody@example.org"}) is None
    assert (await db.author.find_unique_or_raise(where={"id": 1})).email == "ada@example.org"


async def test_find_unique_by_composite_key(db: Any) -> None:
    author = await db.author.create(data={"email": "ada@example.org", "name": "Ada"})
    await db.article.create(data={"title": "Notes", "author": {"connect": {"id": author.id}}})
    found = await db.article.find_unique(where={"authorId_title": {"authorId": author.id, "title": "Notes"}})
    assert found is not None and found.title == "Notes"


async def test_find_first_and_or_raise(db: Any) -> None:
    await make_authors(db)
    first = await db.author.find_first(where={"level": "high"}, order={"age": "desc"})
    assert first is not None and first.name == "Dan"
    assert await db.author.find_first(where={"age": {"gt": 100}}) is None
    assert (await db.author.find_first_or_raise(where={"name": "Bob"})).age == 25


async def test_where_and_or_not(db: Any) -> None:
    await make_authors(db)
    both = await db.author.find_many(where={"AND": [{"level": "high"}, {"age": {"lt": 50}}]})
    assert [a.name for a in both] == ["Ada"]
    either = await db.author.find_many(where={"OR": [{"name": "Bob"}, {"age": {"gte": 50}}]}, order={"id": "asc"})
    assert [a.name for a in either] == ["Bob", "Dan"]
    negated = await db.author.find_many(where={"NOT": [{"level": "high"}]}, order={"id": "asc"})
    assert [a.name for a in negated] == ["Bob", "cyd"]


async def test_string_filters_and_insensitive_mode(db: Any) -> None:
    await make_authors(db)
    assert [a.name for a in await db.author.find_many(where={"email": {"startswith": "b"}})] == ["Bob"]
    assert [a.name for a in await db.author.find_many(where={"email": {"endswith": "n@example.org"}})] == ["Dan"]
    assert [a.name for a in await db.author.find_many(where={"name": {"contains": "CY"}})] == []
    insensitive = await db.author.find_many(where={"name": {"contains": "CY", "mode": "insensitive"}})
    assert [a.name for a in insensitive] == ["cyd"]
    assert [a.name for a in await db.author.find_many(where={"name": {"in": ["Ada", "Dan"]}}, order={"id": "asc"})] == [
        "Ada",
        "Dan",
    ]


async def test_number_and_null_filters(db: Any) -> None:
    await make_authors(db)
    assert [a.name for a in await db.author.find_many(where={"age": {"gte": 25, "lte": 36}}, order={"age": "asc"})] == [
        "Bob",
        "Ada",
    ]
    assert [a.name for a in await db.author.find_many(where={"age": None})] == ["cyd"]
    assert [a.name for a in await db.author.find_many(where={"age": {"not": None, "gt": 40}})] == ["Dan"]


async def test_scalar_list_filters(db: Any) -> None:
    await make_authors(db)
    assert [a.name for a in await db.author.find_many(where={"tags": {"has": "sql"}}, order={"id": "asc"})] == [
        "Bob",
        "Dan",
    ]
    assert [a.name for a in await db.author.find_many(where={"tags": {"has_every": ["aml", "sql"]}})] == ["Dan"]
    assert [a.name for a in await db.author.find_many(where={"tags": {"is_empty": True}})] == ["cyd"]


async def test_relation_filters(db: Any) -> None:
    ada, bob, *_ = await make_authors(db)
    await db.article.create(data={"title": "A1", "published": True, "author": {"connect": {"id": ada.id}}})
    await db.article.create(data={"title": "B1", "published": False, "author": {"connect": {"id": bob.id}}})
    await db.profile.create(data={"bio": "Mathematician", "author": {"connect": {"id": ada.id}}})
    some = await db.author.find_many(where={"articles": {"some": {"published": True}}})
    assert [a.name for a in some] == ["Ada"]
    none = await db.author.find_many(where={"articles": {"none": {}}}, order={"id": "asc"})
    assert [a.name for a in none] == ["cyd", "Dan"]
    with_profile = await db.author.find_many(where={"profile": {"is": {"bio": {"contains": "Math"}}}})
    assert [a.name for a in with_profile] == ["Ada"]
    by_author = await db.article.find_many(where={"author": {"is": {"name": "Bob"}}})
    assert [a.title for a in by_author] == ["B1"]


async def test_order_by_relation_and_several_fields(db: Any) -> None:
    ada, bob, *_ = await make_authors(db)
    for author, title in ((bob, "Zeta"), (ada, "Alpha"), (bob, "Beta")):
        await db.article.create(data={"title": title, "author": {"connect": {"id": author.id}}})
    ordered = await db.article.find_many(order=[{"author": {"name": "asc"}}, {"title": "desc"}])
    assert [a.title for a in ordered] == ["Alpha", "Zeta", "Beta"]


async def test_take_skip_and_cursor(db: Any) -> None:
    await db.author.create_many(data=[{"email": f"u{i}@example.org", "name": f"U{i}"} for i in range(10)])
    page = await db.author.find_many(take=3, skip=2, order={"id": "asc"})
    assert [a.id for a in page] == [3, 4, 5]
    after = await db.author.find_many(cursor={"id": 5}, skip=1, take=2, order={"id": "asc"})
    assert [a.id for a in after] == [6, 7]
    last = await db.author.find_many(take=-2, order={"id": "asc"})
    assert [a.id for a in last] == [9, 10]


async def test_distinct(db: Any) -> None:
    await make_authors(db)
    levels = await db.author.find_many(distinct=["level"], order={"level": "asc"})
    assert [a.level for a in levels] == ["low", "medium", "high"]


async def test_nested_include_with_filters(db: Any) -> None:
    ada, *_ = await make_authors(db)
    finance = await db.category.create(data={"name": "finance"})
    for title, published in (("Draft", False), ("Final", True), ("Other", True)):
        await db.article.create(
            data={
                "title": title,
                "published": published,
                "author": {"connect": {"id": ada.id}},
                "categories": {"connect": [{"id": finance.id}]},
            }
        )
    await db.profile.create(data={"bio": "Hi", "author": {"connect": {"id": ada.id}}})
    author = await db.author.find_unique(
        where={"id": ada.id},
        include={
            "profile": True,
            "articles": {
                "where": {"published": True},
                "order_by": {"title": "desc"},
                "take": 1,
                "include": {"categories": True},
            },
        },
    )
    assert author.profile.bio == "Hi"
    assert [a.title for a in author.articles] == ["Other"]
    assert [c.name for c in author.articles[0].categories] == ["finance"]


async def test_many_to_many_connect_and_disconnect(db: Any) -> None:
    ada, *_ = await make_authors(db)
    article = await db.article.create(
        data={
            "title": "T",
            "author": {"connect": {"id": ada.id}},
            "categories": {"create": [{"name": "aml"}, {"name": "kyc"}]},
        },
        include={"categories": True},
    )
    assert sorted(c.name for c in article.categories) == ["aml", "kyc"]
    updated = await db.article.update(
        where={"id": article.id}, data={"categories": {"disconnect": [{"name": "aml"}]}}, include={"categories": True}
    )
    assert [c.name for c in updated.categories] == ["kyc"]
    category = await db.category.find_unique(where={"name": "kyc"}, include={"articles": True})
    assert [a.title for a in category.articles] == ["T"]


async def test_update_with_atomic_number_operations(db: Any) -> None:
    ada, *_ = await make_authors(db)
    updated = await db.author.update(
        where={"id": ada.id}, data={"age": {"increment": 4}, "rating": {"multiply": 2}, "bigNumber": {"decrement": 5}}
    )
    assert updated.age == 40
    assert updated.bigNumber == -5
    again = await db.author.update(where={"id": ada.id}, data={"age": {"divide": 2}})
    assert again.age == 20
    assert await db.author.update(where={"id": 999}, data={"name": "nobody"}) is None


async def test_update_many_counts(db: Any) -> None:
    await make_authors(db)
    assert await db.author.update_many(where={"level": "high"}, data={"active": False}) == 2
    assert await db.author.count(where={"active": False}) == 2


async def test_upsert_creates_then_updates(db: Any) -> None:
    data = {"create": {"email": "eve@example.org", "name": "Eve"}, "update": {"name": "Eve Updated"}}
    created = await db.author.upsert(where={"email": "eve@example.org"}, data=data)
    updated = await db.author.upsert(where={"email": "eve@example.org"}, data=data)
    assert created.name == "Eve"
    assert updated.name == "Eve Updated"
    assert created.id == updated.id


async def test_delete_and_delete_many(db: Any) -> None:
    await make_authors(db)
    deleted = await db.author.delete(where={"email": "ada@example.org"})
    assert deleted is not None and deleted.name == "Ada"
    assert await db.author.delete(where={"email": "ada@example.org"}) is None
    assert await db.author.delete_many(where={"level": "high"}) == 1
    assert await db.author.delete_many() == 2


async def test_count_with_filters_and_selected_fields(db: Any) -> None:
    await make_authors(db)
    assert await db.author.count() == 4
    assert await db.author.count(where={"level": "high"}) == 2
    counts = await db.author.count(select={"_all": True, "age": True})
    assert counts == {"_all": 4, "age": 3}


async def test_group_by_with_aggregates_and_having(db: Any) -> None:
    await make_authors(db)
    groups = await db.author.group_by(
        by=["level"],
        count=True,
        avg={"age": True},
        max={"age": True},
        sum={"age": True},
        order={"level": "asc"},
    )
    by_level = {group["level"]: group for group in groups}
    assert by_level["high"]["_count"]["_all"] == 2
    assert by_level["high"]["_avg"]["age"] == 44
    assert by_level["high"]["_sum"]["age"] == 88
    assert by_level["medium"]["_max"]["age"] is None
    having = await db.author.group_by(by=["level"], count=True, having={"age": {"_avg": {"gt": 30}}})
    assert [group["level"] for group in having] == ["high"]


async def test_the_query_builder_works_out_a_models_relation_fields_once(
    db: Any, generated_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = importlib.import_module(f"{generated_client.__name__}._builder")
    checked: list[tuple[str, str]] = []
    uncached = builder._field_is_prisma_model_uncached
    monkeypatch.setattr(
        builder,
        "_field_is_prisma_model_uncached",
        lambda field, *, name, parent: (
            checked.append((parent.__name__, name)) or uncached(field, name=name, parent=parent)
        ),
    )
    monkeypatch.setattr(builder, "_relation_fields", type(builder._relation_fields)())
    await make_authors(db)
    first = await db.author.find_many(order={"id": "asc"})
    with_profiles = await db.author.find_many(order={"id": "asc"}, include={"profile": True})
    checks = len(checked)
    assert {("Author", "email"), ("Author", "profile"), ("Profile", "id")} <= set(checked)
    assert checks == len(set(checked))
    again = [await db.author.find_many(order={"id": "asc"}, include={"profile": True}) for _ in range(3)]
    assert len(checked) == checks
    # Still the scalars by default, and the relation when asked for.
    assert all(authors == with_profiles for authors in again)
    assert "profile" not in first[0].model_fields_set and "profile" in with_profiles[0].model_fields_set


async def test_line_separators_in_strings_reach_the_database_unchanged(db: Any) -> None:
    # Prisma Client Python 0.15 indented its query with textwrap.indent, which broke lines at these too.
    text = "a\u2028b\u2029c\x85d\ne"
    author = await db.author.create(data={"email": "ada@example.org", "name": text, "tags": [text]})
    assert author.name == text and author.tags == [text]
    found = await db.author.find_first(where={"name": text})
    assert found is not None and found.name == text
    rows = await db.query_raw('SELECT name FROM "Author" WHERE name = $1', text)
    assert rows == [{"name": text}]
