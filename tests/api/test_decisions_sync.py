"""A decision taken through the API reaches the local Auth0 and survives a following sync."""

from __future__ import annotations

from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import MembershipEvent, PlatformMembership
from tests.api.conftest import SBP_ADMIN, decide
from tests.cli import aai


def test_approval_reaches_auth0_and_survives_aai_sync(api):
    fake = api.fake
    fake.add_role("biocommons/platform/sbp")
    fake.add_user(user_id="auth0|bob", email="bob@example.org", username="bob")
    # bob's row and pending request come from the API, as they would in production
    assert api.get("/me/profile", sub="auth0|bob").status_code == 200
    assert api.post("/me/platforms/sbp/request", sub="auth0|bob").json()["status"] == "pending"

    approved = api.post("/admin/users/auth0|bob/platforms/sbp/approve", roles=[SBP_ADMIN])
    assert approved.json()["status"] == "approved"
    assert fake.user_roles("auth0|bob") == ["biocommons/platform/sbp"]

    result = aai("sync", "--now", "--full")
    assert result.exit_code == 0, result.output

    assert fake.user_roles("auth0|bob") == ["biocommons/platform/sbp"]
    with Session(db.get_engine(api.db_url)) as session:
        membership = session.exec(
            select(PlatformMembership).where(PlatformMembership.user_id == "auth0|bob")
        ).one()
        events = session.exec(
            select(MembershipEvent).where(MembershipEvent.user_id == "auth0|bob")
        ).all()
    assert membership.status == "approved"
    assert [e.actor for e in events] == ["auth0|bob", "auth0|alice"]  # nothing from the sync


def test_revocation_is_not_undone_by_the_sync(api):
    fake = api.fake
    fake.add_role("biocommons/platform/sbp")
    fake.add_user(user_id="auth0|bob", email="bob@example.org", username="bob")
    api.get("/me/profile", sub="auth0|bob")
    decide(api.db_url, "auth0|bob", "platform", "sbp", "request", "approve")
    fake.assign_role("auth0|bob", fake.role_id("biocommons/platform/sbp"))

    revoked = api.post(
        "/admin/users/auth0|bob/platforms/sbp/revoke", roles=[SBP_ADMIN], json={"reason": "left"}
    )
    assert revoked.json()["status"] == "revoked"
    assert fake.user_roles("auth0|bob") == []
    result = aai("sync", "--now", "--full")
    assert result.exit_code == 0, result.output
    assert fake.user_roles("auth0|bob") == []
    with Session(db.get_engine(api.db_url)) as session:
        membership = session.exec(
            select(PlatformMembership).where(PlatformMembership.user_id == "auth0|bob")
        ).one()
    assert membership.status == "revoked"
