"""The portal's self-service calls, built as the portal builds them: a bearer token and
`Content-Type: application/json` on every call, bodies exactly as it sends them.

Each test asserts every field the portal reads and the semantics it relies on.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import (
    EmailMessage,
    Group,
    GroupMembership,
    MembershipEvent,
    Platform,
    PlatformAdminRole,
    utcnow,
)
from tests.api.conftest import GALAXY_ADMIN, SBP_ADMIN, SUPER_ROLE, TSI, TSI_ADMIN, add_user, decide

SBP_BUNDLE = "biocommons/group/sbp_workflow_execution"
SBP_BUNDLE_ADMIN = "biocommons/role/sbp_workflow_execution/admin"
JANE = "auth0|jane"
REVOKED_DETAIL = "Your account has been revoked access to {}, please contact support to access."


def portal_get(api, path: str, *, sub: str = JANE, roles: list[str] | None = None, **claims: Any):  # type: ignore[no-untyped-def]
    token = api.fake.mint_token(sub, roles=roles or [], extra_claims=claims or None)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return api.client.get(path, headers=headers)


def portal_post(api, path: str, body: Any, *, sub: str = JANE):  # type: ignore[no-untyped-def]
    token = api.fake.mint_token(sub, roles=[])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return api.client.post(path, content=json.dumps(body), headers=headers)


def shown_error(response) -> str:  # type: ignore[no-untyped-def]
    """The text the portal shows for a failed call: the error body's string `detail`."""
    body = response.json()
    assert isinstance(body.get("detail"), str), body
    return body["detail"]


def add_jane(api, **fields: Any) -> None:  # type: ignore[no-untyped-def]
    add_user(
        api.db_url,
        JANE,
        email="jane@uni.edu.au",
        username="jane",
        name="Jane Doe",
        given_name="Jane",
        family_name="Doe",
        **fields,
    )


def rows(api, model, *where):  # type: ignore[no-untyped-def]
    with Session(db.get_engine(api.db_url)) as session:
        return list(session.exec(select(model).where(*where).order_by(model.id)))


def is_aware_iso(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() is not None


@pytest.fixture
def institutions(institution_env):  # type: ignore[no-untyped-def]
    """The local institution-validation service: uni.edu.au addresses are institutional."""
    return institution_env


# --- C1-C3: role discovery --------------------------------------------------------------


def test_c1_is_general_admin_is_a_bare_boolean(api):
    # no database row needed, and a non-admin gets 200 false, not 403
    plain = portal_get(api, "/me/is-general-admin", roles=["biocommons/platform/galaxy"])
    assert (plain.status_code, plain.text) == (200, "false")
    for role in (SUPER_ROLE, GALAXY_ADMIN, TSI_ADMIN, SBP_BUNDLE_ADMIN):
        admin = portal_get(api, "/me/is-general-admin", roles=[role])
        assert (admin.status_code, admin.text) == (200, "true"), role


def test_c2_platform_admin_roles_each_platform_once(api):
    with db.session_scope(api.db_url) as session:  # a second admin role for Galaxy
        session.add(
            PlatformAdminRole(platform_id="galaxy", role_name="biocommons/role/galaxy/owner")
        )
    both = portal_get(
        api, "/me/platforms/admin-roles", roles=[GALAXY_ADMIN, "biocommons/role/galaxy/owner"]
    )
    assert both.status_code == 200
    assert both.json() == [{"id": "galaxy", "name": "Galaxy Australia"}]
    assert portal_get(api, "/me/platforms/admin-roles", roles=[TSI_ADMIN]).json() == []
    everything = portal_get(api, "/me/platforms/admin-roles", roles=[SUPER_ROLE]).json()
    assert sorted((p["id"], p["name"]) for p in everything) == [
        ("bpa_data_portal", "Bioplatforms Australia Data Portal"),
        ("galaxy", "Galaxy Australia"),
        ("sbp", "Structural Biology Platform"),
    ]


def test_c3_group_admin_roles_full_ids_each_group_once(api):
    sbp_bundle = {
        "id": SBP_BUNDLE,
        "name": "Structural Biology Platform Bundle",
        "short_name": "SBP",
    }
    tsi = {"id": TSI, "name": "Threatened Species Initiative", "short_name": "TSI"}
    # the SBP platform admin also administers the SBP bundle (the portal's pairing)
    assert portal_get(api, "/me/groups/admin-roles", roles=[SBP_ADMIN]).json() == [sbp_bundle]
    assert portal_get(api, "/me/platforms/admin-roles", roles=[SBP_ADMIN]).json() == [
        {"id": "sbp", "name": "Structural Biology Platform"}
    ]
    # both of the bundle's admin roles in one token: still once
    both = portal_get(api, "/me/groups/admin-roles", roles=[SBP_ADMIN, SBP_BUNDLE_ADMIN])
    assert both.json() == [sbp_bundle]
    assert portal_get(api, "/me/groups/admin-roles", roles=[SBP_BUNDLE_ADMIN]).json() == [
        sbp_bundle
    ]
    assert portal_get(api, "/me/platforms/admin-roles", roles=[SBP_BUNDLE_ADMIN]).json() == []
    assert portal_get(api, "/me/groups/admin-roles", roles=[TSI_ADMIN]).json() == [tsi]
    assert portal_get(api, "/me/groups/admin-roles", roles=[SUPER_ROLE]).json() == [sbp_bundle, tsi]


# --- C4: the profile ----------------------------------------------------------------------


def test_c4_profile_fields_and_memberships_without_revoked(api):
    add_jane(api, last_login=utcnow(), updated_at=utcnow())
    with db.session_scope(api.db_url) as session:  # a platform the portal cannot draw
        session.add(Platform(id="elsewhere", name="Elsewhere", access_role_name="x/elsewhere"))
    decide(api.db_url, JANE, "platform", "galaxy", "request")  # approved automatically
    decide(api.db_url, JANE, "platform", "bpa_data_portal", "request", "revoke")
    decide(api.db_url, JANE, "platform", "sbp", "request")
    decide(api.db_url, JANE, "platform", "elsewhere", "approve")
    decide(api.db_url, JANE, "group", TSI, "request", "reject")
    decide(api.db_url, JANE, "group", SBP_BUNDLE, "approve", "revoke")

    response = portal_get(api, "/me/profile")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("user_id", "name", "given_name", "family_name")} == {
        "user_id": JANE,
        "name": "Jane Doe",
        "given_name": "Jane",
        "family_name": "Doe",
    }
    assert (body["email"], body["email_verified"], body["username"]) == (
        "jane@uni.edu.au",
        True,
        "jane",
    )
    # no picture mirrored: the default Auth0 gives (Gravatar, else the initials avatar)
    assert body["picture"] == (
        "https://s.gravatar.com/avatar/63a2d5b9163ea8ab5f8c0357401e04ed"
        "?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fjd.png"
    )
    assert body["show_welcome_message"] is None
    assert all(is_aware_iso(body[k]) for k in ("created_at", "updated_at", "last_login"))
    assert [
        (p["platform_id"], p["platform_name"], p["approval_status"])
        for p in body["platform_memberships"]
    ] == [
        ("galaxy", "Galaxy Australia", "approved"),
        ("sbp", "Structural Biology Platform", "pending"),
    ]
    assert [
        (g["group_id"], g["group_name"], g["group_short_name"], g["approval_status"])
        for g in body["group_memberships"]
    ] == [(TSI, "Threatened Species Initiative", "TSI", "rejected")]


def test_c4_profile_welcome_flag_and_a_mirrored_picture(api):
    add_jane(api, picture="https://s.gravatar.com/avatar/abc.png", last_login=None)
    welcome = "https://biocommons.org.au/show_migration_welcome"
    body = portal_get(api, "/me/profile", **{welcome: True}).json()
    assert (body["show_welcome_message"], body["picture"], body["last_login"]) == (
        True,
        "https://s.gravatar.com/avatar/abc.png",
        None,
    )
    assert (
        portal_get(api, "/me/profile", **{welcome: False}).json()["show_welcome_message"] is False
    )
    assert portal_get(api, "/me/profile").json()["platform_memberships"] == []


# --- C5: the caller's bundles -----------------------------------------------------------


def test_c5_groups_in_every_status(api):
    add_jane(api)
    decide(api.db_url, JANE, "group", TSI, "request", "reject")
    decide(api.db_url, JANE, "group", SBP_BUNDLE, "approve", "revoke")
    response = portal_get(api, "/me/groups")
    assert response.status_code == 200
    assert [(g["group_id"], g["approval_status"], g["group_name"]) for g in response.json()] == [
        (SBP_BUNDLE, "revoked", "Structural Biology Platform Bundle"),
        (TSI, "rejected", "Threatened Species Initiative"),
    ]
    assert portal_get(api, "/me/groups", sub="auth0|someone-else").json() == []


# --- C6: asking for bundles ---------------------------------------------------------------


def admin_in_auth0(api, role_name: str, email: str) -> None:  # type: ignore[no-untyped-def]
    role_id = api.fake.add_role(role_name)["id"]
    api.fake.assign_role(api.fake.add_user(email=email)["user_id"], role_id)


def test_c6_portal_body_requests_every_bundle_and_emails_admins_and_requester(
    api, smtp_env, institutions
):
    add_jane(api)
    admin_in_auth0(api, TSI_ADMIN, "tsi-admin@example.org")
    admin_in_auth0(api, SBP_BUNDLE_ADMIN, "sbp-admin@example.org")
    admin_in_auth0(api, SBP_ADMIN, "sbp-platform-admin@example.org")
    body = {
        "groups": [
            {"group_id": TSI, "request_reason": "I study <b>koalas</b>"},
            {"group_id": SBP_BUNDLE, "request_reason": ""},
        ]
    }
    response = portal_post(api, "/me/groups/request", body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["group_id"], r["status"]) for r in results] == [
        (TSI, "pending"),
        (SBP_BUNDLE, "pending"),
    ]
    assert all(isinstance(r["message"], str) and r["message"] for r in results)
    stored = {m.group_id: (m.status, m.request_reason) for m in rows(api, GroupMembership)}
    assert stored == {TSI: ("pending", "I study <b>koalas</b>"), SBP_BUNDLE: ("pending", None)}

    [tsi_request] = smtp_env.to("tsi-admin@example.org")
    assert "Jane" in tsi_request.part("plain") and "I study <b>koalas</b>" in tsi_request.part(
        "plain"
    )
    assert "I study &lt;b&gt;koalas&lt;/b&gt;" in tsi_request.part("html")
    assert len(smtp_env.to("sbp-admin@example.org")) == 1
    assert len(smtp_env.to("sbp-platform-admin@example.org")) == 1
    # (a long subject may be folded right after "Subject:", leaving a leading space)
    received = sorted(m.message["Subject"].strip() for m in smtp_env.to("jane@uni.edu.au"))
    assert received == [
        "Your Structural Biology Platform Bundle Service Bundle request has been received",
        "Your Threatened Species Initiative Service Bundle request has been received",
    ]


def test_c6_rerequest_after_rejection(api):
    add_jane(api)
    decide(api.db_url, JANE, "group", TSI, "request", "reject")  # rejected with a reason
    response = portal_post(
        api, "/me/groups/request", {"groups": [{"group_id": TSI, "request_reason": "again"}]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "pending"
    [membership] = rows(api, GroupMembership)
    assert (membership.status, membership.request_reason, membership.reason) == (
        "pending",
        "again",
        None,
    )
    assert membership.decided_by is None  # shown as "(automatic)"
    last = rows(api, MembershipEvent)[-1]
    assert (last.from_status, last.to_status, last.actor) == ("rejected", "pending", JANE)
    queued = [(m.kind, m.to_address) for m in rows(api, EmailMessage)]
    assert ("access_requested", f"role:{TSI_ADMIN}") in queued
    assert ("request_received", "jane@uni.edu.au") in queued


@pytest.mark.parametrize(
    ("set_up", "status", "detail"),
    [
        (("approve", "revoke"), 409, REVOKED_DETAIL.format("Threatened Species Initiative")),
        (("request",), 409, "Your request for Threatened Species Initiative is already pending."),
        (("approve",), 409, "You already have access to Threatened Species Initiative."),
    ],
)
def test_c6_one_bundle_that_cannot_be_asked_for_fails_the_whole_call(
    api, institutions, set_up, status, detail
):
    add_jane(api)
    decide(api.db_url, JANE, "group", TSI, *set_up)
    before = (len(rows(api, MembershipEvent)), len(rows(api, EmailMessage)))
    body = {
        "groups": [
            {"group_id": SBP_BUNDLE, "request_reason": ""},  # fine on its own
            {"group_id": TSI, "request_reason": "please"},
        ]
    }
    response = portal_post(api, "/me/groups/request", body)
    assert (response.status_code, shown_error(response)) == (status, detail)
    assert [m.group_id for m in rows(api, GroupMembership)] == [TSI]  # nothing written
    assert (len(rows(api, MembershipEvent)), len(rows(api, EmailMessage))) == before


def test_c6_sbp_bundle_needs_an_institutional_email(api, institutions):
    add_user(api.db_url, "auth0|gmail", email="someone@gmail.com")
    add_jane(api)
    body = {
        "groups": [
            {"group_id": TSI, "request_reason": "x"},
            {"group_id": SBP_BUNDLE, "request_reason": ""},
        ]
    }
    refused = portal_post(api, "/me/groups/request", body, sub="auth0|gmail")
    assert (refused.status_code, shown_error(refused)) == (
        400,
        "SBP workflow execution requires an Australian institutional email address.",
    )
    assert rows(api, GroupMembership) == []
    allowed = portal_post(api, "/me/groups/request", body)
    assert allowed.status_code == 200, allowed.text


def test_c6_unknown_or_retired_bundle_is_404_and_writes_nothing(api):
    add_jane(api)
    with db.session_scope(api.db_url) as session:
        session.add(
            Group(id="biocommons/group/old", name="Old", short_name="O", retired_at=utcnow())
        )
    for group_id, detail in (
        ("biocommons/group/nope", "There is no bundle biocommons/group/nope."),
        ("biocommons/group/old", "Old is no longer offered."),
    ):
        body = {
            "groups": [
                {"group_id": TSI, "request_reason": "x"},
                {"group_id": group_id, "request_reason": ""},
            ]
        }
        response = portal_post(api, "/me/groups/request", body)
        assert (response.status_code, shown_error(response)) == (404, detail)
    assert rows(api, GroupMembership) == [] and rows(api, EmailMessage) == []


def test_c6_the_single_group_bodies(api):
    add_jane(api)
    anchor = portal_post(api, "/me/groups/request", {"group_id": TSI, "request_reason": "r1"})
    assert anchor.status_code == 200, anchor.text
    assert [(r["group_id"], r["status"]) for r in anchor.json()["results"]] == [(TSI, "pending")]
    decide(api.db_url, JANE, "group", TSI, "reject")
    legacy = portal_post(api, "/me/groups/request", {"group_id": TSI, "reason": "r2"})
    assert legacy.status_code == 200, legacy.text
    assert [m.request_reason for m in rows(api, GroupMembership)] == ["r2"]


@pytest.mark.parametrize(
    "body",
    [
        {"groups": []},
        {"groups": [{"group_id": TSI, "request_reason": "x" * 256}]},
        {"groups": [{"group_id": "tsi", "request_reason": ""}]},
        {
            "groups": [
                {"group_id": TSI, "request_reason": ""},
                {"group_id": TSI, "request_reason": ""},
            ]
        },
        {"groups": [{"group_id": TSI}], "group_id": TSI},
        {"groups": [{"group_id": TSI, "reason_text": ""}]},
    ],
)
def test_c6_malformed_bodies_are_400_with_a_message(api, body):
    add_jane(api)
    response = portal_post(api, "/me/groups/request", body)
    assert response.status_code == 400
    assert shown_error(response)
    assert rows(api, GroupMembership) == []
