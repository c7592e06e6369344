"""Every relation kind with nested writes, include and relation filters: one-to-one, one-to-many required and
optional, self relation, implicit and explicit many-to-many."""

from __future__ import annotations

from typing import Any


def test_one_to_one_nested_writes(db: Any) -> None:
    user = db.user.create(
        data={"email": "a@example.org", "name": "A", "profile": {"create": {"bio": "hello"}}}, include={"profile": True}
    )
    assert user.profile.bio == "hello"
    updated = db.user.update(
        where={"id": user.id},
        data={"profile": {"upsert": {"create": {"bio": "x"}, "update": {"bio": "again"}}}},
        include={"profile": True},
    )
    assert updated.profile.bio == "again"
    assert db.user.count(where={"profile": {"is": {"bio": "again"}}}) == 1
    assert db.user.count(where={"profile": {"is_not": {"bio": "again"}}}) == 0
    db.user.update(where={"id": user.id}, data={"profile": {"delete": True}})
    assert db.profile.count() == 0
    db.profile.create(data={"bio": "cascade", "user": {"connect": {"id": user.id}}})
    db.user.delete(where={"id": user.id})
    assert db.profile.count() == 0


def test_one_to_many_nested_writes_and_filters(db: Any) -> None:
    author = db.user.create(
        data={
            "email": "w@example.org",
            "name": "W",
            "posts": {"create": [{"title": "one", "views": 5}, {"title": "two"}]},
        }
    )
    reviewer = db.user.create(data={"email": "r@example.org", "name": "R"})
    db.post.update_many(where={"views": 0}, data={"published": True})
    db.user.update(
        where={"id": author.id},
        data={
            "posts": {"create": [{"title": "three", "published": True, "reviewer": {"connect": {"id": reviewer.id}}}]}
        },
    )
    found = db.user.find_unique_or_raise(
        where={"id": author.id}, include={"posts": {"where": {"published": True}, "order_by": {"title": "desc"}}}
    )
    assert [post.title for post in found.posts] == ["two", "three"]
    assert db.user.count(where={"posts": {"some": {"views": {"gt": 1}}}}) == 1
    assert db.user.count(where={"posts": {"every": {"published": True}}}) == 1  # the reviewer: no posts
    assert db.user.count(where={"posts": {"none": {}}}) == 1
    assert db.post.count(where={"reviewer": {"is": {"name": "R"}}}) == 1
    assert db.post.count(where={"reviewer": None}) == 2
    one = db.post.find_first_or_raise(where={"title": "one"})
    db.user.update(where={"id": author.id}, data={"posts": {"delete": [{"id": one.id}]}})
    assert db.post.count() == 2
    post = db.post.find_unique_or_raise(where={"authorId_title": {"authorId": author.id, "title": "two"}})
    assert post.title == "two"


def test_self_relation(db: Any) -> None:
    mentor = db.user.create(
        data={"email": "m@example.org", "name": "M", "mentees": {"create": [{"email": "s@example.org", "name": "S"}]}},
        include={"mentees": True},
    )
    assert [mentee.name for mentee in mentor.mentees] == ["S"]
    student = db.user.find_unique_or_raise(where={"email": "s@example.org"}, include={"mentor": True})
    assert student.mentor.name == "M"
    db.user.delete(where={"id": mentor.id})
    assert db.user.find_unique_or_raise(where={"email": "s@example.org"}).mentorId is None


def test_implicit_many_to_many(db: Any) -> None:
    author = db.user.create(data={"email": "t@example.org", "name": "T"})
    post = db.post.create(
        data={
            "title": "tagged",
            "author": {"connect": {"id": author.id}},
            "tags": {
                "create": [{"name": "aml"}],
                "connect_or_create": [{"where": {"name": "kyc"}, "create": {"name": "kyc"}}],
            },
        },
        include={"tags": {"order_by": {"name": "asc"}}},
    )
    assert [tag.name for tag in post.tags] == ["aml", "kyc"]
    db.post.update(where={"id": post.id}, data={"tags": {"disconnect": [{"name": "aml"}]}})
    assert db.tag.count(where={"posts": {"some": {"title": "tagged"}}}) == 1
    db.post.update(where={"id": post.id}, data={"tags": {"set": []}})
    assert db.tag.count(where={"posts": {"none": {}}}) == 2


def test_explicit_many_to_many_with_a_composite_id(db: Any) -> None:
    user = db.user.create(data={"email": "e@example.org", "name": "E"})
    team = db.team.create(
        data={
            "name": "compliance",
            "memberships": {"create": [{"user": {"connect": {"id": user.id}}, "role": "admin"}]},
        }
    )
    membership = db.membership.find_unique_or_raise(
        where={"userId_teamId": {"userId": user.id, "teamId": team.id}}, include={"user": True, "team": True}
    )
    assert (membership.role, membership.user.name, membership.team.name) == ("admin", "E", "compliance")
    assert db.team.count(where={"memberships": {"some": {"user": {"is": {"email": "e@example.org"}}}}}) == 1
    db.team.delete(where={"id": team.id})
    assert db.membership.count() == 0
