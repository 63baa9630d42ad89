"""Blocked (in Auth0, mirrored in users.blocked) and soft-deleted callers keep a valid token
for a while: they may still read their profile, but every access request is 403."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import EmailMessage, PlatformMembership, User, utcnow
from tests.api.conftest import TSI, add_user

REQUESTS = {
    "platform": ("/me/platforms/sbp/request", {"reason": "my lab"}),
    "group": ("/me/groups/request", {"group_id": TSI, "reason": "my lab"}),
}
INACTIVE = {
    "blocked": ({"blocked": True}, "your account is blocked"),
    "deleted": ({"deleted_at": utcnow()}, "your account has been deleted"),
}


def rows(db_url: str, model) -> list:  # type: ignore[no-untyped-def]
    with Session(db.get_engine(db_url)) as session:
        return list(session.exec(select(model)))


@pytest.mark.parametrize("state", sorted(INACTIVE))
@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_inactive_callers_cannot_request_access(api, state: str, kind: str) -> None:
    fields, message = INACTIVE[state]
    add_user(api.db_url, "auth0|alice", **fields)
    path, body = REQUESTS[kind]
    response = api.post(path, json=body)
    assert response.status_code == 403
    assert response.json()["message"].startswith(message)
    assert rows(api.db_url, PlatformMembership) == []
    assert rows(api.db_url, EmailMessage) == []


@pytest.mark.parametrize("state", sorted(INACTIVE))
def test_inactive_callers_may_still_read_their_profile(api, state: str) -> None:
    fields, _ = INACTIVE[state]
    add_user(api.db_url, "auth0|alice", **fields)
    before = api.fake.request_count
    response = api.get("/me/profile")
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.org"
    assert api.fake.request_count - before <= 1  # at most the JWKS: a deleted row is not revived
    [row] = rows(api.db_url, User)
    assert (row.blocked, row.deleted_at is not None) == (state == "blocked", state == "deleted")


def test_a_caller_blocked_in_auth0_is_refused_on_first_sight(api) -> None:
    api.fake.add_user(
        user_id="auth0|newcomer", email="new@example.org", username="newcomer", blocked=True
    )
    response = api.post("/me/platforms/sbp/request", sub="auth0|newcomer")
    assert response.status_code == 403
    assert response.json()["message"].startswith("your account is blocked")
    [row] = rows(api.db_url, User)
    assert (row.id, row.blocked) == ("auth0|newcomer", True)
    assert rows(api.db_url, PlatformMembership) == []


def test_an_active_caller_still_requests(api) -> None:
    add_user(api.db_url, "auth0|alice", blocked=False)
    response = api.post("/me/platforms/sbp/request", json={"reason": "my lab"})
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
