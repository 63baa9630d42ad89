"""Admin routes: scope (outside is 404), decisions, history, details, counts, filters."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import EmailMessage, MembershipEvent, RoleChange
from tests.api.conftest import (
    GALAXY_ADMIN,
    SBP_ADMIN,
    SUPER_ROLE,
    TSI,
    TSI_ADMIN,
    add_user,
    decide,
)


@pytest.fixture
def people(api):
    """alice: galaxy approved + TSI pending; bob: sbp pending; carol: nothing."""
    add_user(api.db_url, "auth0|alice")
    add_user(api.db_url, "auth0|bob", email_verified=False)
    add_user(api.db_url, "auth0|carol")
    decide(api.db_url, "auth0|alice", "platform", "galaxy", "request")
    decide(api.db_url, "auth0|alice", "group", TSI, "request")
    decide(api.db_url, "auth0|bob", "platform", "sbp", "request")
    return api


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_super_admin_sees_everyone(people):
    body = people.get("/admin/users", roles=[SUPER_ROLE]).json()
    assert [i["id"] for i in body["items"]] == ["auth0|alice", "auth0|bob", "auth0|carol"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 3)


def test_platform_admin_sees_only_their_platform_and_its_memberships(people):
    response = people.get("/admin/users", roles=[GALAXY_ADMIN])
    assert _ids(response) == ["auth0|alice"]
    [alice] = response.json()["items"]
    assert [m["platform_id"] for m in alice["platform_memberships"]] == ["galaxy"]
    assert alice["group_memberships"] == []  # TSI is outside a galaxy admin's scope
    assert _ids(people.get("/admin/users", roles=[SBP_ADMIN])) == ["auth0|bob"]
    assert _ids(people.get("/admin/users", roles=[TSI_ADMIN])) == ["auth0|alice"]


def test_filters_paging_and_search(people):
    get = lambda **params: people.get("/admin/users", roles=[SUPER_ROLE], params=params)  # noqa: E731
    assert _ids(get(platform="sbp", platform_approval_status="pending")) == ["auth0|bob"]
    assert _ids(get(platform="galaxy", platform_approval_status="pending")) == []
    assert _ids(get(group=TSI, group_approval_status="pending")) == ["auth0|alice"]
    assert _ids(get(email_verified="false")) == ["auth0|bob"]
    assert _ids(get(search="CAR")) == ["auth0|carol"]
    assert _ids(get(search="%")) == []  # escaped: no wildcard
    assert _ids(get(per_page=2, page=2)) == ["auth0|carol"]
    assert _ids(get(sort="-id")) == ["auth0|carol", "auth0|bob", "auth0|alice"]
    assert get(per_page=2, page=2).json()["total"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"per_page": 101},
        {"per_page": 0},
        {"platform_approval_status": "maybe"},
        {"email_verified": "perhaps"},
        {"sort": "password"},
    ],
)
def test_bad_query_parameters_are_400(people, params):
    response = people.get("/admin/users", roles=[SUPER_ROLE], params=params)
    assert response.status_code == 400
    assert response.json()["message"]
    assert isinstance(response.json()["field_errors"], list)


def test_one_user_in_and_out_of_scope(people):
    assert people.get("/admin/users/auth0|bob", roles=[SBP_ADMIN]).json()["id"] == "auth0|bob"
    outside = people.get("/admin/users/auth0|bob", roles=[GALAXY_ADMIN])
    missing = people.get("/admin/users/auth0|nobody", roles=[GALAXY_ADMIN])
    assert outside.status_code == missing.status_code == 404  # existence not revealed
    assert people.get("/admin/users/auth0|bob/history", roles=[GALAXY_ADMIN]).status_code == 404


def test_history_is_limited_to_the_scope(people):
    events = people.get("/admin/users/auth0|alice/history", roles=[SUPER_ROLE]).json()
    assert [(e["platform_id"], e["group_id"]) for e in events] == [("galaxy", None), (None, TSI)]
    scoped = people.get("/admin/users/auth0|alice/history", roles=[GALAXY_ADMIN]).json()
    assert [e["platform_id"] for e in scoped] == ["galaxy"]


def _rows(db_url, model, *where):  # type: ignore[no-untyped-def]
    with Session(db.get_engine(db_url)) as session:
        return list(session.exec(select(model).where(*where)))


def test_approve_reject_revoke_with_events_outbox_and_emails(people):
    people.fake.add_user(user_id="auth0|bob", email="bob@example.org", username="bob")
    people.fake.add_role("biocommons/platform/sbp")
    url = "/admin/users/auth0|bob/platforms/sbp"
    approved = people.post(f"{url}/approve", roles=[SBP_ADMIN], sub="auth0|admin")
    assert approved.status_code == 200, approved.text
    assert approved.json()["updated"] is True and approved.json()["status"] == "approved"
    assert people.fake.user_roles("auth0|bob") == ["biocommons/platform/sbp"]
    again = people.post(f"{url}/approve", roles=[SBP_ADMIN], sub="auth0|admin")
    assert (again.status_code, again.json()["updated"]) == (200, False)
    no_reason = people.post(f"{url}/revoke", roles=[SBP_ADMIN])
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["message"]
    revoked = people.post(f"{url}/revoke", roles=[SBP_ADMIN], json={"reason": "left the lab"})
    assert revoked.json()["status"] == "revoked"
    assert people.fake.user_roles("auth0|bob") == []
    illegal = people.post(f"{url}/reject", roles=[SBP_ADMIN], json={"reason": "x"})
    assert illegal.status_code == 409
    events = _rows(people.db_url, MembershipEvent, MembershipEvent.user_id == "auth0|bob")
    assert [(e.to_status, e.actor) for e in events][-2:] == [
        ("approved", "auth0|admin"),
        ("revoked", "auth0|alice"),
    ]
    changes = _rows(people.db_url, RoleChange, RoleChange.user_id == "auth0|bob")
    assert [(c.action, c.status) for c in changes] == [("assign", "done"), ("remove", "done")]
    kinds = [
        e.kind
        for e in _rows(people.db_url, EmailMessage, EmailMessage.to_address == "bob@example.org")
    ]
    assert kinds == ["access_approved", "access_revoked"]


def test_decisions_outside_scope(people):
    # A galaxy admin may not decide for SBP, nor see bob (no galaxy membership).
    sbp = people.post("/admin/users/auth0|bob/platforms/sbp/approve", roles=[GALAXY_ADMIN])
    assert sbp.status_code == 403
    galaxy = people.post("/admin/users/auth0|bob/platforms/galaxy/approve", roles=[GALAXY_ADMIN])
    assert galaxy.status_code == 404
    plain = people.post("/admin/users/auth0|bob/platforms/sbp/approve", roles=[])
    assert plain.status_code == 403
    status = _rows(people.db_url, MembershipEvent, MembershipEvent.user_id == "auth0|bob")
    assert len(status) == 1  # nothing changed


def test_group_decision_with_slashes_in_the_id(people):
    url = f"/admin/users/auth0|alice/groups/{TSI}"
    response = people.post(f"{url}/reject", roles=[TSI_ADMIN], json={"reason": "not eligible"})
    assert response.status_code == 200, response.text
    assert (response.json()["group_id"], response.json()["status"]) == (TSI, "rejected")
    unreject = people.post(f"{url}/unreject", roles=[TSI_ADMIN])
    assert unreject.json()["status"] == "pending"
    wrong = people.post(f"{url}/unrevoke", roles=[TSI_ADMIN])
    assert wrong.status_code == 400  # unrevoke is not a group action here
    too_long = people.post(f"{url}/reject", roles=[TSI_ADMIN], json={"reason": "x" * 1025})
    assert too_long.status_code == 400
    assert too_long.json()["field_errors"][0]["field"] == "reason"


def test_counts_and_filters_follow_the_scope(people):
    counts = people.get("/admin/users/counts", roles=[GALAXY_ADMIN]).json()
    assert counts["platforms"] == {
        "galaxy": {"pending": 0, "approved": 1, "rejected": 0, "revoked": 0}
    }
    assert counts["groups"] == {}
    filters = people.get("/admin/filters", roles=[TSI_ADMIN]).json()
    assert filters["platforms"] == [] and [g["id"] for g in filters["groups"]] == [TSI]
    assert "pending" in filters["statuses"] and "-created_at" in filters["sort"]


def test_details_add_auth0_fields(people):
    people.fake.add_user(
        user_id="auth0|alice",
        email="alice@example.org",
        username="alice",
        logins_count=7,
        last_login="2026-01-02T03:04:05.000Z",
    )
    body = people.get("/admin/users/auth0|alice/details", roles=[SUPER_ROLE]).json()
    assert body["id"] == "auth0|alice"
    assert body["auth0"]["logins_count"] == 7
    assert body["auth0"]["last_login"].startswith("2026-01-02T03:04:05")


def test_verification_email(people):
    people.fake.add_user(user_id="auth0|bob", email="bob@example.org", username="bob")
    response = people.post("/admin/users/auth0|bob/verification-email", roles=[SBP_ADMIN])
    assert response.status_code == 200, response.text
    assert people.fake.verification_emails == ["auth0|bob"]
    outside = people.post("/admin/users/auth0|bob/verification-email", roles=[GALAXY_ADMIN])
    assert outside.status_code == 404
    not_in_auth0 = people.post("/admin/users/auth0|carol/verification-email", roles=[SUPER_ROLE])
    assert not_in_auth0.status_code == 404  # in the database, gone from Auth0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"platform": "galaxy", "platform_approval_status": "approved"},
        {"group": TSI, "group_approval_status": "pending", "search": "ali", "sort": "-email"},
        {"email_verified": "true", "page": 2, "per_page": 1},
        {"platform": "galaxy", "group": TSI, "email_verified": "false", "per_page": 1},
        {"platform_approval_status": "pending", "group_approval_status": "approved"},
    ],
)
@pytest.mark.parametrize(
    "roles", [[SUPER_ROLE], [GALAXY_ADMIN, TSI_ADMIN]], ids=["super", "scoped"]
)
def test_list_users_issues_at_most_four_statements(people, params, roles):
    statements: list[str] = []
    engine = db.get_engine(people.db_url)

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")):
            statements.append(statement)

    token = people.token("auth0|admin", roles)
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = people.client.get(
            "/admin/users", params=params, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert 1 <= len(statements) <= 4, statements


def test_nul_bytes_are_a_client_error_never_500(people):
    user = people.get("/admin/users/auth0%00alice", roles=[SUPER_ROLE])
    assert user.status_code in (400, 404)
    search = people.get("/admin/users", roles=[SUPER_ROLE], params={"search": "a\x00"})
    assert search.status_code in (200, 400)
