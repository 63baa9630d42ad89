"""The caller's routes: profile, memberships, admin reach, requests (and what they queue)."""

from __future__ import annotations

from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import (
    EmailMessage,
    Group,
    GroupMembership,
    MembershipEvent,
    RoleChange,
    User,
    utcnow,
)
from tests.api.conftest import GALAXY_ADMIN, SBP_ADMIN, SUPER_ROLE, TSI, TSI_ADMIN, add_user, decide


def _rows(db_url: str, model, *where):  # type: ignore[no-untyped-def]
    with Session(db.get_engine(db_url)) as session:
        return list(session.exec(select(model).where(*where)))


def test_profile_from_the_database(api):
    add_user(api.db_url, "auth0|alice", picture="https://pics/alice.png")
    decide(api.db_url, "auth0|alice", "platform", "galaxy", "request")
    decide(api.db_url, "auth0|alice", "group", TSI, "request")
    before = api.fake.request_count
    body = api.get("/me/profile").json()
    assert body["user_id"] == "auth0|alice"
    assert body["email"] == "alice@example.org"
    assert body["username"] == "alice"
    assert body["picture"] == "https://pics/alice.png"
    assert [
        (p["platform_id"], p["platform_name"], p["approval_status"])
        for p in body["platform_memberships"]
    ] == [("galaxy", "Galaxy Australia", "approved")]
    assert [
        (g["group_id"], g["group_short_name"], g["approval_status"])
        for g in body["group_memberships"]
    ] == [(TSI, "TSI", "pending")]
    assert api.fake.request_count - before <= 1  # at most the JWKS; never the user


def test_first_sight_creates_the_row_from_auth0(api):
    api.fake.add_user(
        user_id="auth0|newcomer",
        email="new@example.org",
        username="newcomer",
        name="New Comer",
        email_verified=True,
        connection="Username-Password-Authentication",
    )
    body = api.get("/me/profile", sub="auth0|newcomer").json()
    assert (body["email"], body["username"], body["platform_memberships"]) == (
        "new@example.org",
        "newcomer",
        [],
    )
    [row] = _rows(api.db_url, User, User.id == "auth0|newcomer")
    assert row.email_verified is True and row.synced_at is not None
    calls = len(api.fake.requests_to("/api/v2/users/"))
    api.get("/me/profile", sub="auth0|newcomer")
    assert len(api.fake.requests_to("/api/v2/users/")) == calls  # the row answers now


def test_first_sight_clashing_with_a_stale_row_is_409_not_500(api):
    add_user(api.db_url, "auth0|old", username="newcomer", email="old@example.org")
    api.fake.add_user(user_id="auth0|newcomer", email="new@example.org", username="newcomer")
    response = api.get("/me/profile", sub="auth0|newcomer")
    assert response.status_code == 409
    assert _rows(api.db_url, User, User.id == "auth0|newcomer") == []


def test_profile_of_someone_unknown_to_auth0_is_404(api):
    response = api.get("/me/profile", sub="auth0|ghost")
    assert response.status_code == 404
    assert _rows(api.db_url, User, User.id == "auth0|ghost") == []


def test_membership_lists_filter_by_status(api):
    add_user(api.db_url, "auth0|alice")
    decide(api.db_url, "auth0|alice", "platform", "galaxy", "request")  # auto-approved
    decide(api.db_url, "auth0|alice", "platform", "sbp", "request")  # pending
    decide(api.db_url, "auth0|alice", "group", TSI, "request")
    ids = lambda path, key: [m[key] for m in api.get(path).json()]  # noqa: E731
    assert ids("/me/platforms", "platform_id") == ["galaxy", "sbp"]
    assert ids("/me/platforms/approved", "platform_id") == ["galaxy"]
    assert ids("/me/platforms/pending", "platform_id") == ["sbp"]
    assert ids("/me/groups", "group_id") == [TSI]
    assert ids("/me/groups/pending", "group_id") == [TSI]
    assert ids("/me/groups/approved", "group_id") == []
    pending = api.get("/me/all/pending").json()
    assert [p["platform_id"] for p in pending["platforms"]] == ["sbp"]
    assert [g["group_id"] for g in pending["groups"]] == [TSI]


def test_lists_do_not_leak_other_users(api):
    add_user(api.db_url, "auth0|alice")
    add_user(api.db_url, "auth0|bob")
    decide(api.db_url, "auth0|bob", "platform", "sbp", "request")
    assert api.get("/me/platforms").json() == []
    assert len(api.get("/me/platforms", sub="auth0|bob").json()) == 1


def test_is_general_admin_for_each_kind_of_admin(api):
    assert api.get("/me/is-general-admin").json() is False
    assert api.get("/me/is-general-admin", roles=["biocommons/platform/galaxy"]).json() is False
    for role in (SUPER_ROLE, GALAXY_ADMIN, TSI_ADMIN):
        assert api.get("/me/is-general-admin", roles=[role]).json() is True, role


def test_admin_roles_list_what_the_caller_administers(api):
    get = lambda path, roles: [x["id"] for x in api.get(path, roles=roles).json()]  # noqa: E731
    assert get("/me/platforms/admin-roles", [GALAXY_ADMIN, SBP_ADMIN]) == ["galaxy", "sbp"]
    assert get("/me/platforms/admin-roles", [TSI_ADMIN]) == []
    assert get("/me/groups/admin-roles", [TSI_ADMIN]) == [TSI]
    assert get("/me/groups/admin-roles", []) == []
    assert get("/me/platforms/admin-roles", [SUPER_ROLE]) == ["bpa_data_portal", "galaxy", "sbp"]
    assert len(get("/me/groups/admin-roles", [SUPER_ROLE])) == 2


def test_request_a_platform_pending_then_duplicate_is_409(api):
    add_user(api.db_url, "auth0|alice")
    response = api.post("/me/platforms/sbp/request", json={"reason": "structural work"})
    assert response.status_code == 200, response.text
    assert response.json() | {} == {
        "updated": True,
        "user_id": "auth0|alice",
        "platform_id": "sbp",
        "action": "request",
        "from_status": None,
        "status": "pending",
    }
    [event] = _rows(api.db_url, MembershipEvent, MembershipEvent.user_id == "auth0|alice")
    assert (event.actor, event.reason) == ("auth0|alice", "structural work")
    [email] = _rows(api.db_url, EmailMessage)
    assert email.to_address == f"role:{SBP_ADMIN}" and email.kind == "access_requested"
    assert _rows(api.db_url, RoleChange) == []  # pending grants nothing
    again = api.post("/me/platforms/sbp/request")
    assert again.status_code == 409
    assert "already pending" in again.json()["message"]


def test_request_an_auto_approved_platform_pushes_the_role_to_auth0(api):
    add_user(api.db_url, "auth0|alice")
    api.fake.add_user(user_id="auth0|alice", email="alice@example.org", username="alice")
    api.fake.add_role("biocommons/platform/galaxy")
    response = api.post("/me/platforms/galaxy/request")
    assert response.json()["status"] == "approved"
    # The background task ran after commit: the role reached the local Auth0.
    assert api.fake.user_roles("auth0|alice") == ["biocommons/platform/galaxy"]
    [change] = _rows(api.db_url, RoleChange)
    assert (change.action, change.status) == ("assign", "done")


def test_push_failure_leaves_the_change_pending_for_the_scheduler(api):
    add_user(api.db_url, "auth0|alice")
    api.fake.add_user(user_id="auth0|alice", email="alice@example.org", username="alice")
    api.fake.add_role("biocommons/platform/galaxy")
    from aai_cli.services.auth0 import get_gateway
    from aai_cli.services.auth0.transport import RetryPolicy

    get_gateway().policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01)
    api.fake.fail_next(50, status=503)
    response = api.post("/me/platforms/galaxy/request")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    [change] = _rows(api.db_url, RoleChange)
    assert change.status == "pending" and change.attempts >= 1 and change.last_error


def test_rerequest_after_rejection_is_a_transition(api):
    add_user(api.db_url, "auth0|alice")
    decide(api.db_url, "auth0|alice", "platform", "sbp", "request", "reject")
    response = api.post("/me/platforms/sbp/request", json={"reason": "please reconsider"})
    assert response.status_code == 200
    assert (response.json()["from_status"], response.json()["status"]) == ("rejected", "pending")


def test_request_a_group(api):
    add_user(api.db_url, "auth0|alice")
    response = api.post("/me/groups/request", json={"group_id": TSI, "reason": "<b>TSI</b>"})
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert (result["group_id"], result["status"]) == (TSI, "pending")
    admins, requester = sorted(_rows(api.db_url, EmailMessage), key=lambda m: m.id)
    assert admins.to_address == f"role:{TSI_ADMIN}"
    assert "&lt;b&gt;TSI&lt;/b&gt;" in admins.body_html and "<b>TSI</b>" not in admins.body_html
    assert (requester.to_address, requester.kind) == ("alice@example.org", "request_received")
    assert "&lt;b&gt;TSI&lt;/b&gt;" in requester.body_html


def test_request_validation(api):
    add_user(api.db_url, "auth0|alice")
    unknown = api.post("/me/platforms/nope/request")
    assert unknown.status_code == 404
    missing = api.post("/me/groups/request", json={})
    assert missing.status_code == 400
    [error] = missing.json()["field_errors"]
    assert error["field"] == "body"
    assert "send either groups (a list) or one group_id" in error["message"]
    too_long = api.post("/me/groups/request", json={"group_id": TSI, "reason": "x" * 256})
    assert too_long.status_code == 400
    assert too_long.json()["field_errors"][0]["field"] == "reason"
    unknown_group = api.post("/me/groups/request", json={"group_id": "biocommons/group/nope"})
    assert unknown_group.status_code == 404


def test_a_revoked_platform_cannot_be_requested_again(api):
    add_user(api.db_url, "auth0|alice")
    decide(api.db_url, "auth0|alice", "platform", "sbp", "request", "approve", "revoke")
    response = api.post("/me/platforms/sbp/request", json={"reason": "let me back"})
    assert response.status_code == 409
    assert response.json()["message"] == (
        "Your account has been revoked access to Structural Biology Platform, "
        "please contact support to access."
    )


def test_me_views_leave_out_groups_no_longer_offered(api):
    add_user(api.db_url, "auth0|alice")
    decide(api.db_url, "auth0|alice", "group", TSI, "request")
    with db.session_scope(api.db_url) as session:
        session.add(Group(id="biocommons/group/old", name="Old", short_name="OLD"))
    decide(api.db_url, "auth0|alice", "group", "biocommons/group/old", "approve")
    with db.session_scope(api.db_url) as session:
        session.get(Group, "biocommons/group/old").retired_at = utcnow()
    profile = api.get("/me/profile").json()
    assert [g["group_id"] for g in profile["group_memberships"]] == [TSI]
    assert [g["group_id"] for g in api.get("/me/groups").json()] == [TSI]
    assert [g["group_id"] for g in api.get("/me/groups/approved").json()] == []
    # the membership itself is kept
    [kept] = _rows(api.db_url, GroupMembership, GroupMembership.group_id == "biocommons/group/old")
    assert kept.status == "approved"
