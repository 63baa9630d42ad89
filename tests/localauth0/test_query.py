"""The local Auth0's search syntax (aai_cli/localauth0/query.py) and its index-backed paging."""

from __future__ import annotations

import pytest

from aai_cli.localauth0.query import QueryError, normalise_date, parse_query
from aai_cli.localauth0.store import TenantStore

ADA = {
    "user_id": "auth0|1",
    "email": "ada@uni.edu.au",
    "name": "Ada Lovelace",
    "username": "ada",
    "blocked": True,
    "logins_count": 12,
    "updated_at": "2026-03-01T10:00:00.000Z",
    "identities": [{"connection": "Username-Password-Authentication"}],
    "app_metadata": {"team": "x y"},
}


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ('email:"ADA@UNI.EDU.AU"', True),
        ("username:ADA", False),  # only email and names ignore case
        ("name:ada*", True),
        ("name:Ada\\ Lovelace", True),
        ("app_metadata.team:x\\ y", True),
        ('identities.connection:"Username-Password-Authentication"', True),
        ("blocked:true AND NOT username:bob", True),
        ("(username:bob OR username:ada) AND blocked:true", True),
        ("username:bob OR -blocked:true", False),
        ("logins_count:[10 TO 12]", True),
        ("logins_count:{10 TO 12}", False),
        ("updated_at:[2026-03 TO 2026-03]", True),  # partial dates cover their period
        ("updated_at:{2026-03 TO *]", False),
        ("updated_at:[* TO 2026-03-01T10:00:00Z}", False),
        ("updated_at:[2026-03-01T20:00:00+10:00 TO *]", True),
        ("_exists_:blocked", True),
        ("_exists_:last_login", False),
        ("lovelace", True),  # free text over the usual fields
        ("ada@uni.edu.au", True),
    ],
)
def test_query_semantics(query, matches):
    assert parse_query(query).match(ADA) is matches


@pytest.mark.parametrize(
    "query", ["(email:x", 'email:"x', "updated_at:[a TO b]", "x:[1 2]", "email:"]
)
def test_unparseable_queries_are_refused(query):
    with pytest.raises(QueryError):
        parse_query(query)


def test_partial_dates_round_to_their_period():
    assert normalise_date("2017-11", upper=False) == "2017-11-01T00:00:00.000Z"
    assert normalise_date("2017-11", upper=True) == "2017-11-31T23:59:59.999Z"
    assert normalise_date("2017-11-05T10:00:00.5Z", upper=False) == "2017-11-05T10:00:00.500Z"


def _store(n: int) -> TenantStore:
    store = TenantStore()
    store.generate_users(n, seed=1, social_fraction=0.5)
    return store


def test_sorted_listing_without_a_query_uses_the_index():
    store = _store(300)
    total, first = store.search(None, ("created_at", -1), 0, 50)
    everyone = sorted(store.users.values(), key=lambda u: u["created_at"], reverse=True)
    assert total == 300 and first == everyone[:50]
    _, by_name = store.search(None, ("username", 1), 250, 50)
    assert [u.get("username") for u in by_name][-1] is None  # users without one come last


def test_range_pages_follow_updates():
    store = _store(200)
    node = parse_query("updated_at:[2021-01-05 TO *]")
    total, page = store.search(node, ("updated_at", 1), 0, 500)
    expected = sorted(
        (u for u in store.users.values() if u["updated_at"] >= "2021-01-05"),
        key=lambda u: (u["updated_at"], u["user_id"]),
    )
    assert total == len(expected) and page == expected
    moved = store.replace(expected[0]["user_id"], {"name": "changed"})
    total_after, page_after = store.search(node, ("updated_at", -1), 0, 1)
    assert total_after == total and page_after == [moved]
    early = store.replace(moved["user_id"], {"updated_at": "2020-01-01T00:00:00.000Z"})
    assert store.search(node, None, 0, 500)[0] == total - 1
    assert early not in store.search(node, None, 0, 500)[1]
