"""Admin routes: scope and permissions, decisions, history, details, statement budget.
(The portal's calls, built as the portal sends them, are in tests/api/portal.)"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, select, update

from aai_cli import db
from aai_cli.models import EmailMessage, MembershipEvent, RoleChange, User, utcnow
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


ADMIN = "auth0|admin"


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def _list(api, roles, **params):  # type: ignore[no-untyped-def]
    return api.get("/admin/users", sub=ADMIN, roles=roles, params=params)


def test_super_admin_sees_everyone_newest_first(people):
    assert _ids(_list(people, [SUPER_ROLE])) == ["auth0|carol", "auth0|bob", "auth0|alice"]


def test_platform_admin_sees_their_users_with_all_memberships(people):
    response = _list(people, [GALAXY_ADMIN])
    assert _ids(response) == ["auth0|alice"]
    [alice] = response.json()
    assert [m["platform_id"] for m in alice["platform_memberships"]] == ["galaxy"]
    # TSI is not a galaxy admin's, but the portal decides per membership what to show
    assert [m["group_id"] for m in alice["group_memberships"]] == [TSI]
    assert _ids(_list(people, [SBP_ADMIN])) == ["auth0|bob"]
    assert _ids(_list(people, [TSI_ADMIN])) == ["auth0|alice"]


def test_filters_paging_sort_and_search(people):
    def get(**params):  # type: ignore[no-untyped-def]
        return _list(people, [SUPER_ROLE], **params)

    assert _ids(get(platform="sbp", platform_approval_status="pending")) == ["auth0|bob"]
    assert _ids(get(platform="galaxy", platform_approval_status="pending")) == []
    assert _ids(get(group=TSI, group_approval_status="pending")) == ["auth0|alice"]
    assert _ids(get(email_verified="false")) == ["auth0|bob"]
    assert _ids(get(search="CAR")) == ["auth0|carol"]
    assert _ids(get(search="%")) == []  # escaped: no wildcard
    assert _ids(get(per_page=2, page=2)) == ["auth0|alice"]
    assert _ids(get(per_page=2, page=3)) == []
    assert _ids(get(sort="id")) == ["auth0|alice", "auth0|bob", "auth0|carol"]


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": "one"},
        {"per_page": 101},
        {"per_page": 0},
        {"platform_approval_status": "maybe"},
        {"approval_status": "Pending"},
        {"email_verified": "perhaps"},
        {"sort": "password"},
        {"filter_by": "nope"},
        {"approval_status": "pending", "group_approval_status": "pending"},
        {"search": "a\x00"},
        {"search": "\x07bell"},
    ],
)
@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/pages", "/admin/users/counts"])
def test_bad_query_parameters_are_400(people, path, params):
    if path.endswith("counts") and set(params) & {"page", "per_page", "sort"}:
        pytest.skip("counts take no paging")
    if path.endswith("pages") and "sort" in params:
        pytest.skip("pages take no sort")
    response = people.get(path, roles=[SUPER_ROLE], params=params)
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert isinstance(response.json()["field_errors"], list)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"platform": "nope"}, "Platform 'nope' not found"),
        ({"group": "biocommons/group/nope"}, "Group 'biocommons/group/nope' not found"),
    ],
)
def test_a_missing_platform_or_group_is_404(people, params, message):
    for path in ("/admin/users", "/admin/users/pages", "/admin/users/counts"):
        response = people.get(path, roles=[GALAXY_ADMIN], params=params)
        assert (response.status_code, response.json()["message"]) == (404, message)


def test_one_user_managed_not_managed_missing_deleted(people):
    response = people.get("/admin/users/auth0|bob", roles=[SBP_ADMIN])
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["blocked"]) == ("auth0|bob", "Bob", False)
    assert [m["approval_status"] for m in body["platform_memberships"]] == ["pending"]
    outside = people.get("/admin/users/auth0|bob", roles=[GALAXY_ADMIN])
    assert outside.status_code == 403
    assert outside.json()["message"] == "You do not have permission to manage this user."
    missing = people.get("/admin/users/auth0|nobody", roles=[GALAXY_ADMIN])
    assert (missing.status_code, missing.json()["message"]) == (
        404,
        "User 'auth0|nobody' not found",
    )
    assert people.get("/admin/users/auth0|bob/history", roles=[GALAXY_ADMIN]).status_code == 403
    with db.session_scope(people.db_url) as session:
        session.exec(update(User).where(User.id == "auth0|bob").values(deleted_at=utcnow()))
    for path in ("", "/history", "/details"):
        assert people.get(f"/admin/users/auth0|bob{path}", roles=[SBP_ADMIN]).status_code == 404


def test_history_is_limited_to_the_scope(people):
    events = people.get("/admin/users/auth0|alice/history", roles=[SUPER_ROLE]).json()
    assert [(e["platform_id"], e["group_id"]) for e in events] == [("galaxy", None), (None, TSI)]
    scoped = people.get("/admin/users/auth0|alice/history", roles=[GALAXY_ADMIN]).json()
    assert [e["platform_id"] for e in scoped] == ["galaxy"]


def _rows(db_url, model, *where):  # type: ignore[no-untyped-def]
    with Session(db.get_engine(db_url)) as session:
        return list(session.exec(select(model).where(*where).order_by(model.id)))


def test_approve_revoke_reapprove_with_events_outbox_and_emails(people):
    people.fake.add_user(user_id="auth0|bob", email="bob@example.org", username="bob")
    people.fake.add_role("biocommons/platform/sbp")
    url = "/admin/users/auth0|bob/platforms/sbp"
    approved = people.post(f"{url}/approve", roles=[SBP_ADMIN], sub=ADMIN)
    assert approved.status_code == 200, approved.text
    assert approved.json()["updated"] is True and approved.json()["status"] == "approved"
    assert people.fake.user_roles("auth0|bob") == ["biocommons/platform/sbp"]
    again = people.post(f"{url}/approve", roles=[SBP_ADMIN], sub=ADMIN)
    assert (again.status_code, again.json()["updated"]) == (200, False)
    revoked = people.post(f"{url}/revoke", roles=[SBP_ADMIN], json={"reason": "left the lab"})
    assert revoked.json()["status"] == "revoked"
    assert people.fake.user_roles("auth0|bob") == []
    illegal = people.post(f"{url}/unreject", roles=[SBP_ADMIN], json={})
    assert illegal.status_code == 409
    back = people.post(f"{url}/approve", roles=[SBP_ADMIN], sub=ADMIN, json={})
    assert (back.json()["from_status"], back.json()["status"]) == ("revoked", "approved")
    assert people.fake.user_roles("auth0|bob") == ["biocommons/platform/sbp"]
    events = _rows(people.db_url, MembershipEvent, MembershipEvent.user_id == "auth0|bob")
    assert [(e.to_status, e.actor, e.reason) for e in events][-3:] == [
        ("approved", ADMIN, None),
        ("revoked", "auth0|alice", "left the lab"),
        ("approved", ADMIN, None),
    ]
    changes = _rows(people.db_url, RoleChange, RoleChange.user_id == "auth0|bob")
    assert [(c.action, c.status) for c in changes] == [
        ("assign", "done"),
        ("remove", "done"),
        ("assign", "done"),
    ]
    kinds = [
        e.kind
        for e in _rows(people.db_url, EmailMessage, EmailMessage.to_address == "bob@example.org")
    ]
    assert kinds == ["access_approved", "access_revoked", "access_approved"]


def test_revoke_without_a_reason_and_unrevoke_as_a_synonym(people):
    decide(people.db_url, "auth0|bob", "platform", "sbp", "approve")
    url = "/admin/users/auth0|bob/platforms/sbp"
    revoked = people.post(f"{url}/revoke", roles=[SBP_ADMIN], json={})
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    unrevoked = people.post(f"{url}/unrevoke", roles=[SBP_ADMIN])
    assert (unrevoked.status_code, unrevoked.json()["status"]) == (200, "approved")


def test_decision_permissions_and_missing_things(people):
    def post(path, roles, **kw):  # type: ignore[no-untyped-def]
        response = people.post(f"/admin/users/{path}", roles=roles, sub=ADMIN, **kw)
        return response.status_code, response.json()["message"]

    cases = (
        ("auth0|bob/platforms/sbp/approve", GALAXY_ADMIN,
         403, "You do not have permission to manage this platform."),
        ("auth0|bob/platforms/galaxy/approve", GALAXY_ADMIN,
         404, "Platform membership for user auth0|bob on platform galaxy not found"),
        ("auth0|bob/platforms/nope/approve", SUPER_ROLE,
         404, "Platform 'nope' not found"),
        (f"auth0|alice/groups/{TSI}/approve", GALAXY_ADMIN,
         403, "You do not have permission to manage this group."),
        ("auth0|alice/groups/biocommons/group/nope/approve", SUPER_ROLE,
         404, "Group biocommons/group/nope not found in database"),
        (f"auth0|carol/groups/{TSI}/approve", TSI_ADMIN,
         404, f"Group membership for user auth0|carol on group {TSI} not found"),
        (f"auth0|nobody/groups/{TSI}/approve", TSI_ADMIN,
         404, "User 'auth0|nobody' not found"),
    )  # fmt: skip
    for path, role, status, message in cases:
        assert post(path, [role]) == (status, message), path
    assert post("auth0|bob/platforms/sbp/approve", [])[0] == 403  # not an admin
    events = _rows(people.db_url, MembershipEvent, MembershipEvent.user_id == "auth0|bob")
    assert len(events) == 1  # nothing changed


@pytest.mark.parametrize("roles", [[SBP_ADMIN], [SUPER_ROLE]], ids=["sbp-admin", "super-admin"])
def test_an_admin_never_decides_their_own_access(people, roles):
    response = people.post(
        "/admin/users/auth0|bob/platforms/sbp/approve", sub="auth0|bob", roles=roles
    )
    assert response.status_code == 403
    assert "your own access" in response.json()["message"]
    assert _rows(people.db_url, RoleChange) == []


def test_no_access_is_granted_to_a_soft_deleted_user(people):
    with db.session_scope(people.db_url) as session:
        session.exec(update(User).where(User.id == "auth0|bob").values(deleted_at=utcnow()))
    response = people.post("/admin/users/auth0|bob/platforms/sbp/approve", roles=[SBP_ADMIN])
    assert (response.status_code, response.json()["message"]) == (
        404,
        "User 'auth0|bob' not found",
    )
    assert _rows(people.db_url, RoleChange) == []


@pytest.mark.parametrize("encoded", [False, True], ids=["literal", "percent-encoded"])
def test_group_decision_with_slashes_in_the_id(people, encoded):
    user = "auth0%7Calice" if encoded else "auth0|alice"
    group = TSI.replace("/", "%2F") if encoded else TSI
    url = f"/admin/users/{user}/groups/{group}"
    response = people.post(
        f"{url}/reject", roles=[TSI_ADMIN], sub=ADMIN, json={"reason": "not eligible"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["group_id"], response.json()["status"]) == (TSI, "rejected")
    unreject = people.post(f"{url}/unreject", roles=[TSI_ADMIN], sub=ADMIN, json={})
    assert unreject.json()["status"] == "pending"
    wrong = people.post(f"{url}/undo", roles=[TSI_ADMIN], sub=ADMIN)
    assert wrong.status_code == 400
    too_long = people.post(
        f"{url}/reject", roles=[TSI_ADMIN], sub=ADMIN, json={"reason": "x" * 256}
    )
    assert too_long.status_code == 400 and "too long" in too_long.json()["message"]
    blank = people.post(f"{url}/reject", roles=[TSI_ADMIN], sub=ADMIN, json={"reason": "  "})
    assert blank.status_code == 400 and "reason is required" in blank.json()["message"]
    unknown_field = people.post(f"{url}/reject", roles=[TSI_ADMIN], sub=ADMIN, json={"why": "x"})
    assert unknown_field.status_code == 400


def test_counts_by_target_follow_the_scope(people):
    counts = people.get("/admin/users/counts/by-target", roles=[GALAXY_ADMIN]).json()
    assert counts["platforms"] == {
        "galaxy": {"pending": 0, "approved": 1, "rejected": 0, "revoked": 0}
    }
    assert counts["groups"] == {}


def test_details_of_a_user_missing_from_auth0_is_404(people):
    response = people.get("/admin/users/auth0|alice/details", roles=[SUPER_ROLE])
    assert (response.status_code, response.json()["message"]) == (
        404,
        "User 'auth0|alice' does not exist in Auth0",
    )


def test_verification_email_on_both_paths(people):
    people.fake.add_user(user_id="auth0|bob", email="bob@example.org", username="bob")
    for path in ("verification-email/resend", "verification-email"):
        response = people.post(f"/admin/users/auth0|bob/{path}", roles=[SBP_ADMIN], json={})
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "Verification email resent."
    assert people.fake.verification_emails == ["auth0|bob", "auth0|bob"]
    outside = people.post("/admin/users/auth0|bob/verification-email/resend", roles=[GALAXY_ADMIN])
    assert outside.status_code == 403
    gone = people.post("/admin/users/auth0|carol/verification-email/resend", roles=[SUPER_ROLE])
    assert gone.status_code == 404  # in the database, gone from Auth0


PARAMS = [
    {},
    {"platform": "galaxy", "platform_approval_status": "approved"},
    {"group": TSI, "group_approval_status": "pending", "search": "ali", "sort": "-email"},
    {"email_verified": "true", "page": 2, "per_page": 1},
    {"platform": "galaxy", "group": TSI, "email_verified": "false", "per_page": 1},
    {"platform_approval_status": "pending", "group_approval_status": "approved"},
    {"filter_by": "tsi", "approval_status": "pending", "search": "a"},
    {"filter_by": "galaxy", "approval_status": "revoked", "email_verified": "false"},
]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize(
    "roles", [[SUPER_ROLE], [GALAXY_ADMIN, TSI_ADMIN]], ids=["super", "scoped"]
)
@pytest.mark.parametrize(
    ("path", "budget"),
    [("/admin/users", 4), ("/admin/users/pages", 3), ("/admin/users/counts", 3)],
)
def test_list_pages_and_counts_stay_within_their_statement_budgets(
    people, params, roles, path, budget
):
    """The caller's admin roles (scoped only), the catalog slots, then for a page: the
    users and all their memberships; for pages and counts: one count."""
    if path.endswith("counts"):
        params = {k: v for k, v in params.items() if k not in ("page", "per_page", "sort")}
    elif path.endswith("pages"):
        params = {k: v for k, v in params.items() if k != "sort"}
    statements: list[str] = []
    engine = db.get_engine(people.db_url)

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")):
            statements.append(statement)

    token = people.token(ADMIN, roles)
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = people.client.get(
            path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    assert 1 <= len(statements) <= budget, statements
